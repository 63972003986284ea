// Original file: src/proto/kms/v1/key_management_service.proto

export const DataKeyPairSpec = {
  DATA_KEY_PAIR_SPEC_UNSPECIFIED: 'DATA_KEY_PAIR_SPEC_UNSPECIFIED',
  ECC_NIST_P256: 'ECC_NIST_P256',
  RSA_3072: 'RSA_3072',
  ML_KEM_768_X25519: 'ML_KEM_768_X25519',
} as const;

export type DataKeyPairSpec =
  | 'DATA_KEY_PAIR_SPEC_UNSPECIFIED'
  | 0
  | 'ECC_NIST_P256'
  | 1
  | 'RSA_3072'
  | 2
  | 'ML_KEM_768_X25519'
  | 3

export type DataKeyPairSpec__Output = typeof DataKeyPairSpec[keyof typeof DataKeyPairSpec]
