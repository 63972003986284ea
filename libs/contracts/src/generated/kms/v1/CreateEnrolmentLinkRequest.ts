// Original file: src/proto/kms/v1/key_management_service.proto

import type { ChangeContext as _kms_v1_ChangeContext, ChangeContext__Output as _kms_v1_ChangeContext__Output } from '../../kms/v1/ChangeContext';

export interface CreateEnrolmentLinkRequest {
  'identity_id'?: (string);
  'ttl_minutes'?: (number);
  'replace_factors'?: (boolean);
  'context'?: (_kms_v1_ChangeContext | null);
}

export interface CreateEnrolmentLinkRequest__Output {
  'identity_id': (string);
  'ttl_minutes': (number);
  'replace_factors': (boolean);
  'context': (_kms_v1_ChangeContext__Output | null);
}
