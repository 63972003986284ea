// Original file: src/proto/kms/v1/key_management_service.proto


export interface IssueProofTokenRequest {
  'tenant'?: (string);
  'claim_json'?: (Buffer | Uint8Array | string);
}

export interface IssueProofTokenRequest__Output {
  'tenant': (string);
  'claim_json': (Buffer);
}
