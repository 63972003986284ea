// Original file: src/proto/kms/v1/key_management_service.proto


export interface GetPublicKeyRequest {
  'key_id'?: (string);
  'key_version'?: (number);
}

export interface GetPublicKeyRequest__Output {
  'key_id': (string);
  'key_version': (number);
}
