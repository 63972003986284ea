// Original file: src/proto/kms/v1/key_management_service.proto

import type { ChangeContext as _kms_v1_ChangeContext, ChangeContext__Output as _kms_v1_ChangeContext__Output } from '../../kms/v1/ChangeContext';

export interface SetEscrowPolicyRequest {
  'key_id'?: (string);
  'threshold'?: (number);
  'custodians'?: (string)[];
  'witness'?: (string);
  'declaration_window_hours'?: (number);
  'context'?: (_kms_v1_ChangeContext | null);
}

export interface SetEscrowPolicyRequest__Output {
  'key_id': (string);
  'threshold': (number);
  'custodians': (string)[];
  'witness': (string);
  'declaration_window_hours': (number);
  'context': (_kms_v1_ChangeContext__Output | null);
}
