// Original file: src/proto/kms/v1/key_management_service.proto


export interface ReEncryptRequest {
  'ciphertext'?: (Buffer | Uint8Array | string);
  'source_aad'?: (Buffer | Uint8Array | string);
  'destination_key_id'?: (string);
  'destination_aad'?: (Buffer | Uint8Array | string);
}

export interface ReEncryptRequest__Output {
  'ciphertext': (Buffer);
  'source_aad': (Buffer);
  'destination_key_id': (string);
  'destination_aad': (Buffer);
}
