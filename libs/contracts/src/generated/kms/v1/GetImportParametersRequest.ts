// Original file: src/proto/kms/v1/key_management_service.proto


export interface GetImportParametersRequest {
  'key_id'?: (string);
}

export interface GetImportParametersRequest__Output {
  'key_id': (string);
}
