import { assertImportParametersFresh, type CreatedVersionMaterial, type ImportVersionRequest, type ImportWrappingKey, type KeyBackend, type SignInput, type VersionHandle } from '@kms/application';
import { ALGORITHM_USAGE, ALGORITHMS, GCM_IV_LENGTH, GCM_TAG_LENGTH, KmsError, invalidArgument, isUuid, type Algorithm, type KeyUsage } from '@kms/domain';
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import * as pkcs11js from 'pkcs11js';
import { HandleCache } from './handle-cache';
import { ALGORITHM_SPECS, CKM_EDDSA, gcm, RSA_PSS_SHA256, RSA_SIGNATURE_BYTES, type AlgorithmSpec, type KeyPairSpec, type ObjectName } from './pkcs11-algorithms';
import { ckrOf } from './pkcs11-errors';
import { createEscrowedSecret, destroyEscrowCopy, readEscrowCopy } from './pkcs11-escrow';
import { destroyImportWrappingKey, findImportWrappingKey, generateImportWrappingKey, unwrapAes256Material, unwrapRsa3072KeyPair } from './pkcs11-key-import';
import { assertLoggedIn, destroyObjects, findByName, readOrigin, readSpki, type FoundObject } from './pkcs11-objects';
import type { Pkcs11Session, Pkcs11SessionPool } from './pkcs11-session-pool';
import { ecdsaP256DerToRaw, ecdsaP256RawToDer, spkiFingerprint } from './public-key-encoding';

/** Versions whose object handles are kept in memory by default. */
export const DEFAULT_HANDLE_CACHE_SIZE = 10_000;

const SHA256_LENGTH = 32;
const ECDSA_P256_RAW_LENGTH = 64;
const ED25519_SIGNATURE_LENGTH = 64;
const HMAC_SHA256_LENGTH = 32;
const OBJECT_ID_BYTES = 16;
/** CKR_AEAD_DECRYPT_FAILED (PKCS#11 3.0); pkcs11js does not name it. */
const CKR_AEAD_DECRYPT_FAILED = 0x35;
/**
 * How modules answer a failed GCM tag check. SoftHSM2 says CKR_GENERAL_ERROR; the C_Decrypt call is
 * the only place it is read as "not authentic" rather than as a module failure.
 */
const AUTHENTICATION_FAILURES: ReadonlySet<number> = new Set([
  pkcs11js.CKR_GENERAL_ERROR,
  pkcs11js.CKR_ENCRYPTED_DATA_INVALID,
  pkcs11js.CKR_ENCRYPTED_DATA_LEN_RANGE,
  CKR_AEAD_DECRYPT_FAILED,
]);
const BAD_SIGNATURE: ReadonlySet<number> = new Set([pkcs11js.CKR_SIGNATURE_INVALID, pkcs11js.CKR_SIGNATURE_LEN_RANGE]);
/** Some modules refuse a NULL data pointer, which is what an empty Buffer passes: use a zero-length view of a real allocation. */
const EMPTY_INPUT = Buffer.alloc(1).subarray(0, 0);
const SUPPORTED: ReadonlySet<string> = new Set<string>(ALGORITHMS.filter((a) => ALGORITHM_SPECS[a] !== undefined));

export interface Pkcs11KeyBackendOptions {
  /** Most versions whose object handles are cached (LRU). Default 10,000. */
  handleCacheSize?: number;
  /** Clock for the freshness of import parameters. */
  now?: () => Date;
}

/** A version's objects in one connection generation. */
interface VersionObjects {
  generation: number;
  /** CKA_KEY_TYPE of the objects. */
  keyType: number;
  /** The secret key, or the private key of a pair. */
  key: Buffer;
  publicKey?: Buffer;
  spki?: Buffer;
}

function nonEmpty(b: Buffer): Buffer {
  return b.length === 0 ? EMPTY_INPUT : b;
}

function sha256(b: Buffer): Buffer {
  return createHash('sha256').update(b).digest();
}

/** CKA_LABEL of a version's objects. */
export function versionLabel(keyId: string, version: number): string {
  return `kms:${keyId}:v${version}`;
}

/** materialRef = label '#' hex CKA_ID: the label links the objects to the version, the random id tells apart two generations for it. */
function materialRefOf(name: ObjectName): string {
  return `${name.label}#${name.id.toString('hex')}`;
}

