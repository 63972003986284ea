// Original file: src/proto/kms/v1/key_management_service.proto

import type { Identity as _kms_v1_Identity, Identity__Output as _kms_v1_Identity__Output } from '../../kms/v1/Identity';

export interface IdentityCredential {
  'identity'?: (_kms_v1_Identity | null);
  'client_id'?: (string);
  'client_secret'?: (string);
}

export interface IdentityCredential__Output {
  'identity': (_kms_v1_Identity__Output | null);
  'client_id': (string);
  'client_secret': (string);
}
