// Original file: src/proto/kms/v1/key_management_service.proto


export interface DecryptRequest {
  'ciphertext'?: (Buffer | Uint8Array | string);
  'aad'?: (Buffer | Uint8Array | string);
}

export interface DecryptRequest__Output {
  'ciphertext': (Buffer);
  'aad': (Buffer);
}