function parseMaterialRef(ref: string): ObjectName | undefined {
  const m = /^(.+)#((?:[0-9a-f]{2})+)$/.exec(ref);
  return m ? { label: m[1], id: Buffer.from(m[2], 'hex') } : undefined;
}

function unusable(h: VersionHandle, problem: string): KmsError<'BACKEND_UNAVAILABLE'> {
  return new KmsError('BACKEND_UNAVAILABLE', `key material for version ${h.version} ${problem}`);
}

function authenticationFailed(): KmsError<'INVALID_CIPHERTEXT'> {
  return new KmsError(
    'INVALID_CIPHERTEXT',
    'ciphertext: authentication failed: the ciphertext was altered or the aad does not match',
    'ciphertext',
  );
}

function unsupported(algorithm: Algorithm, why: string): KmsError<'UNSUPPORTED_ALGORITHM'> {
  return new KmsError('UNSUPPORTED_ALGORITHM', `algorithm: ${String(algorithm)} ${why}`, 'algorithm');
}

const OPERATION_WORDS: Record<KeyUsage, string> = {
  ENCRYPT_DECRYPT: 'encryption',
  MAC: 'MACs',
  SIGN_VERIFY: 'signatures',
  ASYMMETRIC_DECRYPT: 'asymmetric decryption',
  KEY_ENCAPSULATION: 'key encapsulation',
};

function requireUsage(h: VersionHandle, usage: KeyUsage, operation: string): void {
  const actual = ALGORITHM_USAGE[h.algorithm] as KeyUsage | undefined;
  if (actual !== usage) {
    const purpose = actual ? `is for ${OPERATION_WORDS[actual]}` : 'has an unknown algorithm';
    throw new KmsError('USAGE_MISMATCH', `key version ${h.version} (${String(h.algorithm)}) ${purpose}; it cannot ${operation}`);
  }
}

/** Validate a digest input before the HSM is touched. */
function checkDigest(algorithm: Algorithm, digest: Buffer): Buffer {
  if (algorithm !== 'ECDSA_P256_SHA256' && algorithm !== 'RSA_PSS_3072_SHA256') {
    throw invalidArgument('digest', 'Ed25519 signs messages, not digests; send the message itself');
  }
  if (digest.length !== SHA256_LENGTH) {
    throw invalidArgument('digest', `must be a SHA-256 digest of exactly ${SHA256_LENGTH} bytes, got ${digest.length}`);
  }
  return digest;
}

/** What can be imported into the module: AES-256 keys, and RSA-3072 key pairs (their public half is read back from the private key). */
function importableAlgorithm(algorithm: Algorithm): AlgorithmSpec {
  const spec = ALGORITHM_SPECS[algorithm];
  if ((algorithm !== 'AES_256_GCM' && algorithm !== 'RSA_PSS_3072_SHA256') || !spec) {
    throw unsupported(
      algorithm,
      'cannot be imported into the HSM (AES_256_GCM and RSA_PSS_3072_SHA256 can): an EC or Ed25519 private key unwrapped inside the module has no public point the module would give back, and an HMAC key no length it would report',
    );
  }
  return spec;
}

/**
 * Key backend on a PKCS#11 token (protection level HSM). Every version is generated on the token as
 * sensitive, non-extractable token objects labelled `kms:<keyId>:v<version>` with a random CKA_ID;
 * all cryptography runs inside the module. Signatures and ciphertexts are byte-compatible with the
 * software backend: IV | ciphertext | tag for AES-GCM, DER for ECDSA, PSS (SHA-256, MGF1-SHA256,
 * salt 32) for RSA. The constructor does no I/O; the pool connects on first use.
 */
export class Pkcs11KeyBackend implements KeyBackend {
  readonly protectionLevel = 'HSM' as const;
  private readonly cache: HandleCache<VersionObjects>;
  private readonly now: () => Date;

  constructor(
    private readonly pool: Pkcs11SessionPool,
    options: Pkcs11KeyBackendOptions = {},
  ) {
    this.cache = new HandleCache(options.handleCacheSize ?? DEFAULT_HANDLE_CACHE_SIZE);
    this.now = options.now ?? (() => new Date());
  }

