// Original file: src/proto/kms/v1/key_management_service.proto

export const KeyVersionState = {
  KEY_VERSION_STATE_UNSPECIFIED: 'KEY_VERSION_STATE_UNSPECIFIED',
  ENABLED: 'ENABLED',
  DISABLED: 'DISABLED',
  DESTROY_SCHEDULED: 'DESTROY_SCHEDULED',
  DESTROYED: 'DESTROYED',
} as const;

export type KeyVersionState =
  | 'KEY_VERSION_STATE_UNSPECIFIED'
  | 0
  | 'ENABLED'
  | 1
  | 'DISABLED'
  | 2
  | 'DESTROY_SCHEDULED'
  | 3
  | 'DESTROYED'
  | 4

export type KeyVersionState__Output = typeof KeyVersionState[keyof typeof KeyVersionState]
