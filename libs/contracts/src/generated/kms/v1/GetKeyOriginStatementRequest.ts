// Original file: src/proto/kms/v1/key_management_service.proto


export interface GetKeyOriginStatementRequest {
  'key_id'?: (string);
  'key_version'?: (number);
}

export interface GetKeyOriginStatementRequest__Output {
  'key_id': (string);
  'key_version': (number);
}