  /** BYOK: a one-time RSA-3072 wrapping key pair generated on the token (see pkcs11-key-import.ts). */
  async createImportWrappingKey(req: { keyId: string; algorithm?: Algorithm }): Promise<ImportWrappingKey> {
    if (req.algorithm !== undefined) importableAlgorithm(req.algorithm);
    if (!isUuid(req.keyId)) throw invalidArgument('key_id', 'must be a UUID');
    return this.pool.withSession('createImportWrappingKey', (s) => generateImportWrappingKey(s, req.keyId, randomUUID(), this.now()));
  }

  /**
   * BYOK: unwrap with C_UnwrapKey inside the module (RSA-OAEP-SHA1, then AES-KWP) into the version's
   * token object, sensitive and not extractable; the wrapping key pair is destroyed once it served
   * (single use). AES_256_GCM keys, and RSA_PSS_3072_SHA256 key pairs whose public key object is made
   * from the unwrapped private key's modulus and exponent (see unwrapRsa3072KeyPair).
   */
  async importVersion(req: ImportVersionRequest): Promise<CreatedVersionMaterial> {
    const spec = importableAlgorithm(req.algorithm);
    if (!isUuid(req.keyId)) throw invalidArgument('key_id', 'must be a UUID');
    const name: ObjectName = { label: versionLabel(req.keyId, req.version), id: randomBytes(OBJECT_ID_BYTES) };
    return this.pool.withSession('importVersion', async (s) => {
      const wrapping = findImportWrappingKey(s, req.keyId, req.wrappingKeyRef);
      if (!wrapping) throw invalidArgument('import_token', 'names no import parameters of this key (or they were used already: tokens are single use); get new ones with GetImportParameters');
      assertImportParametersFresh(wrapping.createdAt, this.now());
      if (spec.kind === 'pair') return this.importKeyPair(s, spec, name, wrapping, req);
      const key = unwrapAes256Material(s, wrapping.privateKey, req.wrappedMaterial, spec.template(name), (k) => {
        // AES-256 proves itself by working: a 25-31 byte "AES key" is refused by the module.
        s.module.C_EncryptInit(s.handle, gcm(randomBytes(GCM_IV_LENGTH), EMPTY_INPUT), k);
        s.module.C_Encrypt(s.handle, Buffer.alloc(1), Buffer.alloc(1 + GCM_TAG_LENGTH));
        const [len] = s.module.C_GetAttributeValue(s.handle, k, [{ type: pkcs11js.CKA_VALUE_LEN }]);
        // SoftHSM2 leaves CKA_VALUE_LEN at 0 on unwrapped keys; a module that sets it must say 32.
        const bytes = len.value.length >= 4 ? Number(len.value.readUIntLE(0, Math.min(len.value.length, 6))) : 0;
        if (bytes !== 0 && bytes !== 32) throw new Error(`AES key of ${bytes} bytes`);
      });
      try {
        const origin = readOrigin(s, key, name, true);
        destroyImportWrappingKey(s, wrapping.objects);
        const materialRef = materialRefOf(name);
        this.cache.set(materialRef, { generation: s.generation, keyType: spec.keyType, key });
        return { materialRef, origin };
      } catch (e) {
        try {
          destroyObjects(s, [key]);
        } catch {
          // The original failure is the one to report.
        }
        throw e;
      }
    });
  }

  /** BYOK of an RSA-3072 key pair: unwrapped inside the module, the public key object made from its modulus, then proven by a signature. */
  private importKeyPair(s: Pkcs11Session, spec: KeyPairSpec, name: ObjectName, wrapping: { privateKey: Buffer; objects: Buffer[] }, req: ImportVersionRequest): CreatedVersionMaterial {
    const pair = unwrapRsa3072KeyPair(s, wrapping.privateKey, req.wrappedMaterial, spec.privateTemplate(name), spec.publicTemplate(name));
    try {
      // The pair works as one inside the module: a PSS signature by the private key verifies under the public one.
      const digest = randomBytes(SHA256_LENGTH);
      s.module.C_SignInit(s.handle, RSA_PSS_SHA256, pair.privateKey);
      const signature = s.module.C_Sign(s.handle, digest, Buffer.alloc(RSA_SIGNATURE_BYTES));
      s.module.C_VerifyInit(s.handle, RSA_PSS_SHA256, pair.publicKey);
      if (!s.module.C_Verify(s.handle, digest, signature)) throw invalidArgument('wrapped_key_material', 'the imported private key does not sign for its own public key');
      const origin = readOrigin(s, pair.privateKey, name, false);
      const spki = readSpki(s, pair.publicKey, req.algorithm);
      destroyImportWrappingKey(s, wrapping.objects);
      const materialRef = materialRefOf(name);
      this.cache.set(materialRef, { generation: s.generation, keyType: spec.keyType, key: pair.privateKey, publicKey: pair.publicKey, spki });
      return { materialRef, origin, publicKeyFingerprint: spkiFingerprint(spki) };
    } catch (e) {
      try {
        destroyObjects(s, [pair.privateKey, pair.publicKey]);
      } catch {
        // The original failure is the one to report.
      }
      throw e;
    }
  }

