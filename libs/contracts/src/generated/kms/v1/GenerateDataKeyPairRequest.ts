// Original file: src/proto/kms/v1/key_management_service.proto

import type { DataKeyPairSpec as _kms_v1_DataKeyPairSpec, DataKeyPairSpec__Output as _kms_v1_DataKeyPairSpec__Output } from '../../kms/v1/DataKeyPairSpec';

export interface GenerateDataKeyPairRequest {
  'key_id'?: (string);
  'aad'?: (Buffer | Uint8Array | string);
  'key_pair_spec'?: (_kms_v1_DataKeyPairSpec);
  'without_plaintext'?: (boolean);
}

export interface GenerateDataKeyPairRequest__Output {
  'key_id': (string);
  'aad': (Buffer);
  'key_pair_spec': (_kms_v1_DataKeyPairSpec__Output);
  'without_plaintext': (boolean);
}
