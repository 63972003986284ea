// Original file: src/proto/kms/v1/key_management_service.proto


export interface GenerateDataKeyResponse {
  'plaintext'?: (Buffer | Uint8Array | string);
  'ciphertext'?: (Buffer | Uint8Array | string);
  'key_id'?: (string);
  'key_version'?: (number);
}

export interface GenerateDataKeyResponse__Output {
  'plaintext': (Buffer);
  'ciphertext': (Buffer);
  'key_id': (string);
  'key_version': (number);
}
