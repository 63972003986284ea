// Original file: src/proto/kms/v1/key_management_service.proto


export interface IssueTokenRequest {
  'client_id'?: (string);
  'client_secret'?: (string);
  'ttl_seconds'?: (number);
  'auth_methods'?: (string)[];
}

export interface IssueTokenRequest__Output {
  'client_id': (string);
  'client_secret': (string);
  'ttl_seconds': (number);
  'auth_methods': (string)[];
}
