// Original file: src/proto/kms/v1/key_management_service.proto

import type { ChangeContext as _kms_v1_ChangeContext, ChangeContext__Output as _kms_v1_ChangeContext__Output } from '../../kms/v1/ChangeContext';

export interface DependentRequest {
  'key_id'?: (string);
  'dependent_id'?: (string);
  'name'?: (string);
  'context'?: (_kms_v1_ChangeContext | null);
}

export interface DependentRequest__Output {
  'key_id': (string);
  'dependent_id': (string);
  'name': (string);
  'context': (_kms_v1_ChangeContext__Output | null);
}