  /**
   * Whether versions of `algorithm` can be created. Before the first connection this is the
   * backend's own list; once the module has been asked, algorithms whose mechanisms it lacks drop out.
   */
  supports(algorithm: Algorithm): boolean {
    if (!SUPPORTED.has(algorithm)) return false;
    const mechanisms = this.pool.mechanisms;
    const spec = ALGORITHM_SPECS[algorithm];
    return spec !== undefined && (mechanisms === undefined || spec.mechanisms.every((m) => mechanisms.has(m)));
  }

  /** Connect if needed and list the algorithms this module supports. */
  async supportedAlgorithms(): Promise<Algorithm[]> {
    await this.pool.connect();
    return ALGORITHMS.filter((a) => this.supports(a));
  }

  /**
   * `escrow`: a break-glass version, to be split into escrow shares. A secret key is then made from the
   * module's RNG with a transfer copy for its sealing ceremony (see pkcs11-escrow.ts); key pairs are
   * refused (their private key would have to be made outside the module to be split).
   */
  async createVersion(req: { keyId: string; version: number; algorithm: Algorithm; escrow?: boolean }): Promise<CreatedVersionMaterial> {
    const spec = ALGORITHM_SPECS[req.algorithm];
    if (!spec || !this.supports(req.algorithm)) throw unsupported(req.algorithm, 'is not supported by the HSM backend');
    if (!isUuid(req.keyId)) throw invalidArgument('key_id', 'must be a UUID');
    if (!Number.isInteger(req.version) || req.version < 1 || req.version > 0xffff_ffff) {
      throw invalidArgument('version', 'must be a whole number from 1 to 4294967295');
    }
    const name: ObjectName = { label: versionLabel(req.keyId, req.version), id: randomBytes(OBJECT_ID_BYTES) };
    return this.pool.withSession('createVersion', async (s) => {
      if (!spec.mechanisms.every((m) => s.mechanisms.has(m))) throw unsupported(req.algorithm, 'is not supported by this HSM module');
      const objects = req.escrow ? await this.createEscrowed(s, spec, name, req) : await this.generate(s, spec, name);
      try {
        const origin = { ...readOrigin(s, objects.key, name, spec.kind === 'secret'), ...(req.escrow ? { madeForEscrow: true as const } : {}) };
        const spki = objects.publicKey ? readSpki(s, objects.publicKey, req.algorithm) : undefined;
        const materialRef = materialRefOf(name);
        this.cache.set(materialRef, { ...objects, ...(spki ? { spki } : {}) });
        return spki ? { materialRef, origin, publicKeyFingerprint: spkiFingerprint(spki) } : { materialRef, origin };
      } catch (e) {
        // Material without evidence is never handed out: remove it rather than leave an orphan on the token.
        try {
          destroyObjects(s, objects.publicKey ? [objects.key, objects.publicKey] : [objects.key]);
        } catch {
          // The original failure is the one to report.
        }
        throw e;
      }
    });
  }

  async encrypt(h: VersionHandle, plaintext: Buffer, aad: Buffer): Promise<Buffer> {
    requireUsage(h, 'ENCRYPT_DECRYPT', 'encrypt');
    const out = Buffer.allocUnsafe(GCM_IV_LENGTH + plaintext.length + GCM_TAG_LENGTH);
    const iv = randomBytes(GCM_IV_LENGTH);
    iv.copy(out);
    const sealed = await this.withKey('encrypt', h, async (s, o) => {
      s.module.C_EncryptInit(s.handle, gcm(iv, aad), o.key);
      // The module writes ciphertext | tag straight after the IV: no extra copy.
      return s.module.C_EncryptAsync(s.handle, nonEmpty(plaintext), out.subarray(GCM_IV_LENGTH));
    });
    return out.subarray(0, GCM_IV_LENGTH + sealed.length);
  }

