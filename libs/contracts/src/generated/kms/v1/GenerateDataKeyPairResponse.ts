// Original file: src/proto/kms/v1/key_management_service.proto

import type { DataKeyPairSpec as _kms_v1_DataKeyPairSpec, DataKeyPairSpec__Output as _kms_v1_DataKeyPairSpec__Output } from '../../kms/v1/DataKeyPairSpec';

export interface GenerateDataKeyPairResponse {
  'private_key_plaintext'?: (Buffer | Uint8Array | string);
  'private_key_ciphertext'?: (Buffer | Uint8Array | string);
  'public_key'?: (Buffer | Uint8Array | string);
  'public_key_pem'?: (string);
  'key_id'?: (string);
  'key_version'?: (number);
  'key_pair_spec'?: (_kms_v1_DataKeyPairSpec);
}

export interface GenerateDataKeyPairResponse__Output {
  'private_key_plaintext': (Buffer);
  'private_key_ciphertext': (Buffer);
  'public_key': (Buffer);
  'public_key_pem': (string);
  'key_id': (string);
  'key_version': (number);
  'key_pair_spec': (_kms_v1_DataKeyPairSpec__Output);
}
