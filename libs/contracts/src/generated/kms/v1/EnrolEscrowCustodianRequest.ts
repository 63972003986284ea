// Original file: src/proto/kms/v1/key_management_service.proto

import type { ChangeContext as _kms_v1_ChangeContext, ChangeContext__Output as _kms_v1_ChangeContext__Output } from '../../kms/v1/ChangeContext';

export interface EnrolEscrowCustodianRequest {
  'identity_id'?: (string);
  'encryption_public_key'?: (string);
  'signing_public_key'?: (string);
  'context'?: (_kms_v1_ChangeContext | null);
}

export interface EnrolEscrowCustodianRequest__Output {
  'identity_id': (string);
  'encryption_public_key': (string);
  'signing_public_key': (string);
  'context': (_kms_v1_ChangeContext__Output | null);
}
