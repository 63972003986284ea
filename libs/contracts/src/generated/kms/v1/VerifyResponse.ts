// Original file: src/proto/kms/v1/key_management_service.proto


export interface VerifyResponse {
  'valid'?: (boolean);
  'key_id'?: (string);
  'key_version'?: (number);
}

export interface VerifyResponse__Output {
  'valid': (boolean);
  'key_id': (string);
  'key_version': (number);
}
