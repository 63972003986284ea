import { createHash, createPublicKey, generateKeyPair, randomBytes } from 'node:crypto';
import { API_LIMITS } from '@kms/contracts';
import {
  AccessRefusedError,
  type Algorithm,
  CiphertextFormatError,
  type CiphertextFormatProblem,
  decideCrossing,
  decodeCiphertext,
  encodeCiphertextHeader,
  type ExistingKeyState,
  gcmAad,
  invalidArgument,
  type Jurisdiction,
  type KeyOperation,
  type KeyPermission,
  type KeyPurpose,
  type KeyVersion,
  KmsError,
  residencyRulesDecider,
  versionForOperation,
} from '@kms/domain';
import type { ResidencyRulesService } from '../jurisdictions/residency-rules.service';
import type { KeyBackend, KeyBackends, SignInput, VersionHandle } from '../ports/key-backend.port';
import type { KeyCatalog } from '../keys/key-catalog';
import type { KeyAccessCheck } from '../access/authorizer';
import { ciphertextRef } from '../audit/ciphertext-tracking';
import { type CiphertextTracking, type Clock, systemClock } from '../ports/audit-log.port';
import { generateXwingKeyPair } from './hybrid-kem';
import {
  optionalVersion,
  validateAad,
  validateBytes,
  validateCiphertextBytes,
  validateKeyId,
  validatePlaintext,
} from './request-validation';

/** The key-policy permission each operation needs. */
const PERMISSION_FOR: Readonly<Record<KeyOperation, KeyPermission>> = {
  ENCRYPT: 'ENCRYPT',
  DECRYPT: 'DECRYPT',
  GENERATE_DATA_KEY: 'GENERATE_DATA_KEY',
  SIGN: 'SIGN',
  VERIFY: 'VERIFY',
  GET_PUBLIC_KEY: 'VERIFY',
  MAC: 'MAC',
  VERIFY_MAC: 'MAC',
  ASYMMETRIC_DECRYPT: 'DECRYPT',
  DECAPSULATE: 'DECRYPT',
};

/** Longest signature any algorithm makes: ML-DSA-65's 3,309 bytes, rounded up. */
const MAX_SIGNATURE_BYTES = 4096;

/** Facts about a call the audit record may carry (never secrets). */

/**
 * What data key pairs GenerateDataKeyPair makes. ML_KEM_768_X25519 is the hybrid post-quantum data
 * key: an X-Wing key pair (ML-KEM-768 + X25519, see hybrid-kem.ts) to encapsulate data keys to.
 */
export const DATA_KEY_PAIR_SPECS = ['ECC_NIST_P256', 'RSA_3072', 'ML_KEM_768_X25519'] as const;
export type DataKeyPairSpec = (typeof DATA_KEY_PAIR_SPECS)[number];

/** A fresh key pair as DER: SubjectPublicKeyInfo and PKCS#8 (node:crypto on the libuv pool; X-Wing with @noble/post-quantum). */
function generateDataKeyPairMaterial(spec: DataKeyPairSpec): Promise<{ publicKeySpki: Buffer; privateKeyPkcs8: Buffer }> {
  if (spec === 'ML_KEM_768_X25519') return Promise.resolve(generateXwingKeyPair());
  const encodings = { publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'der' } } as const;
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, publicKeySpki: Buffer, privateKeyPkcs8: Buffer) => (err ? reject(err) : resolve({ publicKeySpki, privateKeyPkcs8 }));
    if (spec === 'ECC_NIST_P256') generateKeyPair('ec', { namedCurve: 'P-256', ...encodings }, done);
    else generateKeyPair('rsa', { modulusLength: 3072, publicExponent: 0x10001, ...encodings }, done);
  });
}

export interface OperationFacts {
  keyId?: string;
  keyVersion?: number;
  details?: Record<string, string | number | boolean>;
  /** Ciphertexts handed out or taken back under DATA_PROTECTION keys (see ciphertext-tracking). */
  ciphertexts?: CiphertextTracking;
}

