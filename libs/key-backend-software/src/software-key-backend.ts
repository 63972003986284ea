import {
  IMPORT_PARAMETERS_VALIDITY_MS,
  assertImportParametersFresh,
  type CeremonyKeyStore,
  type CreatedVersionMaterial,
  type EscrowCeremonyKey,
  type ImportParametersRecord,
  type ImportParametersStore,
  type ImportVersionRequest,
  type ImportWrappingKey,
  type KeyBackend,
  type KeyMaterialStore,
  type SignInput,
  type VersionHandle,
  type WrappedMaterialRecord,
} from '@kms/application';
import {
  ALGORITHMS,
  ALGORITHM_USAGE,
  GCM_IV_LENGTH,
  GCM_TAG_LENGTH,
  DEFAULT_JURISDICTION,
  KmsError,
  invalidArgument,
  isUuid,
  type Algorithm,
  type KeyUsage,
} from '@kms/domain';
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createHmac,
  createPrivateKey,
  generateKeyPairSync,
  privateDecrypt,
  randomUUID,
  sign,
  timingSafeEqual,
  verify,
  type KeyObject,
  type SignKeyObjectInput,
  type VerifyKeyObjectInput,
} from 'node:crypto';
import { generateMaterial, importMaterial, isSecretAlgorithm, materialAad, publicKeyFingerprint, type LoadedMaterial, type MaterialBinding } from './key-material';
import { importParametersAad, unwrapImportedMaterial } from './key-import';
import { InMemoryImportParametersStore } from './in-memory-import-parameters-store';
import { InMemoryCeremonyKeyStore } from './in-memory-ceremony-key-store';
import { RandomIvs } from './random-ivs';
import { LruCache } from './lru-cache';
import { ML_KEM_768_CIPHERTEXT_LENGTH, mlDsaSign, mlDsaVerify, mlKemDecapsulate } from './post-quantum';
import type { MasterKey } from './master-key';
import { signEcdsaP256Digest, signRsaPssDigest, verifyEcdsaP256Digest, verifyRsaPssDigest } from './prehash-signer';

/** What GetImportParameters names for software keys (AWS: RSA_AES_KEY_WRAP_SHA_256; PKCS#11: CKM_RSA_AES_KEY_WRAP). */
const SOFTWARE_WRAPPING_ALGORITHM = 'RSA_OAEP_3072_SHA256_AES_256_KWP';

/** Unwrapped versions kept in memory by default. */
export const DEFAULT_MATERIAL_CACHE_SIZE = 1_000;

const SHA256_LENGTH = 32;
const PSS_SALT_LENGTH = 32;
const SUPPORTED: ReadonlySet<string> = new Set<string>(ALGORITHMS);

export interface SoftwareKeyBackendOptions {
  store: KeyMaterialStore;
  masterKey: MasterKey;
  /** The jurisdiction of `masterKey` (docs/jurisdictions.md). Default `default`. */
  masterKeyJurisdiction?: string;
  /** The master keys of other jurisdictions: a key's material is wrapped under its jurisdiction's. */
  jurisdictionMasterKeys?: ReadonlyMap<string, MasterKey>;
  /** BYOK import parameters (PostgreSQL in the services). Default: in memory, for tests. */
  importParameters?: ImportParametersStore;
  /** Break-glass escrow: wrapped ceremony keys of open reconstructions (PostgreSQL in the services). Default: in memory, for tests. */
  ceremonyKeys?: CeremonyKeyStore;
  /** Most unwrapped versions kept in memory (LRU). Default 1,000. */
  cacheSize?: number;
  /** Clock for the records' created_at. */
  now?: () => Date;
}

interface CacheEntry {
  /** The handle fields the material was unwrapped for; a handle that differs must not reuse it. */
  binding: string;
  material: LoadedMaterial;
}

type SecretMaterial = Extract<LoadedMaterial, { kind: 'secret' }>;
type AsymmetricMaterial = Extract<LoadedMaterial, { kind: 'asymmetric' }>;
type PostQuantumMaterial = Extract<LoadedMaterial, { kind: 'post-quantum' }>;

/** What a ceremony key is wrapped bound to: moved to another reconstruction or key, it does not unwrap. */
function ceremonyKeyAad(r: { reconstructionId: string; keyId: string; version: number }): Buffer {
  return Buffer.from(`open-kms/escrow-ceremony-key/v1\0${r.reconstructionId}\0${r.keyId}\0${r.version}`, 'utf8');
}

