// Original file: src/proto/kms/v1/key_management_service.proto


export interface VerifyMacResponse {
  'valid'?: (boolean);
  'key_id'?: (string);
  'key_version'?: (number);
}

export interface VerifyMacResponse__Output {
  'valid': (boolean);
  'key_id': (string);
  'key_version': (number);
}
