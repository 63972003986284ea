// Original file: src/proto/kms/v1/key_management_service.proto


export interface EncryptRequest {
  'key_id'?: (string);
  'plaintext'?: (Buffer | Uint8Array | string);
  'aad'?: (Buffer | Uint8Array | string);
}

export interface EncryptRequest__Output {
  'key_id': (string);
  'plaintext': (Buffer);
  'aad': (Buffer);
}
