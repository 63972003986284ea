// Original file: src/proto/kms/v1/key_management_service.proto


export interface SubmitEscrowShareRequest {
  'reconstruction_id'?: (string);
  'submission_json'?: (string);
}

export interface SubmitEscrowShareRequest__Output {
  'reconstruction_id': (string);
  'submission_json': (string);
}
