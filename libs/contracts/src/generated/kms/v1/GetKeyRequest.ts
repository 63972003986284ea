// Original file: src/proto/kms/v1/key_management_service.proto


export interface GetKeyRequest {
  'key_id'?: (string);
}

export interface GetKeyRequest__Output {
  'key_id': (string);
}
