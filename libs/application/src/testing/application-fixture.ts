import { p256 } from '@noble/curves/nist.js';
import {
  ALGORITHMS,
  ALGORITHM_USAGE,
  type Algorithm,
  GCM_IV_LENGTH,
  GCM_TAG_LENGTH,
  invalidArgument,
  KmsError,
  type KeyUsage,
  type ProtectionLevel,
} from '@kms/domain';
import { InMemoryEventStore } from '@kms/event-store';
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  generateKeyPairSync,
  type KeyObject,
  privateEncrypt,
  publicDecrypt,
  randomBytes,
  randomUUID,
  sign,
  timingSafeEqual,
  verify,
} from 'node:crypto';
import { AuditedExecutor, type CallContext } from '../audit/audited-operation';
import { InMemoryAuditLog } from '../audit/in-memory-audit-log';
import { CryptoService } from '../crypto/crypto.service';
import { KeyCatalog } from '../keys/key-catalog';
import { type ChangeContext, type CreateKeyInput, KeyLifecycleService } from '../keys/key-lifecycle.service';
import { ManualClock } from '../ports/audit-log.port';
import type { CreatedVersionMaterial, KeyBackend, SignInput, VersionHandle } from '../ports/key-backend.port';

/*
 * Why a fake backend and not SoftwareKeyBackend: key-backend-software depends on this lib, so a test
 * here importing it closes a project-graph cycle that @nx/enforce-module-boundaries reports on every
 * file of key-backend-software. This fake is checked against the same keyBackendContract.
 */

type Material =
  | { kind: 'secret'; binding: string; key: Buffer }
  | { kind: 'pair'; binding: string; privateKey: KeyObject; publicKey: KeyObject };

const PSS_SALT = 32;
const SHA256_LENGTH = 32;

function bindingOf(h: { keyId: string; version: number; algorithm: Algorithm }): string {
  return `${h.keyId}\0${h.version}\0${h.algorithm}`;
}

function sha256(...parts: Buffer[]): Buffer {
  const hash = createHash('sha256');
  for (const p of parts) hash.update(p);
  return hash.digest();
}

function mgf1(seed: Buffer, length: number): Buffer {
  const blocks: Buffer[] = [];
  for (let counter = 0; blocks.length * SHA256_LENGTH < length; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    blocks.push(sha256(seed, c));
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/** RFC 8017 EMSA-PSS (SHA-256, MGF1-SHA256, 32-byte salt) over a digest, then the raw RSA private operation. */
function signPssDigest(privateKey: KeyObject, digest: Buffer): Buffer {
  const modBits = privateKey.asymmetricKeyDetails?.modulusLength ?? 0;
  const k = Math.ceil(modBits / 8);
  const emLen = Math.ceil((modBits - 1) / 8);
  const salt = randomBytes(PSS_SALT);
  const h = sha256(Buffer.alloc(8), digest, salt);
  const db = Buffer.concat([Buffer.alloc(emLen - PSS_SALT - SHA256_LENGTH - 2), Buffer.of(1), salt]);
  const mask = mgf1(h, db.length);
  for (let i = 0; i < db.length; i++) db[i] ^= mask[i];
  db[0] &= 0xff >> (8 * emLen - (modBits - 1));
  const em = Buffer.concat([Buffer.alloc(k - emLen), db, h, Buffer.of(0xbc)]);
  return privateEncrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, em);
}

function verifyPssDigest(publicKey: KeyObject, digest: Buffer, signature: Buffer): boolean {
  const modBits = publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
  const k = Math.ceil(modBits / 8);
  const emLen = Math.ceil((modBits - 1) / 8);
  if (signature.length !== k) return false;
  let em: Buffer;
  try {
    em = publicDecrypt({ key: publicKey, padding: constants.RSA_NO_PADDING }, signature).subarray(k - emLen);
  } catch {
    return false;
  }
  if (em[em.length - 1] !== 0xbc) return false;
  const db = Buffer.from(em.subarray(0, emLen - SHA256_LENGTH - 1));
  const h = em.subarray(emLen - SHA256_LENGTH - 1, emLen - 1);
  const mask = mgf1(h, db.length);
  for (let i = 0; i < db.length; i++) db[i] ^= mask[i];
  db[0] &= 0xff >> (8 * emLen - (modBits - 1));
  const ps = db.subarray(0, db.length - PSS_SALT - 1);
  if (ps.some((b) => b !== 0) || db[db.length - PSS_SALT - 1] !== 1) return false;
  return sha256(Buffer.alloc(8), digest, db.subarray(db.length - PSS_SALT)).equals(h);
}

function ecPoint(publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: 'jwk' });
  return Buffer.concat([Buffer.of(4), Buffer.from(jwk.x ?? '', 'base64url'), Buffer.from(jwk.y ?? '', 'base64url')]);
}