  async decrypt(h: VersionHandle, body: Buffer, aad: Buffer): Promise<Buffer> {
    requireUsage(h, 'ENCRYPT_DECRYPT', 'decrypt');
    if (body.length < GCM_IV_LENGTH + GCM_TAG_LENGTH) {
      throw new KmsError('INVALID_CIPHERTEXT', 'ciphertext: too short to hold an IV and an authentication tag', 'ciphertext');
    }
    return this.withKey('decrypt', h, async (s, o) => {
      s.module.C_DecryptInit(s.handle, gcm(body.subarray(0, GCM_IV_LENGTH), aad), o.key);
      try {
        return await s.module.C_DecryptAsync(s.handle, body.subarray(GCM_IV_LENGTH), Buffer.alloc(body.length - GCM_IV_LENGTH));
      } catch (e) {
        const code = ckrOf(e);
        if (code !== undefined && AUTHENTICATION_FAILURES.has(code)) throw authenticationFailed();
        throw e;
      }
    });
  }

  async sign(h: VersionHandle, input: SignInput): Promise<Buffer> {
    requireUsage(h, 'SIGN_VERIFY', 'sign');
    const digest = 'digest' in input ? checkDigest(h.algorithm, input.digest) : undefined;
    switch (h.algorithm) {
      case 'ECDSA_P256_SHA256': {
        const data = digest ?? sha256((input as { message: Buffer }).message);
        const raw = await this.signOnToken('sign', h, { mechanism: pkcs11js.CKM_ECDSA }, data, ECDSA_P256_RAW_LENGTH);
        return ecdsaP256RawToDer(raw);
      }
      case 'RSA_PSS_3072_SHA256': {
        const data = digest ?? sha256((input as { message: Buffer }).message);
        return this.signOnToken('sign', h, RSA_PSS_SHA256, data, RSA_SIGNATURE_BYTES);
      }
      case 'ED25519':
        return this.signOnToken('sign', h, { mechanism: CKM_EDDSA }, (input as { message: Buffer }).message, ED25519_SIGNATURE_LENGTH);
      default:
        throw unusable(h, `has algorithm ${String(h.algorithm)}, which does not sign`);
    }
  }

  async verify(h: VersionHandle, input: SignInput, signature: Buffer): Promise<boolean> {
    requireUsage(h, 'SIGN_VERIFY', 'verify signatures');
    const digest = 'digest' in input ? checkDigest(h.algorithm, input.digest) : undefined;
    const message = (): Buffer => (input as { message: Buffer }).message;
    // Malformed signatures are answered here: some modules leave the operation active after refusing their length.
    switch (h.algorithm) {
      case 'ECDSA_P256_SHA256': {
        const raw = ecdsaP256DerToRaw(signature);
        if (!raw) return false;
        return this.verifyOnToken(h, { mechanism: pkcs11js.CKM_ECDSA }, digest ?? sha256(message()), raw);
      }
      case 'RSA_PSS_3072_SHA256':
        if (signature.length !== RSA_SIGNATURE_BYTES) return false;
        return this.verifyOnToken(h, RSA_PSS_SHA256, digest ?? sha256(message()), signature);
      case 'ED25519':
        if (signature.length !== ED25519_SIGNATURE_LENGTH) return false;
        return this.verifyOnToken(h, { mechanism: CKM_EDDSA }, message(), signature);
      default:
        throw unusable(h, `has algorithm ${String(h.algorithm)}, which does not sign`);
    }
  }

  async mac(h: VersionHandle, data: Buffer): Promise<Buffer> {
    requireUsage(h, 'MAC', 'compute MACs');
    return this.signOnToken('mac', h, { mechanism: pkcs11js.CKM_SHA256_HMAC }, data, HMAC_SHA256_LENGTH);
  }

  async verifyMac(h: VersionHandle, data: Buffer, mac: Buffer): Promise<boolean> {
    requireUsage(h, 'MAC', 'verify MACs');
    const expected = await this.signOnToken('verifyMac', h, { mechanism: pkcs11js.CKM_SHA256_HMAC }, data, HMAC_SHA256_LENGTH);
    // The length of an HMAC-SHA256 is public; only the comparison of equal lengths must be constant-time.
    return mac.length === expected.length && timingSafeEqual(expected, mac);
  }

