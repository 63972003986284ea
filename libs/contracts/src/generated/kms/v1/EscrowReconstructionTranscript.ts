// Original file: src/proto/kms/v1/key_management_service.proto


export interface EscrowReconstructionTranscript {
  'transcript_json'?: (string);
  'attestation_signature'?: (string);
}

export interface EscrowReconstructionTranscript__Output {
  'transcript_json': (string);
  'attestation_signature': (string);
}
