// Original file: src/proto/kms/v1/key_management_service.proto


export interface CompleteEscrowReconstructionRequest {
  'reconstruction_id'?: (string);
}

export interface CompleteEscrowReconstructionRequest__Output {
  'reconstruction_id': (string);
}