/** A key version an operation may use: the key's state, the version, its backend handle and backend. */
interface UsedVersion {
  state: ExistingKeyState;
  v: KeyVersion;
  h: VersionHandle;
  backend: KeyBackend;
}

export interface EncryptResult {
  ciphertext: Buffer;
  keyId: string;
  keyVersion: number;
}

export interface DecryptResult {
  plaintext: Buffer;
  keyId: string;
  keyVersion: number;
  /** Purpose of the key that decrypted (ReEncrypt releases tracked DATA_PROTECTION ciphertexts). */
  purpose: KeyPurpose;
  /** Tenant and jurisdiction of the key that decrypted (ReEncrypt checks the tenant's residency rules). */
  tenant: string;
  jurisdiction: Jurisdiction;
}

export interface ReEncryptResult extends EncryptResult {
  sourceKeyId: string;
  sourceKeyVersion: number;
}

export interface PublicKeyResult {
  keyId: string;
  keyVersion: number;
  algorithm: Algorithm;
  pem: string;
  jwk: string;
  fingerprint: string;
}

/** Where no residency rules are wired: nothing may cross (fail closed). */
const NO_RESIDENCY_RULES: Pick<ResidencyRulesService, 'crossing'> = {
  crossing: (tenant, from, to, field) => Promise.resolve(decideCrossing(residencyRulesDecider.initialState(), tenant, from, to, field)),
};

/** Refuses use of a break-glass version whose material is held in escrow and not unsealed now (KEY_SEALED). */
export interface BreakGlassUseGate {
  assertUsable(keyId: string, version: number): Promise<void>;
}

/**
 * The cryptographic operations of the API. Checks key state and usage through the domain, frames
 * ciphertexts, and calls the backend that holds the version's material. `facts` is filled as soon as
 * the key and version are known so a failed call is still audited with them.
 */
export class CryptoService {
  private breakGlass?: BreakGlassUseGate;

  constructor(
    private readonly catalog: KeyCatalog,
    private readonly backends: KeyBackends,
    /** Imported versions past their expiry are refused by this clock, before the scheduler destroys them. */
    private readonly clock: Clock = systemClock,
  ) {}

  private residency?: Pick<ResidencyRulesService, 'crossing'>;

  /** Set once at wiring time: the tenants' residency rules. Without them no operation crosses jurisdictions. */
  useResidencyRules(residency: Pick<ResidencyRulesService, 'crossing'>): void {
    this.residency = residency;
  }

  /** Set once at wiring time where break-glass escrow runs: sealed break-glass versions are used only while unsealed. */
  useBreakGlassGate(gate: BreakGlassUseGate): void {
    this.breakGlass = gate;
  }

  /** A sealed break-glass version is used only while unsealed: the check to wait for, or nothing for any other key. */
  private breakGlassCheck(state: ExistingKeyState, v: KeyVersion): Promise<void> | undefined {
    return state.key.purpose === 'BREAK_GLASS' && this.breakGlass ? this.breakGlass.assertUsable(state.key.keyId, v.version) : undefined;
  }

  private backend(v: KeyVersion): KeyBackend {
    const b = this.backends[v.protectionLevel];
    if (!b) throw new KmsError('BACKEND_UNAVAILABLE', `no ${v.protectionLevel} backend is configured on this server`);
    return b;
  }

  private handle(state: ExistingKeyState, v: KeyVersion): VersionHandle {
    return { keyId: state.key.keyId, version: v.version, algorithm: v.algorithm, materialRef: v.materialRef };
  }

  /**
   * The version an operation uses under `keyIdRaw`, with its handle and backend, once the caller may
   * use the key for it. Answered without a promise when the catalog holds the key and nothing else
   * must be waited for (the hot path of every crypto call and batch item); a promise otherwise.
   */
  private use(access: KeyAccessCheck, keyIdRaw: unknown, op: KeyOperation, facts: OperationFacts, version?: number, field = 'key_id'): UsedVersion | Promise<UsedVersion> {
    const keyId = validateKeyId(keyIdRaw, field);
    facts.keyId = keyId;
    const held = this.catalog.held(keyId);
    return held ? this.usable(access, held, op, facts, version, field) : this.readAndUse(access, keyId, op, facts, version, field);
  }

