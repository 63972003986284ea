// Original file: src/proto/kms/v1/key_management_service.proto

import type { Key as _kms_v1_Key, Key__Output as _kms_v1_Key__Output } from '../../kms/v1/Key';

export interface ListKeysResponse {
  'keys'?: (_kms_v1_Key)[];
  'next_page_token'?: (string);
}

export interface ListKeysResponse__Output {
  'keys': (_kms_v1_Key__Output)[];
  'next_page_token': (string);
}
