// Original file: src/proto/kms/v1/key_management_service.proto


export interface ApprovalRequestId {
  'approval_id'?: (string);
}

export interface ApprovalRequestId__Output {
  'approval_id': (string);
}
