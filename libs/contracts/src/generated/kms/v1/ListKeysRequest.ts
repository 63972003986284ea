// Original file: src/proto/kms/v1/key_management_service.proto

import type { KeyPurpose as _kms_v1_KeyPurpose, KeyPurpose__Output as _kms_v1_KeyPurpose__Output } from '../../kms/v1/KeyPurpose';

export interface ListKeysRequest {
  'tenant'?: (string);
  'purpose'?: (_kms_v1_KeyPurpose);
  'labels'?: ({[key: string]: string});
  'page_size'?: (number);
  'page_token'?: (string);
}

export interface ListKeysRequest__Output {
  'tenant': (string);
  'purpose': (_kms_v1_KeyPurpose__Output);
  'labels': ({[key: string]: string});
  'page_size': (number);
  'page_token': (string);
}