  /** `use` for a key the catalog must read; hides missing keys from callers who must not see them. */
  private async readAndUse(access: KeyAccessCheck, keyId: string, op: KeyOperation, facts: OperationFacts, version: number | undefined, field: string): Promise<UsedVersion> {
    let state: ExistingKeyState;
    try {
      state = await this.catalog.get(keyId);
    } catch (e) {
      throw namingField(hiddenIfMissing(access, op, e), field);
    }
    return this.usable(access, state, op, facts, version, field);
  }

  private usable(access: KeyAccessCheck, state: ExistingKeyState, op: KeyOperation, facts: OperationFacts, version: number | undefined, field: string): UsedVersion | Promise<UsedVersion> {
    let v: KeyVersion;
    try {
      access.check(state, PERMISSION_FOR[op]);
      facts.keyVersion = version ?? state.key.primaryVersion;
      v = versionForOperation(state, op, version, this.clock.now());
    } catch (e) {
      throw namingField(e, field);
    }
    facts.keyVersion = v.version;
    const used = (): UsedVersion => ({ state, v, h: this.handle(state, v), backend: this.backend(v) });
    const check = this.breakGlassCheck(state, v);
    return check ? check.then(used) : used();
  }

  async encrypt(access: KeyAccessCheck, keyId: unknown, plaintextRaw: unknown, aadRaw: unknown, facts: OperationFacts = {}): Promise<EncryptResult> {
    const plaintext = validatePlaintext(plaintextRaw);
    const aad = validateAad(aadRaw);
    const used = this.use(access, keyId, 'ENCRYPT', facts);
    const { state, v, h, backend } = used instanceof Promise ? await used : used;
    facts.details = { plaintextBytes: plaintext.length, aadBytes: aad.length };
    const out = await this.seal(state, v, h, backend, plaintext, aad);
    trackIssued(state, out, facts);
    return out;
  }

  private async seal(state: ExistingKeyState, v: KeyVersion, h: VersionHandle, backend: KeyBackend, plaintext: Buffer, aad: Buffer) {
    const header = encodeCiphertextHeader({ keyId: state.key.keyId, version: v.version });
    const body = await backend.encrypt(h, plaintext, gcmAad(header, aad));
    return { ciphertext: Buffer.concat([header, body]), keyId: state.key.keyId, keyVersion: v.version };
  }

  /**
   * Decrypt a self-describing ciphertext. Whatever stops it (bytes that do not parse, a key that does
   * not exist, a key the caller may not use for DECRYPT, a version that does not exist, a failed
   * authentication) is answered with one INVALID_CIPHERTEXT, so a crafted ciphertext reveals nothing
   * about which keys exist; the audit record keeps the reason (details.ciphertextRefusal).
   */
  async decrypt(access: KeyAccessCheck, ciphertextRaw: unknown, aadRaw: unknown, facts: OperationFacts = {}, field = 'ciphertext', aadField = 'aad'): Promise<DecryptResult> {
    const ciphertext = validateCiphertextBytes(ciphertextRaw, field);
    const aad = validateAad(aadRaw, aadField);
    let parsed: ReturnType<typeof decodeCiphertext>;
    try {
      parsed = decodeCiphertext(ciphertext, field);
    } catch (e) {
      if (e instanceof CiphertextFormatError) throw undecryptable(facts, field, e.problem);
      throw e;
    }
    const { header, headerBytes, body } = parsed;
    facts.keyId = header.keyId;
    facts.keyVersion = header.version;
    let state: ExistingKeyState | undefined = this.catalog.held(header.keyId);
    if (!state) {
      try {
        state = await this.catalog.get(header.keyId);
      } catch (e) {
        if (e instanceof KmsError && e.code === 'KEY_NOT_FOUND') throw undecryptable(facts, field, 'KEY_NOT_FOUND');
        throw e;
      }
    }
    try {
      access.check(state, PERMISSION_FOR.DECRYPT);
    } catch (e) {
      if (e instanceof KmsError && e.code === 'PERMISSION_DENIED') throw undecryptable(facts, field, 'NO_DECRYPT_GRANT');
      throw e;
    }
    let v: KeyVersion;
    try {
      v = versionForOperation(state, 'DECRYPT', header.version, this.clock.now());
    } catch (e) {
      if (e instanceof KmsError && e.code === 'KEY_VERSION_NOT_FOUND') throw undecryptable(facts, field, 'KEY_VERSION_NOT_FOUND');
      throw e;
    }
    const check = this.breakGlassCheck(state, v);
    if (check) await check;
    let plaintext: Buffer;
    try {
      plaintext = await this.backend(v).decrypt(this.handle(state, v), body, gcmAad(headerBytes, aad));
    } catch (e) {
      if (e instanceof KmsError && e.code === 'INVALID_CIPHERTEXT') throw undecryptable(facts, field, 'AUTHENTICATION_FAILED');
      throw e;
    }
    facts.details = { plaintextBytes: plaintext.length, aadBytes: aad.length };
    return { plaintext, keyId: header.keyId, keyVersion: header.version, purpose: state.key.purpose, tenant: state.key.tenant, jurisdiction: state.key.jurisdiction };
  }