  async getPublicKey(h: VersionHandle): Promise<Buffer> {
    if (ALGORITHM_USAGE[h.algorithm] === 'ENCRYPT_DECRYPT' || ALGORITHM_USAGE[h.algorithm] === 'MAC') {
      throw new KmsError('USAGE_MISMATCH', `key version ${h.version} (${h.algorithm}) is a secret key; it has no public key`);
    }
    const spki = await this.withKey('getPublicKey', h, async (s, o) => {
      if (!o.publicKey) throw unusable(h, 'has no public key object');
      o.spki ??= readSpki(s, o.publicKey, h.algorithm);
      return o.spki;
    });
    return Buffer.from(spki);
  }

  async asymmetricDecrypt(h: VersionHandle): Promise<Buffer> {
    requireUsage(h, 'ASYMMETRIC_DECRYPT', 'decrypt asymmetrically');
    throw unsupported(h.algorithm, 'is not offered by the HSM backend (SoftHSM2 2.6 does RSA-OAEP with SHA-1 only)');
  }

  async decapsulate(h: VersionHandle): Promise<Buffer> {
    requireUsage(h, 'KEY_ENCAPSULATION', 'decapsulate');
    throw unsupported(h.algorithm, 'is not offered by the HSM backend: no PKCS#11 module here implements ML-KEM');
  }

  /** C_DestroyObject on every object of the version. Undefined when there was nothing left to destroy. */
  async destroyVersion(h: VersionHandle): Promise<{ hsmObjectDestroyed: boolean } | void> {
    const destroyed = await this.destroy('destroyVersion', h);
    return destroyed ? { hsmObjectDestroyed: true } : undefined;
  }

  async discardVersion(h: VersionHandle): Promise<void> {
    await this.destroy('discardVersion', h);
  }

  private async destroy(operation: string, h: VersionHandle): Promise<boolean> {
    const name = this.nameOf(h);
    return this.pool.withSession(operation, async (s) => {
      this.cache.delete(h.materialRef);
      // A fresh search rather than cached handles: whatever carries the name goes, private and public alike.
      const found = findByName(s, name);
      const destroyed = destroyObjects(
        s,
        found.map((o) => o.handle),
      );
      // An escrowed version never sealed still has its transfer copy: it goes with the version.
      destroyEscrowCopy(s, h.keyId, h.version);
      this.cache.delete(h.materialRef);
      return destroyed > 0;
    });
  }

  private async createEscrowed(s: Pkcs11Session, spec: AlgorithmSpec, name: ObjectName, req: { keyId: string; version: number; algorithm: Algorithm }): Promise<Omit<VersionObjects, 'spki'>> {
    if (spec.kind !== 'secret') throw unsupported(req.algorithm, 'cannot be a break-glass key in the HSM: escrow splits the material, and a key pair made inside the module never leaves it (use AES_256_GCM or HMAC_SHA256, or protection level SOFTWARE)');
    const key = await createEscrowedSecret(s, spec, name, req.keyId, req.version);
    return { generation: s.generation, keyType: spec.keyType, key };
  }

  /**
   * Break-glass escrow: the version's material from its transfer copy, for its sealing ceremony only.
   * The caller zeroes it. Refused once the copy is gone (the version was sealed already).
   */
  async exportForEscrow(h: VersionHandle): Promise<Buffer> {
    this.nameOf(h);
    const material = await this.pool.withSession('exportForEscrow', async (s) => readEscrowCopy(s, h.keyId, h.version));
    if (!material) {
      throw new KmsError('ILLEGAL_TRANSITION', `key_version: version ${h.version} of ${h.keyId} has no escrow transfer copy on the HSM: it was sealed already, or made before it was a break-glass version; rotate to seal a new version`, 'key_version');
    }
    return material;
  }

  /** Break-glass escrow: the sealing ceremony is recorded, so the transfer copy goes (C_DestroyObject). */
  async escrowSealed(h: VersionHandle): Promise<void> {
    this.nameOf(h);
    await this.pool.withSession('escrowSealed', async (s) => destroyEscrowCopy(s, h.keyId, h.version));
  }

  private async generate(s: Pkcs11Session, spec: AlgorithmSpec, name: ObjectName): Promise<Omit<VersionObjects, 'spki'>> {
    if (spec.kind === 'secret') {
      const key = await s.module.C_GenerateKeyAsync(s.handle, { mechanism: spec.generate }, spec.template(name));
      return { generation: s.generation, keyType: spec.keyType, key };
    }
    const pair = await s.module.C_GenerateKeyPairAsync(s.handle, { mechanism: spec.generate }, spec.publicTemplate(name), spec.privateTemplate(name));
    return { generation: s.generation, keyType: spec.keyType, key: pair.privateKey, publicKey: pair.publicKey };
  }

