/** Key purposes named by the KMS policy (docs/policy.md). */
export const KEY_PURPOSES = ['ROOT_TENANT', 'SERVICE_ENVELOPE', 'DATA_PROTECTION', 'BREAK_GLASS'] as const;
export type KeyPurpose = (typeof KEY_PURPOSES)[number];

/** Longest rotation period each purpose allows, in days (policy "Rotation Cadence"). */
export const PURPOSE_MAX_ROTATION_DAYS: Readonly<Record<KeyPurpose, number>> = {
  ROOT_TENANT: 90,
  SERVICE_ENVELOPE: 60,
  DATA_PROTECTION: 180,
  BREAK_GLASS: 30,
};

export const ALGORITHMS = [
  'AES_256_GCM',
  'HMAC_SHA256',
  'ECDSA_P256_SHA256',
  'ED25519',
  'RSA_PSS_3072_SHA256',
  'RSA_OAEP_3072_SHA256',
  'ML_DSA_65',
  'ML_KEM_768',
] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

/** Post-quantum algorithms: software protection only until an HSM module offers them. */
export const POST_QUANTUM_ALGORITHMS: ReadonlySet<Algorithm> = new Set<Algorithm>(['ML_DSA_65', 'ML_KEM_768']);

/**
 * ASYMMETRIC_DECRYPT: anyone encrypts offline with the public key (RSA-OAEP), the KMS decrypts.
 * KEY_ENCAPSULATION: anyone encapsulates offline with the public key (ML-KEM), the KMS decapsulates.
 */
export type KeyUsage = 'ENCRYPT_DECRYPT' | 'MAC' | 'SIGN_VERIFY' | 'ASYMMETRIC_DECRYPT' | 'KEY_ENCAPSULATION';

export const ALGORITHM_USAGE: Readonly<Record<Algorithm, KeyUsage>> = {
  AES_256_GCM: 'ENCRYPT_DECRYPT',
  HMAC_SHA256: 'MAC',
  ECDSA_P256_SHA256: 'SIGN_VERIFY',
  ED25519: 'SIGN_VERIFY',
  RSA_PSS_3072_SHA256: 'SIGN_VERIFY',
  RSA_OAEP_3072_SHA256: 'ASYMMETRIC_DECRYPT',
  ML_DSA_65: 'SIGN_VERIFY',
  ML_KEM_768: 'KEY_ENCAPSULATION',
};

/** Usages whose keys are pairs with a public key anyone may fetch. */
export const ASYMMETRIC_USAGES: readonly KeyUsage[] = ['SIGN_VERIFY', 'ASYMMETRIC_DECRYPT', 'KEY_ENCAPSULATION'];

export const PROTECTION_LEVELS = ['SOFTWARE', 'HSM'] as const;
export type ProtectionLevel = (typeof PROTECTION_LEVELS)[number];

export type KeyVersionState = 'ENABLED' | 'DISABLED' | 'DESTROY_SCHEDULED' | 'DESTROYED';

export const ROTATION_REASONS = ['SCHEDULED', 'MANUAL', 'COMPROMISE', 'TENANT_ROTATION', 'SECRET_EXPOSURE'] as const;
export type RotationReason = (typeof ROTATION_REASONS)[number];

/** Operations a caller performs with a key version. */
export type KeyOperation =
  | 'ENCRYPT'
  | 'DECRYPT'
  | 'SIGN'
  | 'VERIFY'
  | 'MAC'
  | 'VERIFY_MAC'
  | 'GENERATE_DATA_KEY'
  | 'GET_PUBLIC_KEY'
  | 'ASYMMETRIC_DECRYPT'
  | 'DECAPSULATE';

/** The key usages each operation works with. */
export const OPERATION_USAGE: Readonly<Record<KeyOperation, readonly KeyUsage[]>> = {
  ENCRYPT: ['ENCRYPT_DECRYPT'],
  DECRYPT: ['ENCRYPT_DECRYPT'],
  GENERATE_DATA_KEY: ['ENCRYPT_DECRYPT'],
  SIGN: ['SIGN_VERIFY'],
  VERIFY: ['SIGN_VERIFY'],
  GET_PUBLIC_KEY: ASYMMETRIC_USAGES,
  MAC: ['MAC'],
  VERIFY_MAC: ['MAC'],
  ASYMMETRIC_DECRYPT: ['ASYMMETRIC_DECRYPT'],
  DECAPSULATE: ['KEY_ENCAPSULATION'],
};

/** Destruction waiting period (policy default 30 days, never less than 1). */
export const DEFAULT_DESTRUCTION_DELAY_DAYS = 30;
export const MIN_DESTRUCTION_DELAY_DAYS = 1;

export const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Where an HSM key version came from, read back from the module right after generation
 * (PKCS#11 object attributes and token identity). Evidence for auditors; never material.
 */
export interface HsmKeyOrigin {
  attributes: { local: boolean; neverExtractable: boolean; sensitive: boolean; extractable: boolean };
  module: {
    manufacturer: string;
    model: string;
    serialNumber: string;
    firmwareVersion: string;
    hardwareVersion: string;
    tokenLabel: string;
    libraryDescription: string;
  };
  /** CKA_LABEL and hex CKA_ID of the token object(s) holding the version. */
  objectLabel: string;
  objectId: string;
  /** Hex key check value (symmetric keys), when the module provides one. */
  checkValue?: string;
  /**
   * Present (true) only for a break-glass version made for escrow: bytes from the module's RNG given
   * to C_CreateObject (so CKA_LOCAL is false) and split into custodians' shares at its sealing ceremony.
   */
  madeForEscrow?: true;
}
