// Original file: src/proto/kms/v1/key_management_service.proto

import type { KeyPolicy as _kms_v1_KeyPolicy, KeyPolicy__Output as _kms_v1_KeyPolicy__Output } from '../../kms/v1/KeyPolicy';
import type { ChangeContext as _kms_v1_ChangeContext, ChangeContext__Output as _kms_v1_ChangeContext__Output } from '../../kms/v1/ChangeContext';

export interface SetKeyPolicyRequest {
  'key_id'?: (string);
  'policy'?: (_kms_v1_KeyPolicy | null);
  'context'?: (_kms_v1_ChangeContext | null);
}

export interface SetKeyPolicyRequest__Output {
  'key_id': (string);
  'policy': (_kms_v1_KeyPolicy__Output | null);
  'context': (_kms_v1_ChangeContext__Output | null);
}