function generatePair(algorithm: Algorithm): { privateKey: KeyObject; publicKey: KeyObject } {
  switch (algorithm) {
    case 'ECDSA_P256_SHA256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' });
    case 'ED25519':
      return generateKeyPairSync('ed25519');
    case 'RSA_PSS_3072_SHA256':
      return generateKeyPairSync('rsa', { modulusLength: 3072, publicExponent: 0x10001 });
    default:
      throw new Error(`${algorithm} is not a key pair`);
  }
}

const NOT_SUPPORTED: ReadonlySet<Algorithm> = new Set<Algorithm>(['RSA_OAEP_3072_SHA256', 'ML_DSA_65', 'ML_KEM_768']);

function requireUsage(h: VersionHandle, usage: KeyUsage): void {
  if (ALGORITHM_USAGE[h.algorithm] !== usage) {
    throw new KmsError('USAGE_MISMATCH', `key version ${h.version} (${h.algorithm}) is not a ${usage} key`);
  }
}

/**
 * KeyBackend for application unit tests: node:crypto keys held in a Map (one entry per live version, so
 * `size` is the count of material "rows"). Can be told to fail the next createVersion calls.
 */
export class InMemoryKeyBackend implements KeyBackend {
  private readonly material = new Map<string, Material>();
  private createFailures = 0;

  constructor(readonly protectionLevel: ProtectionLevel = 'SOFTWARE') {}

  /** Versions whose material is held. */
  get size(): number {
    return this.material.size;
  }

  /** Whether the material behind a reference still exists. */
  has(materialRef: string): boolean {
    return this.material.has(materialRef);
  }

  /** The next `calls` createVersion calls fail with BACKEND_UNAVAILABLE and create nothing. */
  failNextCreate(calls = 1): void {
    this.createFailures = calls;
  }

  /** The node:crypto algorithms of the first release; RSA-OAEP and the post-quantum ones are left to the real backends. */
  supports(algorithm: Algorithm): boolean {
    return (ALGORITHMS as readonly string[]).includes(algorithm) && !NOT_SUPPORTED.has(algorithm);
  }

  async asymmetricDecrypt(h: VersionHandle): Promise<Buffer> {
    requireUsage(h, 'ASYMMETRIC_DECRYPT');
    throw new KmsError('UNSUPPORTED_ALGORITHM', `algorithm: ${h.algorithm} is not supported by the in-memory backend`, 'algorithm');
  }

  async decapsulate(h: VersionHandle): Promise<Buffer> {
    requireUsage(h, 'KEY_ENCAPSULATION');
    throw new KmsError('UNSUPPORTED_ALGORITHM', `algorithm: ${h.algorithm} is not supported by the in-memory backend`, 'algorithm');
  }

  async createVersion(req: { keyId: string; version: number; algorithm: Algorithm }): Promise<CreatedVersionMaterial> {
    // A real backend does I/O here: let concurrent callers interleave.
    await new Promise((resolve) => setImmediate(resolve));
    if (this.createFailures > 0) {
      this.createFailures--;
      throw new KmsError('BACKEND_UNAVAILABLE', 'key material store unavailable');
    }
    const materialRef = randomUUID();
    const binding = bindingOf(req);
    if (ALGORITHM_USAGE[req.algorithm] !== 'SIGN_VERIFY') {
      this.material.set(materialRef, { kind: 'secret', binding, key: randomBytes(32) });
      return { materialRef };
    }
    const { privateKey, publicKey } = generatePair(req.algorithm);
    this.material.set(materialRef, { kind: 'pair', binding, privateKey, publicKey });
    return { materialRef, publicKeyFingerprint: sha256(publicKey.export({ format: 'der', type: 'spki' })).toString('hex') };
  }

