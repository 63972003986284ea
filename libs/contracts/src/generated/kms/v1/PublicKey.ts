// Original file: src/proto/kms/v1/key_management_service.proto

import type { Algorithm as _kms_v1_Algorithm, Algorithm__Output as _kms_v1_Algorithm__Output } from '../../kms/v1/Algorithm';

export interface PublicKey {
  'key_id'?: (string);
  'key_version'?: (number);
  'algorithm'?: (_kms_v1_Algorithm);
  'pem'?: (string);
  'jwk'?: (string);
  'fingerprint'?: (string);
}

export interface PublicKey__Output {
  'key_id': (string);
  'key_version': (number);
  'algorithm': (_kms_v1_Algorithm__Output);
  'pem': (string);
  'jwk': (string);
  'fingerprint': (string);
}
