// Original file: src/proto/kms/v1/key_management_service.proto

import type { IdentityKind as _kms_v1_IdentityKind, IdentityKind__Output as _kms_v1_IdentityKind__Output } from '../../kms/v1/IdentityKind';
import type { ChangeContext as _kms_v1_ChangeContext, ChangeContext__Output as _kms_v1_ChangeContext__Output } from '../../kms/v1/ChangeContext';

export interface RegisterIdentityRequest {
  'name'?: (string);
  'kind'?: (_kms_v1_IdentityKind);
  'roles'?: (string)[];
  'context'?: (_kms_v1_ChangeContext | null);
}

export interface RegisterIdentityRequest__Output {
  'name': (string);
  'kind': (_kms_v1_IdentityKind__Output);
  'roles': (string)[];
  'context': (_kms_v1_ChangeContext__Output | null);
}
