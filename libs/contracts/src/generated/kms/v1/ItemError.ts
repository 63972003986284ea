// Original file: src/proto/kms/v1/key_management_service.proto


export interface ItemError {
  'code'?: (string);
  'error_code'?: (string);
  'message'?: (string);
  'field'?: (string);
}

export interface ItemError__Output {
  'code': (string);
  'error_code': (string);
  'message': (string);
  'field': (string);
}
