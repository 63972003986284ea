// Original file: src/proto/kms/v1/key_management_service.proto


export interface AsymmetricDecryptResponse {
  'plaintext'?: (Buffer | Uint8Array | string);
  'key_id'?: (string);
  'key_version'?: (number);
}

export interface AsymmetricDecryptResponse__Output {
  'plaintext': (Buffer);
  'key_id': (string);
  'key_version': (number);
}
