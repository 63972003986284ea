// Original file: src/proto/kms/v1/key_management_service.proto


export interface EscrowShareAccepted {
  'accepted'?: (number);
  'threshold'?: (number);
}

export interface EscrowShareAccepted__Output {
  'accepted': (number);
  'threshold': (number);
}