  /** Decrypt and encrypt under the destination key's primary version without the plaintext leaving the service. */
  async reEncrypt(
    access: KeyAccessCheck,
    ciphertext: unknown,
    sourceAad: unknown,
    destinationKeyId: unknown,
    destinationAad: unknown,
    facts: OperationFacts = {},
  ): Promise<ReEncryptResult> {
    const source = await this.decrypt(access, ciphertext, sourceAad, facts, 'ciphertext', 'source_aad');
    try {
      const destFacts: OperationFacts = {};
      const dest =
        destinationKeyId === undefined || destinationKeyId === null || destinationKeyId === ''
          ? source.keyId
          : destinationKeyId;
      const aad = validateAad(destinationAad, 'destination_aad');
      const { state, v, h, backend } = await this.use(access, dest, 'ENCRYPT', destFacts, undefined, 'destination_key_id');
      // Residency: plaintext of a key of one jurisdiction goes under a key of another only where the tenant's rule allows it.
      const from = source.jurisdiction;
      const to = state.key.jurisdiction;
      const crossing = from === to ? undefined : { fromJurisdiction: from, toJurisdiction: to };
      if (crossing) {
        facts.details = { sourceKeyId: source.keyId, sourceKeyVersion: source.keyVersion, destinationKeyId: state.key.keyId, ...crossing, residency: 'refused' };
        await (this.residency ?? NO_RESIDENCY_RULES).crossing(source.tenant, from, to, 'destination_key_id');
      }
      const out = await this.seal(state, v, h, backend, source.plaintext, aad);
      facts.details = {
        sourceKeyId: source.keyId,
        sourceKeyVersion: source.keyVersion,
        destinationKeyId: out.keyId,
        destinationKeyVersion: out.keyVersion,
        // An allowed crossing is audited as such, naming both jurisdictions.
        ...(crossing ? { ...crossing, residency: 'allowed-crossing' } : {}),
      };
      // The ciphertext moves: released from its DATA_PROTECTION version, tracked under the new one.
      if (source.purpose === 'DATA_PROTECTION') facts.ciphertexts = { released: ciphertextRef(validateCiphertextBytes(ciphertext)) };
      trackIssued(state, out, facts);
      return { ...out, sourceKeyId: source.keyId, sourceKeyVersion: source.keyVersion };
    } finally {
      source.plaintext.fill(0);
    }
  }

