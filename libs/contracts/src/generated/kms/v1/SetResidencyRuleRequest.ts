// Original file: src/proto/kms/v1/key_management_service.proto

import type { ChangeContext as _kms_v1_ChangeContext, ChangeContext__Output as _kms_v1_ChangeContext__Output } from '../../kms/v1/ChangeContext';

export interface SetResidencyRuleRequest {
  'tenant'?: (string);
  'from_jurisdiction'?: (string);
  'to_jurisdiction'?: (string);
  'allowed'?: (boolean);
  'context'?: (_kms_v1_ChangeContext | null);
}

export interface SetResidencyRuleRequest__Output {
  'tenant': (string);
  'from_jurisdiction': (string);
  'to_jurisdiction': (string);
  'allowed': (boolean);
  'context': (_kms_v1_ChangeContext__Output | null);
}
