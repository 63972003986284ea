// Original file: src/proto/kms/v1/key_management_service.proto

export const RotationReason = {
  ROTATION_REASON_UNSPECIFIED: 'ROTATION_REASON_UNSPECIFIED',
  SCHEDULED: 'SCHEDULED',
  MANUAL: 'MANUAL',
  COMPROMISE: 'COMPROMISE',
  TENANT_ROTATION: 'TENANT_ROTATION',
  SECRET_EXPOSURE: 'SECRET_EXPOSURE',
} as const;

export type RotationReason =
  | 'ROTATION_REASON_UNSPECIFIED'
  | 0
  | 'SCHEDULED'
  | 1
  | 'MANUAL'
  | 2
  | 'COMPROMISE'
  | 3
  | 'TENANT_ROTATION'
  | 4
  | 'SECRET_EXPOSURE'
  | 5

export type RotationReason__Output = typeof RotationReason[keyof typeof RotationReason]
