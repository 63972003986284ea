// Original file: src/proto/kms/v1/key_management_service.proto


export interface DecapsulateResponse {
  'shared_secret'?: (Buffer | Uint8Array | string);
  'key_id'?: (string);
  'key_version'?: (number);
}

export interface DecapsulateResponse__Output {
  'shared_secret': (Buffer);
  'key_id': (string);
  'key_version': (number);
}
