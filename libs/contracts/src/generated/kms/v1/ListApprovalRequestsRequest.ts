// Original file: src/proto/kms/v1/key_management_service.proto


export interface ListApprovalRequestsRequest {
  'status'?: (string);
}

export interface ListApprovalRequestsRequest__Output {
  'status': (string);
}
