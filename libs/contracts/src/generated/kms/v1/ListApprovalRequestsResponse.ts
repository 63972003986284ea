// Original file: src/proto/kms/v1/key_management_service.proto

import type { ApprovalRequest as _kms_v1_ApprovalRequest, ApprovalRequest__Output as _kms_v1_ApprovalRequest__Output } from '../../kms/v1/ApprovalRequest';

export interface ListApprovalRequestsResponse {
  'requests'?: (_kms_v1_ApprovalRequest)[];
}

export interface ListApprovalRequestsResponse__Output {
  'requests': (_kms_v1_ApprovalRequest__Output)[];
}
