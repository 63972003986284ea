import type { Algorithm, HsmKeyOrigin, ProtectionLevel } from '@kms/domain';

/** Identifies one key version's material inside a backend. */
export interface VersionHandle {
  keyId: string;
  version: number;
  algorithm: Algorithm;
  /** Opaque reference the backend returned when it created the version. */
  materialRef: string;
}

/** What a backend returns after creating material for a new version. Never the material itself. */
export interface CreatedVersionMaterial {
  materialRef: string;
  /** Hex SHA-256 of the DER SubjectPublicKeyInfo, for asymmetric algorithms. */
  publicKeyFingerprint?: string;
  /** HSM backends: attributes and module identity read back after generation. */
  origin?: HsmKeyOrigin;
}

/** BYOK: a one-time RSA-3072 wrapping key a customer wraps material for (import parameters). */
export interface ImportWrappingKey {
  /** Opaque reference to the wrapping key inside the backend (the import token names it). */
  wrappingKeyRef: string;
  /** DER SubjectPublicKeyInfo of the wrapping key. */
  publicKeySpki: Buffer;
  createdAt: Date;
  /** How the customer must wrap: RSA_OAEP_3072_SHA256_AES_256_KWP, or ..._SHA1_... where the module can unwrap OAEP with SHA-1 only. */
  wrappingAlgorithm: string;
}

/** BYOK: material wrapped for a wrapping key, to become version `version` of `keyId`. */
export interface ImportVersionRequest {
  keyId: string;
  version: number;
  algorithm: Algorithm;
  wrappingKeyRef: string;
  /** The key's jurisdiction: the material is kept under that jurisdiction's protection. */
  jurisdiction?: string;
  /** RSA-OAEP-SHA256 of a one-time AES-256 key (384 bytes) followed by the material under it with AES-KWP (RFC 5649). */
  wrappedMaterial: Buffer;
}

/** What to sign: the message itself, or a SHA-256 digest computed by the caller. */
export type SignInput = { message: Buffer } | { digest: Buffer };

/**
 * A key backend holds key material and performs raw cryptography with it. Framing, policy and
 * auditing happen above it. Software and PKCS#11 adapters pass the same contract suite.
 */
export interface KeyBackend {
  readonly protectionLevel: ProtectionLevel;
  supports(algorithm: Algorithm): boolean;
  /** The jurisdictions this backend can keep new material in (HSM instances, master keys); absent: `default` only. */
  jurisdictions?(): readonly string[];
  /** `jurisdiction`: the key's, when jurisdictions are configured (a backend spanning several chooses by it). */
  /**
   * `escrow`: a break-glass version, whose material the sealing ceremony will split into escrow
   * shares (`exportForEscrow`); a backend whose material never leaves keeps a transfer copy until
   * `escrowSealed`, or refuses what it cannot escrow.
   */
  createVersion(req: { keyId: string; version: number; algorithm: Algorithm; jurisdiction?: string; escrow?: boolean }): Promise<CreatedVersionMaterial>;
  /** Break-glass escrow: the version's plaintext material for its sealing ceremony only. The caller zeroes it. */
  exportForEscrow?(h: VersionHandle): Promise<Buffer>;
  /** Break-glass escrow: the version's sealing ceremony is recorded; a transfer copy kept for it can go. */
  escrowSealed?(h: VersionHandle): Promise<void>;
  /** AES-256-GCM with a fresh 96-bit IV. Returns IV | ciphertext | tag. */
  encrypt(h: VersionHandle, plaintext: Buffer, aad: Buffer): Promise<Buffer>;
  /** Inverse of encrypt. Throws KmsError INVALID_CIPHERTEXT when authentication fails. */
  decrypt(h: VersionHandle, body: Buffer, aad: Buffer): Promise<Buffer>;
  sign(h: VersionHandle, input: SignInput): Promise<Buffer>;
  verify(h: VersionHandle, input: SignInput, signature: Buffer): Promise<boolean>;
  mac(h: VersionHandle, data: Buffer): Promise<Buffer>;
  /** Constant-time comparison of the expected MAC with `mac`. */
  verifyMac(h: VersionHandle, data: Buffer, mac: Buffer): Promise<boolean>;
  /** DER SubjectPublicKeyInfo of an asymmetric version. */
  getPublicKey(h: VersionHandle): Promise<Buffer>;
  /**
   * RSA-OAEP (SHA-256, MGF1-SHA256, empty label) decryption of a ciphertext made offline with the
   * public key. Throws KmsError INVALID_CIPHERTEXT when it does not decrypt.
   */
  asymmetricDecrypt(h: VersionHandle, ciphertext: Buffer): Promise<Buffer>;
  /** Key encapsulation (ML-KEM): the shared secret of a ciphertext made offline with the public key. */
  decapsulate(h: VersionHandle, ciphertext: Buffer): Promise<Buffer>;
  /** BYOK (backends that support import): a fresh wrapping key for material destined for `keyId`. */
  createImportWrappingKey?(req: { keyId: string; algorithm?: Algorithm }): Promise<ImportWrappingKey>;
  /**
   * BYOK: unwrap inside the backend, check the material is `algorithm` material (INVALID_ARGUMENT on
   * wrapped_key_material otherwise), keep it as the version. Parameters older than 24 hours are refused.
   */
  importVersion?(req: ImportVersionRequest): Promise<CreatedVersionMaterial>;
  /**
   * The raw secret material of a symmetric version (exportable keys, KMIP Get). Only backends whose
   * material may leave implement it (software); HSM material is non-extractable. The caller zeroes it.
   */
  exportSecretMaterial?(h: VersionHandle): Promise<Buffer>;
  /**
   * Irreversibly destroy the version's material. Idempotent. Returns whether an HSM object was
   * destroyed (C_DestroyObject) — always false for software material.
   */
  destroyVersion(h: VersionHandle): Promise<{ hsmObjectDestroyed: boolean } | void>;
  /** Forget material that never made it into an event (a lost race). Idempotent. */
  discardVersion(h: VersionHandle): Promise<void>;
}

/** Injection token: backends by protection level. */
export const KEY_BACKENDS = Symbol('KEY_BACKENDS');
export type KeyBackends = Partial<Record<ProtectionLevel, KeyBackend>>;

/**
 * Signs evidence (key-origin statements, ledger checkpoints) with the KMS attestation key, which lives
 * in the HSM. ECDSA P-256 over SHA-256, DER signatures.
 */
export interface AttestationSigner {
  /** PEM SubjectPublicKeyInfo of the attestation key: all a verifier needs. */
  publicKeyPem(): Promise<string>;
  /** Hex SHA-256 of the DER SubjectPublicKeyInfo. */
  keyFingerprint(): Promise<string>;
  sign(data: Buffer): Promise<Buffer>;
}
export const ATTESTATION_SIGNER = Symbol('ATTESTATION_SIGNER');
