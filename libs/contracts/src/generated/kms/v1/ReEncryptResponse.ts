// Original file: src/proto/kms/v1/key_management_service.proto


export interface ReEncryptResponse {
  'ciphertext'?: (Buffer | Uint8Array | string);
  'key_id'?: (string);
  'key_version'?: (number);
  'source_key_id'?: (string);
  'source_key_version'?: (number);
}

export interface ReEncryptResponse__Output {
  'ciphertext': (Buffer);
  'key_id': (string);
  'key_version': (number);
  'source_key_id': (string);
  'source_key_version': (number);
}
