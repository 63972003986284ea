// Original file: src/proto/kms/v1/key_management_service.proto

import type { IdentityCredential as _kms_v1_IdentityCredential, IdentityCredential__Output as _kms_v1_IdentityCredential__Output } from '../../kms/v1/IdentityCredential';
import type { EnrolmentLink as _kms_v1_EnrolmentLink, EnrolmentLink__Output as _kms_v1_EnrolmentLink__Output } from '../../kms/v1/EnrolmentLink';

export interface ApprovalRequest {
  'approval_id'?: (string);
  'operation'?: (string);
  'target_id'?: (string);
  'params_json'?: (string);
  'requester'?: (string);
  'change_ticket'?: (string);
  'reason'?: (string);
  'status'?: (string);
  'request_time'?: (string);
  'expire_time'?: (string);
  'approver'?: (string);
  'decide_time'?: (string);
  'error_code'?: (string);
  'issued_credential'?: (_kms_v1_IdentityCredential | null);
  'issued_enrolment_link'?: (_kms_v1_EnrolmentLink | null);
}

export interface ApprovalRequest__Output {
  'approval_id': (string);
  'operation': (string);
  'target_id': (string);
  'params_json': (string);
  'requester': (string);
  'change_ticket': (string);
  'reason': (string);
  'status': (string);
  'request_time': (string);
  'expire_time': (string);
  'approver': (string);
  'decide_time': (string);
  'error_code': (string);
  'issued_credential': (_kms_v1_IdentityCredential__Output | null);
  'issued_enrolment_link': (_kms_v1_EnrolmentLink__Output | null);
}
