// Original file: src/proto/kms/v1/key_management_service.proto

import type { Algorithm as _kms_v1_Algorithm, Algorithm__Output as _kms_v1_Algorithm__Output } from '../../kms/v1/Algorithm';

export interface SignResponse {
  'signature'?: (Buffer | Uint8Array | string);
  'key_id'?: (string);
  'key_version'?: (number);
  'algorithm'?: (_kms_v1_Algorithm);
}

export interface SignResponse__Output {
  'signature': (Buffer);
  'key_id': (string);
  'key_version': (number);
  'algorithm': (_kms_v1_Algorithm__Output);
}
