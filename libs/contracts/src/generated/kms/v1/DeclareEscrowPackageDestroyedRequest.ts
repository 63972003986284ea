// Original file: src/proto/kms/v1/key_management_service.proto


export interface DeclareEscrowPackageDestroyedRequest {
  'declaration_json'?: (string);
  'signature'?: (string);
}

export interface DeclareEscrowPackageDestroyedRequest__Output {
  'declaration_json': (string);
  'signature': (string);
}
