// Original file: src/proto/kms/v1/key_management_service.proto

import type { IdentityKind as _kms_v1_IdentityKind, IdentityKind__Output as _kms_v1_IdentityKind__Output } from '../../kms/v1/IdentityKind';

export interface Identity {
  'identity_id'?: (string);
  'name'?: (string);
  'kind'?: (_kms_v1_IdentityKind);
  'roles'?: (string)[];
  'suspended'?: (boolean);
  'create_time'?: (string);
}

export interface Identity__Output {
  'identity_id': (string);
  'name': (string);
  'kind': (_kms_v1_IdentityKind__Output);
  'roles': (string)[];
  'suspended': (boolean);
  'create_time': (string);
}
