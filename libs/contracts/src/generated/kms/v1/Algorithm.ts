// Original file: src/proto/kms/v1/key_management_service.proto

export const Algorithm = {
  ALGORITHM_UNSPECIFIED: 'ALGORITHM_UNSPECIFIED',
  AES_256_GCM: 'AES_256_GCM',
  HMAC_SHA256: 'HMAC_SHA256',
  ECDSA_P256_SHA256: 'ECDSA_P256_SHA256',
  ED25519: 'ED25519',
  RSA_PSS_3072_SHA256: 'RSA_PSS_3072_SHA256',
  RSA_OAEP_3072_SHA256: 'RSA_OAEP_3072_SHA256',
  ML_DSA_65: 'ML_DSA_65',
  ML_KEM_768: 'ML_KEM_768',
} as const;

export type Algorithm =
  | 'ALGORITHM_UNSPECIFIED'
  | 0
  | 'AES_256_GCM'
  | 1
  | 'HMAC_SHA256'
  | 2
  | 'ECDSA_P256_SHA256'
  | 3
  | 'ED25519'
  | 4
  | 'RSA_PSS_3072_SHA256'
  | 5
  | 'RSA_OAEP_3072_SHA256'
  | 6
  | 'ML_DSA_65'
  | 7
  | 'ML_KEM_768'
  | 8

export type Algorithm__Output = typeof Algorithm[keyof typeof Algorithm]
