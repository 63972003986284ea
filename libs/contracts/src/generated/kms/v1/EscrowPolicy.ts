// Original file: src/proto/kms/v1/key_management_service.proto


export interface EscrowPolicy {
  'key_id'?: (string);
  'threshold'?: (number);
  'custodians'?: (string)[];
  'witness'?: (string);
}

export interface EscrowPolicy__Output {
  'key_id': (string);
  'threshold': (number);
  'custodians': (string)[];
  'witness': (string);
}
