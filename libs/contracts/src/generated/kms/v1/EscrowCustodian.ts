// Original file: src/proto/kms/v1/key_management_service.proto


export interface EscrowCustodian {
  'identity_id'?: (string);
}

export interface EscrowCustodian__Output {
  'identity_id': (string);
}
