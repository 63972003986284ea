// Original file: src/proto/kms/v1/key_management_service.proto

export const ProtectionLevel = {
  PROTECTION_LEVEL_UNSPECIFIED: 'PROTECTION_LEVEL_UNSPECIFIED',
  SOFTWARE: 'SOFTWARE',
  HSM: 'HSM',
} as const;

export type ProtectionLevel =
  | 'PROTECTION_LEVEL_UNSPECIFIED'
  | 0
  | 'SOFTWARE'
  | 1
  | 'HSM'
  | 2

export type ProtectionLevel__Output = typeof ProtectionLevel[keyof typeof ProtectionLevel]
