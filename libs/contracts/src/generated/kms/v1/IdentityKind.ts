// Original file: src/proto/kms/v1/key_management_service.proto

export const IdentityKind = {
  IDENTITY_KIND_UNSPECIFIED: 'IDENTITY_KIND_UNSPECIFIED',
  WORKLOAD: 'WORKLOAD',
  HUMAN: 'HUMAN',
} as const;

export type IdentityKind =
  | 'IDENTITY_KIND_UNSPECIFIED'
  | 0
  | 'WORKLOAD'
  | 1
  | 'HUMAN'
  | 2

export type IdentityKind__Output = typeof IdentityKind[keyof typeof IdentityKind]
