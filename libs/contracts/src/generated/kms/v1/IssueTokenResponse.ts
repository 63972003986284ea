// Original file: src/proto/kms/v1/key_management_service.proto

import type { Identity as _kms_v1_Identity, Identity__Output as _kms_v1_Identity__Output } from '../../kms/v1/Identity';

export interface IssueTokenResponse {
  'access_token'?: (string);
  'token_type'?: (string);
  'expire_time'?: (string);
  'identity'?: (_kms_v1_Identity | null);
}

export interface IssueTokenResponse__Output {
  'access_token': (string);
  'token_type': (string);
  'expire_time': (string);
  'identity': (_kms_v1_Identity__Output | null);
}
