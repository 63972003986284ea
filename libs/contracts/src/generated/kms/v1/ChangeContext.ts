// Original file: src/proto/kms/v1/key_management_service.proto


export interface ChangeContext {
  'reason'?: (string);
  'change_ticket'?: (string);
}

export interface ChangeContext__Output {
  'reason': (string);
  'change_ticket': (string);
}