  async encrypt(h: VersionHandle, plaintext: Buffer, aad: Buffer): Promise<Buffer> {
    requireUsage(h, 'ENCRYPT_DECRYPT');
    const iv = randomBytes(GCM_IV_LENGTH);
    const cipher = createCipheriv('aes-256-gcm', this.secret(h), iv).setAAD(aad);
    return Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  }

  async decrypt(h: VersionHandle, body: Buffer, aad: Buffer): Promise<Buffer> {
    requireUsage(h, 'ENCRYPT_DECRYPT');
    const key = this.secret(h);
    const failed = new KmsError('INVALID_CIPHERTEXT', 'ciphertext: authentication failed', 'ciphertext');
    if (body.length < GCM_IV_LENGTH + GCM_TAG_LENGTH) throw failed;
    const decipher = createDecipheriv('aes-256-gcm', key, body.subarray(0, GCM_IV_LENGTH)).setAAD(aad);
    decipher.setAuthTag(body.subarray(body.length - GCM_TAG_LENGTH));
    try {
      return Buffer.concat([decipher.update(body.subarray(GCM_IV_LENGTH, body.length - GCM_TAG_LENGTH)), decipher.final()]);
    } catch {
      throw failed;
    }
  }

  async sign(h: VersionHandle, input: SignInput): Promise<Buffer> {
    requireUsage(h, 'SIGN_VERIFY');
    const { privateKey } = this.pair(h);
    if ('digest' in input) {
      this.checkDigest(h, input.digest);
      if (h.algorithm === 'ECDSA_P256_SHA256') {
        const d = Buffer.from(privateKey.export({ format: 'jwk' }).d ?? '', 'base64url');
        return Buffer.from(p256.sign(input.digest, d, { prehash: false }).toBytes('der'));
      }
      return signPssDigest(privateKey, input.digest);
    }
    switch (h.algorithm) {
      case 'ED25519':
        return sign(null, input.message, privateKey);
      case 'RSA_PSS_3072_SHA256':
        return sign('sha256', input.message, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: PSS_SALT });
      default:
        return sign('sha256', input.message, privateKey);
    }
  }

  async verify(h: VersionHandle, input: SignInput, signature: Buffer): Promise<boolean> {
    requireUsage(h, 'SIGN_VERIFY');
    const { publicKey } = this.pair(h);
    if ('digest' in input) {
      this.checkDigest(h, input.digest);
      if (h.algorithm === 'RSA_PSS_3072_SHA256') return verifyPssDigest(publicKey, input.digest, signature);
      try {
        return p256.verify(signature, input.digest, ecPoint(publicKey), { prehash: false, lowS: false, format: 'der' });
      } catch {
        return false;
      }
    }
    try {
      switch (h.algorithm) {
        case 'ED25519':
          return verify(null, input.message, publicKey, signature);
        case 'RSA_PSS_3072_SHA256':
          return verify('sha256', input.message, { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: PSS_SALT }, signature);
        default:
          return verify('sha256', input.message, publicKey, signature);
      }
    } catch {
      return false;
    }
  }

  async mac(h: VersionHandle, data: Buffer): Promise<Buffer> {
    requireUsage(h, 'MAC');
    return createHmac('sha256', this.secret(h)).update(data).digest();
  }

  async verifyMac(h: VersionHandle, data: Buffer, mac: Buffer): Promise<boolean> {
    requireUsage(h, 'MAC');
    const expected = createHmac('sha256', this.secret(h)).update(data).digest();
    return mac.length === expected.length && timingSafeEqual(mac, expected);
  }

  async getPublicKey(h: VersionHandle): Promise<Buffer> {
    requireUsage(h, 'SIGN_VERIFY');
    return this.pair(h).publicKey.export({ format: 'der', type: 'spki' });
  }

  async destroyVersion(h: VersionHandle): Promise<void> {
    this.material.delete(h.materialRef);
  }

  async discardVersion(h: VersionHandle): Promise<void> {
    this.material.delete(h.materialRef);
  }

  private checkDigest(h: VersionHandle, digest: Buffer): void {
    if (h.algorithm === 'ED25519') throw invalidArgument('digest', 'Ed25519 signs messages, not digests');
    if (digest.length !== SHA256_LENGTH) throw invalidArgument('digest', `must be ${SHA256_LENGTH} bytes`);
  }

  private entry(h: VersionHandle): Material {
    const m = this.material.get(h.materialRef);
    if (!m) throw new KmsError('BACKEND_UNAVAILABLE', `key material for version ${h.version} is missing`);
    if (m.binding !== bindingOf(h)) throw new KmsError('BACKEND_UNAVAILABLE', `key material for version ${h.version} failed its integrity check`);
    return m;
  }

  private secret(h: VersionHandle): Buffer {
    const m = this.entry(h);
    if (m.kind !== 'secret') throw new KmsError('BACKEND_UNAVAILABLE', 'not a secret key');
    return m.key;
  }

  private pair(h: VersionHandle): Extract<Material, { kind: 'pair' }> {
    const m = this.entry(h);
    if (m.kind !== 'pair') throw new KmsError('BACKEND_UNAVAILABLE', 'not a key pair');
    return m;
  }
}

