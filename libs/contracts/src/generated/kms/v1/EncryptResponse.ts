// Original file: src/proto/kms/v1/key_management_service.proto


export interface EncryptResponse {
  'ciphertext'?: (Buffer | Uint8Array | string);
  'key_id'?: (string);
  'key_version'?: (number);
}

export interface EncryptResponse__Output {
  'ciphertext': (Buffer);
  'key_id': (string);
  'key_version': (number);
}
