// Original file: src/proto/kms/v1/key_management_service.proto


export interface ImportParameters {
  'key_id'?: (string);
  'import_token'?: (string);
  'wrapping_public_key'?: (Buffer | Uint8Array | string);
  'wrapping_public_key_pem'?: (string);
  'expire_time'?: (string);
  'wrapping_algorithm'?: (string);
}

export interface ImportParameters__Output {
  'key_id': (string);
  'import_token': (string);
  'wrapping_public_key': (Buffer);
  'wrapping_public_key_pem': (string);
  'expire_time': (string);
  'wrapping_algorithm': (string);
}
