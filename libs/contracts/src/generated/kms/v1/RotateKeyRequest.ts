// Original file: src/proto/kms/v1/key_management_service.proto

import type { RotationReason as _kms_v1_RotationReason, RotationReason__Output as _kms_v1_RotationReason__Output } from '../../kms/v1/RotationReason';
import type { ChangeContext as _kms_v1_ChangeContext, ChangeContext__Output as _kms_v1_ChangeContext__Output } from '../../kms/v1/ChangeContext';

export interface RotateKeyRequest {
  'key_id'?: (string);
  'reason'?: (_kms_v1_RotationReason);
  'context'?: (_kms_v1_ChangeContext | null);
}

export interface RotateKeyRequest__Output {
  'key_id': (string);
  'reason': (_kms_v1_RotationReason__Output);
  'context': (_kms_v1_ChangeContext__Output | null);
}
