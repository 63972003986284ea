// Original file: src/proto/kms/v1/key_management_service.proto


export interface AsymmetricDecryptRequest {
  'key_id'?: (string);
  'key_version'?: (number);
  'ciphertext'?: (Buffer | Uint8Array | string);
}

export interface AsymmetricDecryptRequest__Output {
  'key_id': (string);
  'key_version': (number);
  'ciphertext': (Buffer);
}
