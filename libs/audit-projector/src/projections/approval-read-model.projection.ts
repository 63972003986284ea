import { type ApprovalEvent, type ApprovalState, evolveApproval } from '@kms/domain';

export interface ApprovalRow {
  approvalId: string;
  operation: string;
  targetId: string;
  requester: string;
  changeTicket: string;
  reason: string | null;
  status: string;
  approver: string | null;
  requestedAt: string;
  expiresAt: string;
  decidedAt: string | null;
  errorCode: string | null;
  params: Record<string, unknown>;
  record: ApprovalState;
  lastPosition: string;
}

/** evolve(readModel, event) for approval requests, through the domain's evolveApproval. */
export function evolveApprovalReadModel(current: ApprovalState, event: ApprovalEvent, position: bigint): ApprovalRow {
  const next = evolveApproval(current, event);
  if (next.status === 'None') throw new TypeError(`${event.type} left the approval request unknown`);
  const a = next.approval;
  return {
    approvalId: a.approvalId,
    operation: a.operation,
    targetId: a.targetId,
    requester: a.requester,
    changeTicket: a.changeTicket,
    reason: a.reason ?? null,
    status: next.status,
    approver: a.approver ?? null,
    requestedAt: a.requestedAt,
    expiresAt: a.expiresAt,
    decidedAt: a.decidedAt ?? null,
    errorCode: a.errorCode ?? null,
    params: a.params,
    record: next,
    lastPosition: position.toString(),
  };
}