function bindingOf(h: VersionHandle): string {
  return `${h.keyId}\0${h.version}\0${h.algorithm}`;
}

function storeUnavailable(cause: unknown): KmsError<'BACKEND_UNAVAILABLE'> {
  const err = new KmsError('BACKEND_UNAVAILABLE', 'key material store unavailable');
  err.cause = cause;
  return err;
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

const OPERATION_WORDS: Record<KeyUsage, string> = {
  ENCRYPT_DECRYPT: 'encryption',
  MAC: 'MACs',
  SIGN_VERIFY: 'signatures',
  ASYMMETRIC_DECRYPT: 'asymmetric decryption',
  KEY_ENCAPSULATION: 'key encapsulation',
};
const RSA_CIPHERTEXT_LENGTH = 384;
/** What imported material must be, per algorithm family (README "Bring your own key"). */
const MATERIAL_FORMAT = '32 raw bytes for AES/HMAC, PKCS#8 DER for EC/Ed25519/RSA, the seed for ML-DSA (32 bytes) and ML-KEM (64 bytes)';

function requireUsage(h: VersionHandle, usage: KeyUsage, operation: string): void {
  const actual = ALGORITHM_USAGE[h.algorithm] as KeyUsage | undefined;
  if (actual !== usage) {
    const purpose = actual ? `is for ${OPERATION_WORDS[actual]}` : 'has an unknown algorithm';
    throw new KmsError('USAGE_MISMATCH', `key version ${h.version} (${String(h.algorithm)}) ${purpose}; it cannot ${operation}`);
  }
}

/** Validate a digest input before any material is touched; returns the algorithm that can sign it. */
function digestAlgorithm(algorithm: Algorithm, digest: Buffer): 'ECDSA_P256_SHA256' | 'RSA_PSS_3072_SHA256' {
  if (algorithm !== 'ECDSA_P256_SHA256' && algorithm !== 'RSA_PSS_3072_SHA256') {
    throw invalidArgument('digest', 'Ed25519 signs messages, not digests; send the message itself');
  }
  if (digest.length !== SHA256_LENGTH) {
    throw invalidArgument('digest', `must be a SHA-256 digest of exactly ${SHA256_LENGTH} bytes, got ${digest.length}`);
  }
  return algorithm;
}

function oaepKey(key: KeyObject): { key: KeyObject; padding: number; oaepHash: string } {
  return { key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' };
}

function assertNever(value: never): never {
  throw new Error(`unexpected algorithm ${String(value)}`);
}

function signAsync(algorithm: string | null, data: Buffer, key: KeyObject | SignKeyObjectInput): Promise<Buffer> {
  // The callback form runs on the libuv pool, so an RSA-3072 signature does not block other requests.
  return new Promise((resolve, reject) => sign(algorithm, data, key, (err, signature) => (err ? reject(err) : resolve(signature))));
}

function verifyAsync(algorithm: string | null, data: Buffer, key: KeyObject | VerifyKeyObjectInput, signature: Buffer): Promise<boolean> {
  // A signature OpenSSL cannot even parse does not verify; that is an answer, not an error.
  return new Promise((resolve) => {
    try {
      verify(algorithm, data, key, signature, (err, ok) => resolve(!err && ok));
    } catch {
      resolve(false);
    }
  });
}

function pssKey(key: KeyObject): SignKeyObjectInput {
  return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: PSS_SALT_LENGTH };
}

/**
 * Key backend that keeps material in software: generated with node:crypto, wrapped under the master
 * key (AES-256-GCM, bound to material id, key id, version and algorithm), stored through a
 * KeyMaterialStore, and cached unwrapped (as KeyObjects) in a bounded LRU so hot paths do no I/O.
 */
export class SoftwareKeyBackend implements KeyBackend {
  readonly protectionLevel = 'SOFTWARE' as const;
  private readonly store: KeyMaterialStore;
  private readonly masterKey: MasterKey;
  private readonly masterKeyJurisdiction: string;
  /** Every master key by jurisdiction (to wrap) and by key id (to unwrap what any of them wrapped). */
  private readonly byJurisdiction: ReadonlyMap<string, MasterKey>;
  private readonly byKekId: ReadonlyMap<string, MasterKey>;
  private readonly importParameters: ImportParametersStore;
  private readonly ceremonyKeys: CeremonyKeyStore;
  private readonly now: () => Date;
  private readonly cache: LruCache<string, CacheEntry>;
  private readonly ivs = new RandomIvs(GCM_IV_LENGTH);
  /** One store read per material however many callers miss the cache at once. */
  private readonly loading = new Map<string, Promise<CacheEntry>>();

  constructor(options: SoftwareKeyBackendOptions) {
    this.store = options.store;
    this.masterKey = options.masterKey;
    this.masterKeyJurisdiction = options.masterKeyJurisdiction ?? DEFAULT_JURISDICTION;
    this.byJurisdiction = new Map([[this.masterKeyJurisdiction, options.masterKey], ...(options.jurisdictionMasterKeys ?? new Map())]);
    this.byKekId = new Map([...this.byJurisdiction.values()].map((k) => [k.kekId, k]));
    this.importParameters = options.importParameters ?? new InMemoryImportParametersStore();
    this.ceremonyKeys = options.ceremonyKeys ?? new InMemoryCeremonyKeyStore();
    this.now = options.now ?? (() => new Date());
    this.cache = new LruCache(options.cacheSize ?? DEFAULT_MATERIAL_CACHE_SIZE);
  }

  supports(algorithm: Algorithm): boolean {
    return SUPPORTED.has(algorithm);
  }

  jurisdictions(): readonly string[] {
    return [...this.byJurisdiction.keys()];
  }

  /** The master key of a jurisdiction (none given: the primary one); INVALID_ARGUMENT naming `jurisdiction` when none is configured. */
  private masterKeyOf(jurisdiction: string | undefined): MasterKey {
    if (jurisdiction === undefined) return this.masterKey;
    const key = this.byJurisdiction.get(jurisdiction);
    if (key) return key;
    // A key made before jurisdictions existed is `default`: it stays under the master key it always had.
    if (jurisdiction === DEFAULT_JURISDICTION) return this.masterKey;
    throw invalidArgument('jurisdiction', `no master key is configured for jurisdiction "${jurisdiction}" (${this.jurisdictions().join(', ')})`);
  }

  async createVersion(req: { keyId: string; version: number; algorithm: Algorithm; jurisdiction?: string }): Promise<CreatedVersionMaterial> {
    if (!this.supports(req.algorithm)) {
      throw new KmsError('UNSUPPORTED_ALGORITHM', `algorithm: ${String(req.algorithm)} is not supported by the software backend`, 'algorithm');
    }
    if (!isUuid(req.keyId)) throw invalidArgument('key_id', 'must be a UUID');
    if (!Number.isInteger(req.version) || req.version < 1 || req.version > 0xffff_ffff) {
      throw invalidArgument('version', 'must be a whole number from 1 to 4294967295');
    }
    const masterKey = this.masterKeyOf(req.jurisdiction);
    const generated = await generateMaterial(req.algorithm);
    const materialRef = await this.keep(req, generated.plaintext, masterKey);
    return generated.spki ? { materialRef, publicKeyFingerprint: publicKeyFingerprint(generated.spki) } : { materialRef };
  }

  /** BYOK: an RSA-3072 wrapping key pair, its private key wrapped under the master key in an import-parameters record. */
  async createImportWrappingKey(req: { keyId: string }): Promise<ImportWrappingKey> {
    if (!isUuid(req.keyId)) throw invalidArgument('key_id', 'must be a UUID');
    const generated = await generateMaterial('RSA_OAEP_3072_SHA256');
    const createdAt = this.now();
    const token = randomUUID();
    let wrapped: Buffer;
    try {
      wrapped = this.masterKey.wrap(generated.plaintext, importParametersAad(token, req.keyId));
    } finally {
      generated.plaintext.fill(0);
    }
    const expiresAt = new Date(createdAt.getTime() + IMPORT_PARAMETERS_VALIDITY_MS);
    try {
      await this.importParameters.put({ token, keyId: req.keyId, kekId: this.masterKey.kekId, wrapped, createdAt, expiresAt });
    } catch (e) {
      throw storeUnavailable(e);
    }
    return { wrappingKeyRef: token, publicKeySpki: generated.spki ?? Buffer.alloc(0), createdAt, wrappingAlgorithm: SOFTWARE_WRAPPING_ALGORITHM };
  }

  /**
   * BYOK: open the wrapped material with the wrapping key, check it, and keep it wrapped under the master
   * key. The import token is spent by a successful import only, so a customer who wrapped wrongly may retry.
   */
  async importVersion(req: ImportVersionRequest): Promise<CreatedVersionMaterial> {
    if (!this.supports(req.algorithm)) {
      throw new KmsError('UNSUPPORTED_ALGORITHM', `algorithm: ${String(req.algorithm)} is not supported by the software backend`, 'algorithm');
    }
    if (!isUuid(req.keyId)) throw invalidArgument('key_id', 'must be a UUID');
    const masterKey = this.masterKeyOf(req.jurisdiction);
    let record: ImportParametersRecord | undefined;
    try {
      record = isUuid(req.wrappingKeyRef) ? await this.importParameters.get(req.wrappingKeyRef) : undefined;
    } catch (e) {
      throw storeUnavailable(e);
    }
    if (!record || record.keyId !== req.keyId) {
      throw invalidArgument('import_token', 'names no import parameters of this key; get new ones with GetImportParameters');
    }
    if (record.usedAt) throw invalidArgument('import_token', 'has been used already (import tokens are single use); get new ones with GetImportParameters');
    assertImportParametersFresh(record.createdAt, this.now());
    if (record.kekId !== this.masterKey.kekId) throw invalidArgument('import_token', 'was issued under a different master key; get new ones with GetImportParameters');
    const wrappingPkcs8 = this.masterKey.unwrap(record.wrapped, importParametersAad(record.token, record.keyId));
    if (!wrappingPkcs8) throw invalidArgument('import_token', 'names import parameters that failed their integrity check; get new ones with GetImportParameters');
    let wrappingPrivateKey: KeyObject;
    try {
      wrappingPrivateKey = createPrivateKey({ key: wrappingPkcs8, format: 'der', type: 'pkcs8' });
    } finally {
      wrappingPkcs8.fill(0);
    }
    const material = unwrapImportedMaterial(wrappingPrivateKey, req.wrappedMaterial);
    let spki: Buffer | undefined;
    try {
      const loaded = importMaterial(req.algorithm, material);
      spki = loaded.kind === 'secret' ? undefined : loaded.spki;
    } catch {
      material.fill(0);
      throw invalidArgument('wrapped_key_material', `does not hold ${req.algorithm} material (${MATERIAL_FORMAT})`);
    }
    let spent: boolean;
    try {
      spent = await this.importParameters.markUsed(record.token, this.now());
    } catch (e) {
      material.fill(0);
      throw storeUnavailable(e);
    }
    if (!spent) {
      material.fill(0);
      throw invalidArgument('import_token', 'has been used already (import tokens are single use); get new ones with GetImportParameters');
    }
    const materialRef = await this.keep(req, material, masterKey);
    return spki ? { materialRef, publicKeyFingerprint: publicKeyFingerprint(spki) } : { materialRef };
  }

  /** Wrap `plaintext` under `masterKey` (the key's jurisdiction's), bound to a new material id and the version; store it; zero `plaintext`. */
  private async keep(req: { keyId: string; version: number; algorithm: Algorithm }, plaintext: Buffer, masterKey: MasterKey, createdAt = this.now()): Promise<string> {
    const binding: MaterialBinding = { materialId: randomUUID(), keyId: req.keyId, version: req.version, algorithm: req.algorithm };
    let wrapped: Buffer;
    try {
      wrapped = masterKey.wrap(plaintext, materialAad(binding));
    } finally {
      plaintext.fill(0);
    }
    try {
      await this.store.put({ ...binding, kekId: masterKey.kekId, wrapped, createdAt });
    } catch (e) {
      throw storeUnavailable(e);
    }
    return binding.materialId;
  }

  async encrypt(h: VersionHandle, plaintext: Buffer, aad: Buffer): Promise<Buffer> {
    requireUsage(h, 'ENCRYPT_DECRYPT', 'encrypt');
    const { key } = await this.secret(h);
    const iv = this.ivs.next();
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: GCM_TAG_LENGTH });
    cipher.setAAD(aad);
    return Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  }

  async decrypt(h: VersionHandle, body: Buffer, aad: Buffer): Promise<Buffer> {
    requireUsage(h, 'ENCRYPT_DECRYPT', 'decrypt');
    if (body.length < GCM_IV_LENGTH + GCM_TAG_LENGTH) {
      throw new KmsError('INVALID_CIPHERTEXT', 'ciphertext: too short to hold an IV and an authentication tag', 'ciphertext');
    }
    const { key } = await this.secret(h);
    const decipher = createDecipheriv('aes-256-gcm', key, body.subarray(0, GCM_IV_LENGTH), { authTagLength: GCM_TAG_LENGTH });
    decipher.setAAD(aad);
    decipher.setAuthTag(body.subarray(body.length - GCM_TAG_LENGTH));
    const head = decipher.update(body.subarray(GCM_IV_LENGTH, body.length - GCM_TAG_LENGTH));
    let tail: Buffer;
    try {
      tail = decipher.final();
    } catch {
      // GCM hands out plaintext before checking the tag; do not leave unauthenticated bytes around.
      head.fill(0);
      throw authenticationFailed();
    }
    return tail.length === 0 ? head : Buffer.concat([head, tail]);
  }

  async sign(h: VersionHandle, input: SignInput): Promise<Buffer> {
    requireUsage(h, 'SIGN_VERIFY', 'sign');
    const prehashed = 'digest' in input ? digestAlgorithm(h.algorithm, input.digest) : undefined;
    if (h.algorithm === 'ML_DSA_65') return mlDsaSign(await this.postQuantum(h), (input as { message: Buffer }).message);
    const m = await this.asymmetric(h);
    if ('digest' in input) {
      return prehashed === 'ECDSA_P256_SHA256' ? signEcdsaP256Digest(m.privateKey, input.digest) : signRsaPssDigest(m.privateKey, input.digest);
    }
    switch (m.algorithm) {
      case 'ECDSA_P256_SHA256':
        return signAsync('sha256', input.message, m.privateKey);
      case 'RSA_PSS_3072_SHA256':
        return signAsync('sha256', input.message, pssKey(m.privateKey));
      case 'ED25519':
        return signAsync(null, input.message, m.privateKey);
      case 'RSA_OAEP_3072_SHA256':
        throw unusable(h, 'is an encryption key pair');
      default:
        return assertNever(m.algorithm);
    }
  }

  async verify(h: VersionHandle, input: SignInput, signature: Buffer): Promise<boolean> {
    requireUsage(h, 'SIGN_VERIFY', 'verify signatures');
    const prehashed = 'digest' in input ? digestAlgorithm(h.algorithm, input.digest) : undefined;
    if (h.algorithm === 'ML_DSA_65') return mlDsaVerify((await this.postQuantum(h)).publicKey, (input as { message: Buffer }).message, signature);
    const m = await this.asymmetric(h);
    if ('digest' in input) {
      return prehashed === 'ECDSA_P256_SHA256'
        ? verifyEcdsaP256Digest(m.publicKey, input.digest, signature)
        : verifyRsaPssDigest(m.publicKey, input.digest, signature);
    }
    switch (m.algorithm) {
      case 'ECDSA_P256_SHA256':
        return verifyAsync('sha256', input.message, m.publicKey, signature);
      case 'RSA_PSS_3072_SHA256':
        return verifyAsync('sha256', input.message, pssKey(m.publicKey), signature);
      case 'ED25519':
        return verifyAsync(null, input.message, m.publicKey, signature);
      case 'RSA_OAEP_3072_SHA256':
        throw unusable(h, 'is an encryption key pair');
      default:
        return assertNever(m.algorithm);
    }
  }

  async mac(h: VersionHandle, data: Buffer): Promise<Buffer> {
    requireUsage(h, 'MAC', 'compute MACs');
    const { key } = await this.secret(h);
    return createHmac('sha256', key).update(data).digest();
  }

  async verifyMac(h: VersionHandle, data: Buffer, mac: Buffer): Promise<boolean> {
    requireUsage(h, 'MAC', 'verify MACs');
    const { key } = await this.secret(h);
    const expected = createHmac('sha256', key).update(data).digest();
    // The length of an HMAC-SHA256 is public; only the comparison of equal lengths must be constant-time.
    return mac.length === expected.length && timingSafeEqual(expected, mac);
  }

  async getPublicKey(h: VersionHandle): Promise<Buffer> {
    if (ALGORITHM_USAGE[h.algorithm] === 'ENCRYPT_DECRYPT' || ALGORITHM_USAGE[h.algorithm] === 'MAC') {
      throw new KmsError('USAGE_MISMATCH', `key version ${h.version} (${h.algorithm}) is a secret key; it has no public key`);
    }
    const m = await this.material(h);
    if (m.kind === 'secret') throw unusable(h, 'is not a key pair');
    return Buffer.from(m.spki);
  }

  async asymmetricDecrypt(h: VersionHandle, ciphertext: Buffer): Promise<Buffer> {
    requireUsage(h, 'ASYMMETRIC_DECRYPT', 'decrypt asymmetrically');
    if (ciphertext.length !== RSA_CIPHERTEXT_LENGTH) {
      throw new KmsError('INVALID_CIPHERTEXT', `ciphertext: an RSA-3072 OAEP ciphertext has exactly ${RSA_CIPHERTEXT_LENGTH} bytes`, 'ciphertext');
    }
    const m = await this.asymmetric(h);
    try {
      return privateDecrypt(oaepKey(m.privateKey), ciphertext);
    } catch {
      throw new KmsError('INVALID_CIPHERTEXT', 'ciphertext: does not decrypt under this key version with RSA-OAEP-SHA256', 'ciphertext');
    }
  }

  async decapsulate(h: VersionHandle, ciphertext: Buffer): Promise<Buffer> {
    requireUsage(h, 'KEY_ENCAPSULATION', 'decapsulate');
    if (ciphertext.length !== ML_KEM_768_CIPHERTEXT_LENGTH) {
      throw new KmsError('INVALID_CIPHERTEXT', `ciphertext: an ML-KEM-768 ciphertext has exactly ${ML_KEM_768_CIPHERTEXT_LENGTH} bytes`, 'ciphertext');
    }
    return mlKemDecapsulate(await this.postQuantum(h), ciphertext);
  }

  async destroyVersion(h: VersionHandle): Promise<void> {
    await this.forget(h);
  }

  async discardVersion(h: VersionHandle): Promise<void> {
    await this.forget(h);
  }

  private async forget(h: VersionHandle): Promise<void> {
    this.evict(h.materialRef);
    try {
      await this.store.delete(h.materialRef);
    } catch (e) {
      throw storeUnavailable(e);
    }
    // A load that read the row before the delete must not repopulate the cache.
    this.evict(h.materialRef);
  }

  private evict(materialRef: string): void {
    this.cache.delete(materialRef);
    this.loading.delete(materialRef);
  }

  private async secret(h: VersionHandle): Promise<SecretMaterial> {
    const m = await this.material(h);
    if (m.kind !== 'secret') throw unusable(h, 'is not a secret key');
    return m;
  }

  private async asymmetric(h: VersionHandle): Promise<AsymmetricMaterial> {
    const m = await this.material(h);
    if (m.kind !== 'asymmetric') throw unusable(h, 'is not a key pair');
    return m;
  }

  /**
   * The version's plaintext material, for the break-glass escrow ceremony only (it splits it into
   * sealed shares). The caller zeroes the buffer. Secret keys: the 32 bytes; key pairs: PKCS#8 DER.
   */
  exportForEscrow(h: VersionHandle): Promise<Buffer> {
    return this.unwrapStored(h);
  }

  /**
   * The raw 32 bytes of an AES/HMAC version, for an exportable key's KMIP Get (the application checks
   * the key is exportable). Key pairs are refused here: only symmetric keys are exported. The caller zeroes it.
   */
  async exportSecretMaterial(h: VersionHandle): Promise<Buffer> {
    if (!isSecretAlgorithm(h.algorithm)) throw new KmsError('PERMISSION_DENIED', `permission denied: only symmetric key material is exported, not ${h.algorithm}`, 'key_id');
    return this.unwrapStored(h);
  }

  /** The stored material of a version, unwrapped under whichever configured master key wrapped it. The caller zeroes it. */
  private async unwrapStored(h: VersionHandle): Promise<Buffer> {
    let record: WrappedMaterialRecord | undefined;
    try {
      record = await this.store.get(h.materialRef);
    } catch (e) {
      throw storeUnavailable(e);
    }
    if (!record) throw unusable(h, 'is missing');
    const masterKey = this.byKekId.get(record.kekId);
    if (!masterKey) throw unusable(h, 'is wrapped under a master key that is not configured');
    const plaintext = masterKey.unwrap(record.wrapped, materialAad({ materialId: h.materialRef, keyId: h.keyId, version: h.version, algorithm: h.algorithm }));
    if (!plaintext) throw unusable(h, 'failed its integrity check');
    return plaintext;
  }

  /**
   * Break-glass escrow: a fresh X25519 ceremony key for one reconstruction. Its private key is kept
   * only wrapped under the master key (bound to the reconstruction, key and version) until the
   * reconstruction completes or expires; the caller gets the public key (DER SubjectPublicKeyInfo).
   */
  async createEscrowCeremonyKey(req: { reconstructionId: string; keyId: string; version: number; expiresAt: Date }): Promise<{ publicKeySpki: Buffer }> {
    const { privateKey, publicKey } = generateKeyPairSync('x25519');
    const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
    let wrapped: Buffer;
    try {
      wrapped = this.masterKey.wrap(pkcs8, ceremonyKeyAad(req));
    } finally {
      pkcs8.fill(0);
    }
    try {
      await this.ceremonyKeys.put({ ...req, kekId: this.masterKey.kekId, wrapped, createdAt: this.now() });
    } catch (e) {
      throw storeUnavailable(e);
    }
    return { publicKeySpki: publicKey.export({ format: 'der', type: 'spki' }) };
  }

  /** The ceremony key of an open reconstruction, unwrapped; undefined when none is kept (completed, expired and swept, or never opened). */
  async escrowCeremonyKey(reconstructionId: string): Promise<EscrowCeremonyKey | undefined> {
    let record;
    try {
      record = isUuid(reconstructionId) ? await this.ceremonyKeys.get(reconstructionId) : undefined;
    } catch (e) {
      throw storeUnavailable(e);
    }
    if (!record) return undefined;
    if (record.kekId !== this.masterKey.kekId) throw new KmsError('BACKEND_UNAVAILABLE', `the ceremony key of reconstruction ${reconstructionId} is wrapped under a different master key than the configured one`);
    const pkcs8 = this.masterKey.unwrap(record.wrapped, ceremonyKeyAad(record));
    if (!pkcs8) throw new KmsError('BACKEND_UNAVAILABLE', `the ceremony key of reconstruction ${reconstructionId} failed its integrity check`);
    try {
      const privateKey = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
      return { reconstructionId, keyId: record.keyId, version: record.version, expiresAt: record.expiresAt, privateKey };
    } finally {
      pkcs8.fill(0);
    }
  }

  /** The reconstructions whose ceremony keys are kept (no key material): what a start-up sweep looks at. */
  async escrowCeremonyKeys(): Promise<Array<{ reconstructionId: string; keyId: string; version: number; expiresAt: Date }>> {
    try {
      return (await this.ceremonyKeys.list()).map((r) => ({ reconstructionId: r.reconstructionId, keyId: r.keyId, version: r.version, expiresAt: r.expiresAt }));
    } catch (e) {
      throw storeUnavailable(e);
    }
  }

  /** Delete a ceremony key (completed or expired reconstruction). Idempotent. */
  async discardEscrowCeremonyKey(reconstructionId: string): Promise<void> {
    try {
      await this.ceremonyKeys.delete(reconstructionId);
    } catch (e) {
      throw storeUnavailable(e);
    }
  }

  private async postQuantum(h: VersionHandle): Promise<PostQuantumMaterial> {
    const m = await this.material(h);
    if (m.kind !== 'post-quantum') throw unusable(h, 'is not a post-quantum key pair');
    return m;
  }

  private async material(h: VersionHandle): Promise<LoadedMaterial> {
    const binding = bindingOf(h);
    const entry = this.cache.get(h.materialRef) ?? (await this.loadOnce(h, binding));
    // Same material id, different key/version/algorithm: the wrapped row would not unwrap for it either.
    if (entry.binding !== binding) throw unusable(h, 'failed its integrity check');
    return entry.material;
  }

  private async loadOnce(h: VersionHandle, binding: string): Promise<CacheEntry> {
    const pending = this.loading.get(h.materialRef);
    if (pending) return pending;
    const load = this.load(h, binding);
    this.loading.set(h.materialRef, load);
    try {
      const entry = await load;
      // Skipped when destroyVersion ran meanwhile (it removes the pending load).
      if (this.loading.get(h.materialRef) === load) this.cache.set(h.materialRef, entry);
      return entry;
    } finally {
      if (this.loading.get(h.materialRef) === load) this.loading.delete(h.materialRef);
    }
  }

  private async load(h: VersionHandle, binding: string): Promise<CacheEntry> {
    const plaintext = await this.unwrapStored(h);
    try {
      return { binding, material: importMaterial(h.algorithm, plaintext) };
    } catch {
      throw unusable(h, 'is corrupt');
    } finally {
      plaintext.fill(0);
    }
  }
}
