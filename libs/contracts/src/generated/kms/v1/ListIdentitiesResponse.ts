// Original file: src/proto/kms/v1/key_management_service.proto

import type { Identity as _kms_v1_Identity, Identity__Output as _kms_v1_Identity__Output } from '../../kms/v1/Identity';

export interface ListIdentitiesResponse {
  'identities'?: (_kms_v1_Identity)[];
}

export interface ListIdentitiesResponse__Output {
  'identities': (_kms_v1_Identity__Output)[];
}