/** One key service process wired from in-memory adapters. */
export interface ApplicationFixture {
  clock: ManualClock;
  store: InMemoryEventStore;
  catalog: KeyCatalog;
  backend: InMemoryKeyBackend;
  lifecycle: KeyLifecycleService;
  crypto: CryptoService;
  audit: InMemoryAuditLog;
  executor: AuditedExecutor;
}

export const FIXTURE_START = new Date('2026-03-01T09:00:00.000Z');

/**
 * Build the application layer on in-memory adapters. Pass `store` and `backend` of another fixture to get
 * a second instance of the service sharing the same event store and key material.
 */
export function applicationFixture(shared: { store?: InMemoryEventStore; backend?: InMemoryKeyBackend; clock?: ManualClock } = {}): ApplicationFixture {
  const clock = shared.clock ?? new ManualClock(FIXTURE_START);
  const store = shared.store ?? new InMemoryEventStore();
  const backend = shared.backend ?? new InMemoryKeyBackend();
  const catalog = new KeyCatalog(store);
  const backends = { [backend.protectionLevel]: backend };
  const audit = new InMemoryAuditLog();
  return {
    clock,
    store,
    catalog,
    backend,
    lifecycle: new KeyLifecycleService(store, catalog, backends, clock, audit),
    crypto: new CryptoService(catalog, backends, clock),
    audit,
    executor: new AuditedExecutor(audit, clock),
  };
}

/** Who changes keys in tests, and why. */
export const TEST_CHANGE: ChangeContext = {
  actor: 'alice@example.com',
  correlationId: 'corr-0001',
  reason: 'unit test',
  changeTicket: 'CHG-1234',
};

/** Who calls the crypto API in tests. */
export const TEST_CALL: CallContext = { actor: 'svc-payments', actorRole: 'service', requestId: 'req-0001', sourceAddress: '10.0.0.7' };

/** A valid CreateKey input with a unique name; override what the test is about. */
export function keyInput(overrides: Partial<CreateKeyInput> = {}): CreateKeyInput {
  return {
    tenant: 'acme',
    name: `key-${randomUUID()}`,
    purpose: 'DATA_PROTECTION',
    algorithm: 'AES_256_GCM',
    protectionLevel: 'SOFTWARE',
    labels: {},
    owner: 'team-payments',
    ...overrides,
  };
}

/** The KmsError a promise rejects with; fails the test if it resolves or rejects with something else. */
export async function kmsErrorOf(p: Promise<unknown>): Promise<KmsError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof KmsError) return e;
    throw e;
  }
  throw new Error('expected a KmsError, but the call succeeded');
}

/** Wait until `check` stops throwing (e.g. a subscription delivered), or rethrow its last error after `timeoutMs`. */
export async function eventually(check: () => unknown, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}
