import { ruleOfApprovedOperation, type ApprovalStepUp } from '@kms/domain';
import type { CallScope } from '../calls/call-pipeline';
import type { ChangeContext } from '../keys/key-lifecycle.service';
import type { ApprovalService, ApprovedOperationOutput, ExistingApproval } from './approval.service';
import type { Authorizer } from './authorizer';

/**
 * ApproveRequest, whatever the transport (gRPC ApprovalService, the console): the approver must be
 * allowed the operation itself, then ApprovalService (its decider: deadline, self-approval, ties to
 * the requester) grants and runs it. The call's audit record names the approval and its outcome.
 */
export async function approveRequest(
  deps: { approvals: ApprovalService; authorizer: Authorizer },
  scope: CallScope,
  approvalId: unknown,
  ctx: ChangeContext,
  evidence: { stepUp?: ApprovalStepUp; before?: (pending: ExistingApproval) => Promise<{ stepUp: ApprovalStepUp }> } = {},
): Promise<ExistingApproval & { output?: ApprovedOperationOutput }> {
  const pending = await deps.approvals.get(approvalId);
  const op = pending.approval.operation;
  scope.facts.details = { ...scope.facts.details, approvalId: pending.approval.approvalId, operation: op, targetId: pending.approval.targetId };
  // The approver must be someone allowed to perform the operation itself.
  deps.authorizer.forOperation(scope.principal, ruleOfApprovedOperation(op));
  const stepUp = evidence.before ? (await evidence.before(pending)).stepUp : evidence.stepUp;
  const done = await deps.approvals.approve(pending.approval.approvalId, ctx, stepUp ? { stepUp } : {});
  const issued = done.output?.issuedCredential;
  scope.facts.details = {
    ...scope.facts.details,
    status: done.status,
    ...(stepUp ? { stepUpCredentialId: stepUp.credentialId } : {}),
    ...(done.approval.errorCode ? { executionError: done.approval.errorCode } : {}),
    // Who received a rotated or new credential (never the secret itself).
    ...(issued ? { credentialIssuedTo: scope.principal.identityId } : {}),
  };
  return done;
}