  private nameOf(h: VersionHandle): ObjectName {
    const name = parseMaterialRef(h.materialRef);
    if (!name) throw unusable(h, 'has a malformed material reference');
    // The label binds the objects to one key version: a reference copied to another version must not work.
    if (name.label !== versionLabel(h.keyId, h.version)) throw unusable(h, 'belongs to another key version');
    return name;
  }

  /** The version's objects in this session's generation: from the cache, or found on the token and checked. */
  private objectsOf(s: Pkcs11Session, h: VersionHandle): VersionObjects {
    const spec = ALGORITHM_SPECS[h.algorithm] as AlgorithmSpec | undefined;
    if (!spec) throw unusable(h, `has an unknown algorithm ${String(h.algorithm)}`);
    const cached = this.cache.get(h.materialRef);
    // Checked on every use, cached or not: the reference must name this version, the objects this algorithm's key type.
    if (cached && cached.generation === s.generation && h.materialRef.startsWith(`${versionLabel(h.keyId, h.version)}#`)) {
      if (cached.keyType !== spec.keyType) throw unusable(h, `is not a ${h.algorithm} key`);
      return cached;
    }
    const name = this.nameOf(h);
    const found = findByName(s, name);
    if (found.length === 0) throw unusable(h, 'is missing');
    const pick = (objectClass: number): FoundObject | undefined => found.find((o) => o.objectClass === objectClass);
    const key = pick(spec.kind === 'secret' ? pkcs11js.CKO_SECRET_KEY : pkcs11js.CKO_PRIVATE_KEY);
    const publicKey = spec.kind === 'pair' ? pick(pkcs11js.CKO_PUBLIC_KEY) : undefined;
    if (!key || (spec.kind === 'pair' && !publicKey)) throw unusable(h, 'is incomplete on the token');
    if (key.keyType !== spec.keyType || (publicKey && publicKey.keyType !== spec.keyType)) throw unusable(h, `is not a ${h.algorithm} key`);
    const objects: VersionObjects = { generation: s.generation, keyType: key.keyType, key: key.handle, ...(publicKey ? { publicKey: publicKey.handle } : {}) };
    this.cache.set(h.materialRef, objects);
    return objects;
  }

  /** Run `fn` with the version's objects on a pooled session; a stale handle means the objects are gone. */
  private withKey<T>(operation: string, h: VersionHandle, fn: (s: Pkcs11Session, o: VersionObjects) => Promise<T>): Promise<T> {
    return this.pool.withSession(operation, async (s) => {
      const objects = this.objectsOf(s, h);
      try {
        return await fn(s, objects);
      } catch (e) {
        const code = ckrOf(e);
        if (code === pkcs11js.CKR_KEY_HANDLE_INVALID || code === pkcs11js.CKR_OBJECT_HANDLE_INVALID) {
          this.cache.delete(h.materialRef);
          // Private objects vanish from view on logout too; that is a lost login, not lost material.
          assertLoggedIn(s);
          throw unusable(h, 'is missing');
        }
        throw e;
      }
    });
  }

  private signOnToken(operation: string, h: VersionHandle, mechanism: pkcs11js.Mechanism, data: Buffer, maxLength: number): Promise<Buffer> {
    return this.withKey(operation, h, async (s, o) => {
      s.module.C_SignInit(s.handle, mechanism, o.key);
      return s.module.C_SignAsync(s.handle, nonEmpty(data), Buffer.alloc(maxLength));
    });
  }

  private verifyOnToken(h: VersionHandle, mechanism: pkcs11js.Mechanism, data: Buffer, signature: Buffer): Promise<boolean> {
    return this.withKey('verify', h, async (s, o) => {
      if (!o.publicKey) throw unusable(h, 'has no public key object');
      s.module.C_VerifyInit(s.handle, mechanism, o.publicKey);
      try {
        return await s.module.C_VerifyAsync(s.handle, nonEmpty(data), signature);
      } catch (e) {
        const code = ckrOf(e);
        if (code !== undefined && BAD_SIGNATURE.has(code)) return false;
        throw e;
      }
    });
  }
}