  async generateDataKey(
    access: KeyAccessCheck,
    keyId: unknown,
    aadRaw: unknown,
    lengthRaw: unknown,
    withoutPlaintext: boolean,
    facts: OperationFacts = {},
  ): Promise<EncryptResult & { plaintext?: Buffer }> {
    const aad = validateAad(aadRaw);
    const length = lengthRaw === undefined || lengthRaw === 0 ? 32 : lengthRaw;
    if (typeof length !== 'number' || !Number.isInteger(length) || length < API_LIMITS.minDataKeyBytes || length > API_LIMITS.maxDataKeyBytes) {
      throw invalidArgument('length_bytes', `must be from ${API_LIMITS.minDataKeyBytes} to ${API_LIMITS.maxDataKeyBytes}`);
    }
    const { state, v, h, backend } = await this.use(access, keyId, 'GENERATE_DATA_KEY', facts);
    const dataKey = randomBytes(length);
    const sealed = await this.seal(state, v, h, backend, dataKey, aad);
    facts.details = { dataKeyBytes: length, withoutPlaintext };
    trackIssued(state, sealed, facts);
    if (withoutPlaintext) {
      dataKey.fill(0);
      return sealed;
    }
    return { ...sealed, plaintext: dataKey };
  }

  /**
   * A data key pair (EC P-256, RSA-3072 or X-Wing) made here and handed out: the public key, the private key
   * (PKCS#8 DER) sealed under the key's primary version like any ciphertext (Decrypt opens it), and
   * the private key itself unless `withoutPlaintext`. Needs GENERATE_DATA_KEY on the key.
   */
  async generateDataKeyPair(
    access: KeyAccessCheck,
    keyId: unknown,
    aadRaw: unknown,
    specRaw: unknown,
    withoutPlaintext: boolean,
    facts: OperationFacts = {},
  ): Promise<EncryptResult & { keyPairSpec: DataKeyPairSpec; publicKeySpki: Buffer; privateKeyPlaintext?: Buffer }> {
    const aad = validateAad(aadRaw);
    const spec = DATA_KEY_PAIR_SPECS.find((s) => s === specRaw);
    if (spec === undefined) throw invalidArgument('key_pair_spec', `must be one of ${DATA_KEY_PAIR_SPECS.join(', ')}`);
    const { state, v, h, backend } = await this.use(access, keyId, 'GENERATE_DATA_KEY', facts);
    const pair = await generateDataKeyPairMaterial(spec);
    let sealed: EncryptResult;
    try {
      sealed = await this.seal(state, v, h, backend, pair.privateKeyPkcs8, aad);
    } catch (e) {
      pair.privateKeyPkcs8.fill(0);
      throw e;
    }
    facts.details = { keyPairSpec: spec, withoutPlaintext, publicKeySha256: createHash('sha256').update(pair.publicKeySpki).digest('hex') };
    trackIssued(state, sealed, facts);
    if (withoutPlaintext) {
      pair.privateKeyPkcs8.fill(0);
      return { ...sealed, keyPairSpec: spec, publicKeySpki: pair.publicKeySpki };
    }
    return { ...sealed, keyPairSpec: spec, publicKeySpki: pair.publicKeySpki, privateKeyPlaintext: pair.privateKeyPkcs8 };
  }

  private signInput(message: unknown, digest: unknown): SignInput {
    const hasMessage = message !== undefined && message !== null;
    const hasDigest = digest !== undefined && digest !== null;
    if (hasMessage === hasDigest) throw invalidArgument('message', 'give exactly one of message or digest');
    if (hasDigest) return { digest: validateBytes(digest, 'digest', 32, 32) };
    return { message: validateBytes(message, 'message', API_LIMITS.maxMessageBytes, 1) };
  }

  async sign(access: KeyAccessCheck, keyId: unknown, message: unknown, digest: unknown, facts: OperationFacts = {}) {
    const input = this.signInput(message, digest);
    const { state, v, h, backend } = await this.use(access, keyId, 'SIGN', facts);
    const signature = await backend.sign(h, input);
    return { signature, keyId: state.key.keyId, keyVersion: v.version, algorithm: v.algorithm };
  }

  async verify(access: KeyAccessCheck, keyId: unknown, version: unknown, message: unknown, digest: unknown, signatureRaw: unknown, facts: OperationFacts = {}) {
    const input = this.signInput(message, digest);
    const signature = validateBytes(signatureRaw, 'signature', MAX_SIGNATURE_BYTES, 1);
    const { state, v, h, backend } = await this.use(access, keyId, 'VERIFY', facts, optionalVersion(version));
    const valid = await backend.verify(h, input, signature);
    facts.details = { valid };
    return { valid, keyId: state.key.keyId, keyVersion: v.version };
  }

