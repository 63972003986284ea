// Original file: src/proto/kms/v1/key_management_service.proto


export interface GetResidencyRulesRequest {
  'tenant'?: (string);
}

export interface GetResidencyRulesRequest__Output {
  'tenant': (string);
}
