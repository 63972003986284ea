// Original file: src/proto/kms/v1/key_management_service.proto

import type { ChangeContext as _kms_v1_ChangeContext, ChangeContext__Output as _kms_v1_ChangeContext__Output } from '../../kms/v1/ChangeContext';

export interface KeyVersionRequest {
  'key_id'?: (string);
  'key_version'?: (number);
  'context'?: (_kms_v1_ChangeContext | null);
  'override_dependents'?: (boolean);
}

export interface KeyVersionRequest__Output {
  'key_id': (string);
  'key_version': (number);
  'context': (_kms_v1_ChangeContext__Output | null);
  'override_dependents': (boolean);
}
