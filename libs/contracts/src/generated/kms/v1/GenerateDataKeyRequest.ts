// Original file: src/proto/kms/v1/key_management_service.proto


export interface GenerateDataKeyRequest {
  'key_id'?: (string);
  'aad'?: (Buffer | Uint8Array | string);
  'length_bytes'?: (number);
  'without_plaintext'?: (boolean);
}

export interface GenerateDataKeyRequest__Output {
  'key_id': (string);
  'aad': (Buffer);
  'length_bytes': (number);
  'without_plaintext': (boolean);
}