  async getPublicKey(access: KeyAccessCheck, keyId: unknown, version: unknown, facts: OperationFacts = {}): Promise<PublicKeyResult> {
    const { state, v, h, backend } = await this.use(access, keyId, 'GET_PUBLIC_KEY', facts, optionalVersion(version));
    const der = await backend.getPublicKey(h);
    const kid = `${state.key.keyId}:${v.version}`;
    return {
      keyId: state.key.keyId,
      keyVersion: v.version,
      algorithm: v.algorithm,
      pem: spkiPem(der),
      jwk: publicJwk(v.algorithm, der, kid),
      fingerprint: createHash('sha256').update(der).digest('hex'),
    };
  }

  /** RSA-OAEP-SHA256 decryption of a ciphertext made offline with the key's public key (default: primary version). */
  async asymmetricDecrypt(access: KeyAccessCheck, keyId: unknown, version: unknown, ciphertextRaw: unknown, facts: OperationFacts = {}) {
    const ciphertext = validateBytes(ciphertextRaw, 'ciphertext', 512, 1);
    const { state, v, h, backend } = await this.use(access, keyId, 'ASYMMETRIC_DECRYPT', facts, optionalVersion(version));
    const plaintext = await backend.asymmetricDecrypt(h, ciphertext);
    facts.details = { plaintextBytes: plaintext.length };
    return { plaintext, keyId: state.key.keyId, keyVersion: v.version };
  }

  /** ML-KEM decapsulation of a ciphertext made offline with the key's public key: the shared secret. */
  async decapsulate(access: KeyAccessCheck, keyId: unknown, version: unknown, ciphertextRaw: unknown, facts: OperationFacts = {}) {
    const ciphertext = validateBytes(ciphertextRaw, 'ciphertext', 2048, 1);
    const { state, v, h, backend } = await this.use(access, keyId, 'DECAPSULATE', facts, optionalVersion(version));
    const sharedSecret = await backend.decapsulate(h, ciphertext);
    return { sharedSecret, keyId: state.key.keyId, keyVersion: v.version };
  }

  async generateMac(access: KeyAccessCheck, keyId: unknown, dataRaw: unknown, facts: OperationFacts = {}) {
    const data = validateBytes(dataRaw, 'data', API_LIMITS.maxMessageBytes, 1);
    const { state, v, h, backend } = await this.use(access, keyId, 'MAC', facts);
    return { mac: await backend.mac(h, data), keyId: state.key.keyId, keyVersion: v.version };
  }

  async verifyMac(access: KeyAccessCheck, keyId: unknown, version: unknown, dataRaw: unknown, macRaw: unknown, facts: OperationFacts = {}) {
    const data = validateBytes(dataRaw, 'data', API_LIMITS.maxMessageBytes, 1);
    const mac = validateBytes(macRaw, 'mac', 64, 1);
    const { state, v, h, backend } = await this.use(access, keyId, 'VERIFY_MAC', facts, optionalVersion(version));
    const valid = await backend.verifyMac(h, data, mac);
    facts.details = { valid };
    return { valid, keyId: state.key.keyId, keyVersion: v.version };
  }

  generateRandom(lengthRaw: unknown, facts: OperationFacts = {}): Buffer {
    if (typeof lengthRaw !== 'number' || !Number.isInteger(lengthRaw) || lengthRaw < 1 || lengthRaw > API_LIMITS.maxRandomBytes) {
      throw invalidArgument('length_bytes', `must be from 1 to ${API_LIMITS.maxRandomBytes}`);
    }
    facts.details = { lengthBytes: lengthRaw };
    return randomBytes(lengthRaw);
  }
}

/** Why a ciphertext could not be decrypted for its caller: kept in the audit record, never answered. */
export type CiphertextRefusal = CiphertextFormatProblem | 'KEY_NOT_FOUND' | 'NO_DECRYPT_GRANT' | 'KEY_VERSION_NOT_FOUND' | 'AUTHENTICATION_FAILED';

