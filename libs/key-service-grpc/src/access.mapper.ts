import type { ExistingApproval } from '@kms/application';
import type { IdentityRecord, IdentityState } from '@kms/domain';

const APPROVAL_STATUS: Record<ExistingApproval['status'], string> = {
  Pending: 'PENDING',
  Approved: 'APPROVED',
  Executed: 'EXECUTED',
  ExecutionFailed: 'EXECUTION_FAILED',
  Rejected: 'REJECTED',
  Expired: 'EXPIRED',
};

export const APPROVAL_STATUS_NAMES = Object.values(APPROVAL_STATUS);

/** The API name of an approval's status (PENDING, EXECUTED, …), as ApprovalService answers it. */
export function approvalStatusName(status: ExistingApproval['status']): string {
  return APPROVAL_STATUS[status];
}

export function approvalStatusFromName(name: string): ExistingApproval['status'] | undefined {
  return (Object.entries(APPROVAL_STATUS) as Array<[ExistingApproval['status'], string]>).find(([, n]) => n === name)?.[0];
}

export function toProtoIdentity(s: Exclude<IdentityState, { status: 'Unregistered' }>) {
  const i: IdentityRecord = s.identity;
  return { identity_id: i.identityId, name: i.name, kind: i.kind, roles: i.roles, suspended: s.status === 'Suspended', create_time: i.createdAt };
}

export function toProtoApproval(s: ExistingApproval) {
  const a = s.approval;
  return {
    approval_id: a.approvalId,
    operation: a.operation,
    target_id: a.targetId,
    params_json: JSON.stringify(a.params),
    requester: a.requester,
    change_ticket: a.changeTicket,
    reason: a.reason ?? '',
    status: APPROVAL_STATUS[s.status],
    request_time: a.requestedAt,
    expire_time: a.expiresAt,
    approver: a.approver ?? '',
    decide_time: a.decidedAt ?? '',
    error_code: a.errorCode ?? '',
  };
}
