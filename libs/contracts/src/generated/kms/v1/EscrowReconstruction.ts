// Original file: src/proto/kms/v1/key_management_service.proto


export interface EscrowReconstruction {
  'reconstruction_id'?: (string);
  'ceremony_public_key'?: (string);
  'expire_time'?: (string);
  'purpose'?: (string);
}

export interface EscrowReconstruction__Output {
  'reconstruction_id': (string);
  'ceremony_public_key': (string);
  'expire_time': (string);
  'purpose': (string);
}