/** The one message for every ciphertext that cannot be decrypted (README "Ciphertext format"). */
export function undecryptableMessage(field: string): string {
  return `${field}: cannot be decrypted: it was altered or not made by this KMS, the aad differs, or it names a key this caller may not use for DECRYPT`;
}

/**
 * The answer for a ciphertext that cannot be decrypted: the same code, message and field for every
 * reason. A missing DECRYPT grant is audited as DENIED (it counts towards refused bursts); damaged
 * or forged bytes are a FAILURE (malformed input, never a reason to contain the caller).
 */
/** A missing key, for a caller who must not learn which keys exist, is refused as one they may not use. */
function hiddenIfMissing(access: KeyAccessCheck, op: KeyOperation, e: unknown): unknown {
  if (!(e instanceof KmsError && e.code === 'KEY_NOT_FOUND' && access.hidesMissingKeys)) return e;
  try {
    access.check(undefined, PERMISSION_FOR[op]);
  } catch (refusal) {
    return refusal;
  }
  return e;
}

/** Errors about the key name the field the caller used for it (e.g. destination_key_id). */
function namingField(e: unknown, field: string): unknown {
  return e instanceof KmsError && e.field === 'key_id' && field !== 'key_id' ? new KmsError(e.code, e.message, field) : e;
}

function undecryptable(facts: OperationFacts, field: string, reason: CiphertextRefusal): KmsError<'INVALID_CIPHERTEXT'> {
  facts.details = { ...facts.details, ciphertextRefusal: reason };
  const message = undecryptableMessage(field);
  return reason === 'NO_DECRYPT_GRANT' ? new AccessRefusedError('INVALID_CIPHERTEXT', message, field) : new KmsError('INVALID_CIPHERTEXT', message, field);
}

/** DATA_PROTECTION versions are retired only once what they handed out was re-encrypted: name it in the audit record. */
function trackIssued(state: ExistingKeyState, out: { ciphertext: Buffer; keyId: string; keyVersion: number }, facts: OperationFacts): void {
  if (state.key.purpose !== 'DATA_PROTECTION') return;
  facts.ciphertexts = { ...facts.ciphertexts, handedOut: { ref: ciphertextRef(out.ciphertext), keyId: out.keyId, version: out.keyVersion } };
}

/** PEM of a DER SubjectPublicKeyInfo. */
export function spkiPem(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN PUBLIC KEY-----\n${lines.join('\n')}\n-----END PUBLIC KEY-----\n`;
}

/** Bytes of the AlgorithmIdentifier and BIT STRING header in front of an ML-DSA-65 public key (22-byte prefix, RFC 9881). */
const ML_DSA_65_SPKI_PREFIX = 22;

/**
 * The JWK of a public key. ML-DSA-65 uses the AKP key type of RFC 9964 (ML-DSA for JOSE, formerly
 * draft-ietf-cose-dilithium): {kty: "AKP", alg: "ML-DSA-65", pub}. ML-KEM has no settled JOSE form: empty.
 */
export function publicJwk(algorithm: Algorithm, der: Buffer, kid: string): string {
  if (algorithm === 'ML_KEM_768') return '';
  if (algorithm === 'ML_DSA_65') {
    return JSON.stringify({ kty: 'AKP', alg: 'ML-DSA-65', pub: der.subarray(ML_DSA_65_SPKI_PREFIX).toString('base64url'), kid, use: 'sig' });
  }
  const key = createPublicKey({ key: der, format: 'der', type: 'spki' });
  const use = algorithm === 'RSA_OAEP_3072_SHA256' ? 'enc' : 'sig';
  return JSON.stringify({ ...key.export({ format: 'jwk' }), kid, use, alg: jwsAlg(algorithm) });
}

function jwsAlg(a: Algorithm): string {
  switch (a) {
    case 'ECDSA_P256_SHA256':
      return 'ES256';
    case 'ED25519':
      return 'EdDSA';
    case 'RSA_PSS_3072_SHA256':
      return 'PS256';
    case 'RSA_OAEP_3072_SHA256':
      return 'RSA-OAEP-256';
    default:
      return 'none';
  }
}
