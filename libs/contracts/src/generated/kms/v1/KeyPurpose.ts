// Original file: src/proto/kms/v1/key_management_service.proto

export const KeyPurpose = {
  KEY_PURPOSE_UNSPECIFIED: 'KEY_PURPOSE_UNSPECIFIED',
  ROOT_TENANT: 'ROOT_TENANT',
  SERVICE_ENVELOPE: 'SERVICE_ENVELOPE',
  DATA_PROTECTION: 'DATA_PROTECTION',
  BREAK_GLASS: 'BREAK_GLASS',
} as const;

export type KeyPurpose =
  | 'KEY_PURPOSE_UNSPECIFIED'
  | 0
  | 'ROOT_TENANT'
  | 1
  | 'SERVICE_ENVELOPE'
  | 2
  | 'DATA_PROTECTION'
  | 3
  | 'BREAK_GLASS'
  | 4

export type KeyPurpose__Output = typeof KeyPurpose[keyof typeof KeyPurpose]
