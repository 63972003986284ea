import type { Decider } from '../events/decider';
import { APPROVAL_STREAM_PREFIX } from '../events/stream-ids';
import { KmsError } from '../errors/kms-error';
import type { CommandMetadata } from '../key/key.commands';
import type { EventMetadata } from '../key/key.events';
import type { DualAuthorizedOperation } from './access-types';
import { approverTiedToRequester, type IdentityProvenance } from './identity.decider';

type Event<T extends string, D> = { type: T; data: D; metadata: EventMetadata };
type Command<T extends string, D> = { type: T; data: D; metadata: CommandMetadata };

/** The operation waiting for a second person, with everything needed to run it later. */
export interface PendingOperation {
  operation: DualAuthorizedOperation;
  /** Key or identity the operation targets. */
  targetId: string;
  /** Operation arguments (never secrets). */
  params: Record<string, string | number | boolean | null | Record<string, string[]> | Record<string, string>>;
}

export type ApprovalRequested = Event<
  'ApprovalRequested',
  PendingOperation & { approvalId: string; requester: string; changeTicket: string; expiresAt: string }
>;
/**
 * The approver's step-up FIDO2 assertion (console approvals, docs/console.md), kept in the sealed
 * history so anyone can re-verify offline that the approver's security key signed *this* decision:
 * the WebAuthn challenge is base64url(SHA-256(canonical JSON of `binding`)), and the signature covers
 * authenticatorData ‖ SHA-256(clientDataJSON) under the credential's COSE public key. All base64url.
 */
export interface ApprovalStepUp {
  /** `kms-approval-step-up-v1`: how the challenge is derived from the binding. */
  scheme: string;
  /** What was signed: approval id, change ticket, decision, approver identity id and a random nonce. */
  binding: { approval_id: string; change_ticket: string; decision: 'approve'; identity_id: string; nonce: string };
  credentialId: string;
  authenticatorData: string;
  clientDataJSON: string;
  signature: string;
  /** The credential's COSE public key (public; the fingerprint alone would not let anyone verify). */
  publicKey: string;
  /** COSE algorithm of the key (-7 ES256, -257 RS256, -8 EdDSA). */
  algorithm: number;
  /** The WebAuthn relying-party id the assertion was verified for (its SHA-256 is authenticatorData's rpIdHash); absent in approvals made before it was recorded. */
  rpId?: string;
}
export type ApprovalGranted = Event<'ApprovalGranted', { approvalId: string; approver: string; stepUp?: ApprovalStepUp }>;
export type ApprovalRejected = Event<'ApprovalRejected', { approvalId: string; rejecter: string }>;
export type ApprovalExpired = Event<'ApprovalExpired', { approvalId: string }>;
/** The approved operation ran; outcome records whether it succeeded. */
export type ApprovedOperationExecuted = Event<
  'ApprovedOperationExecuted',
  { approvalId: string; outcome: 'SUCCEEDED' | 'FAILED'; errorCode?: string }
>;
export type ApprovalEvent = ApprovalRequested | ApprovalGranted | ApprovalRejected | ApprovalExpired | ApprovedOperationExecuted;

export type RequestApproval = Command<
  'RequestApproval',
  PendingOperation & { approvalId: string; changeTicket: string; expiresAt: Date }
>;
/** Who approves: their identity as registered, so the decider can tell whether the requester made it. */
export type GrantApproval = Command<'GrantApproval', { approver: IdentityProvenance; stepUp?: ApprovalStepUp }>;
export type RejectApproval = Command<'RejectApproval', Record<string, never>>;
export type ExpireApproval = Command<'ExpireApproval', Record<string, never>>;
export type RecordExecution = Command<'RecordExecution', { outcome: 'SUCCEEDED' | 'FAILED'; errorCode?: string }>;
export type ApprovalCommand = RequestApproval | GrantApproval | RejectApproval | ExpireApproval | RecordExecution;

export interface ApprovalRecord extends PendingOperation {
  approvalId: string;
  requester: string;
  changeTicket: string;
  reason?: string;
  requestedAt: string;
  expiresAt: string;
  approver?: string;
  decidedAt?: string;
  errorCode?: string;
  /** The approver's step-up FIDO2 assertion, when the approval was confirmed with one (console approvals). */
  stepUp?: ApprovalStepUp;
}

export type ApprovalState =
  | { status: 'None' }
  | { status: 'Pending'; approval: ApprovalRecord }
  | { status: 'Approved'; approval: ApprovalRecord }
  | { status: 'Executed'; approval: ApprovalRecord }
  | { status: 'ExecutionFailed'; approval: ApprovalRecord }
  | { status: 'Rejected'; approval: ApprovalRecord }
  | { status: 'Expired'; approval: ApprovalRecord };

export function approvalStreamId(approvalId: string): string {
  return `${APPROVAL_STREAM_PREFIX}${approvalId}`;
}

function meta(m: CommandMetadata): EventMetadata {
  return {
    actor: m.actor,
    correlationId: m.correlationId,
    occurredAt: m.now.toISOString(),
    ...(m.reason ? { reason: m.reason } : {}),
    ...(m.changeTicket ? { changeTicket: m.changeTicket } : {}),
  };
}

function pending(state: ApprovalState): Extract<ApprovalState, { status: 'Pending' }> {
  if (state.status === 'None') throw new KmsError('APPROVAL_NOT_FOUND', 'approval request not found', 'approval_id');
  if (state.status !== 'Pending') {
    throw new KmsError('APPROVAL_NOT_PENDING', `approval request is ${state.status.toLowerCase()}, not pending`, 'approval_id');
  }
  return state;
}

/**
 * Dual authorization: a request carries a change ticket and a deadline; a second, different person
 * approves before the deadline; the requester can never approve their own request, nor through an
 * identity the requester created or last changed (or approved that for, receiving its credential).
 */
export function decideApproval(command: ApprovalCommand, state: ApprovalState): ApprovalEvent[] {
  const metadata = meta(command.metadata);
  const now = command.metadata.now.getTime();
  switch (command.type) {
    case 'RequestApproval': {
      if (state.status !== 'None') throw new KmsError('APPROVAL_NOT_PENDING', 'approval request already exists', 'approval_id');
      if (!command.data.changeTicket) throw new KmsError('INVALID_ARGUMENT', 'context.change_ticket: a change ticket is required for operations that need approval', 'context.change_ticket');
      const { expiresAt, ...rest } = command.data;
      return [
        {
          type: 'ApprovalRequested',
          data: { ...rest, requester: command.metadata.actor, expiresAt: expiresAt.toISOString() },
          metadata,
        },
      ];
    }
    case 'GrantApproval': {
      const s = pending(state);
      if (Date.parse(s.approval.expiresAt) <= now) {
        throw new KmsError('APPROVAL_EXPIRED', `approval request expired at ${s.approval.expiresAt}`, 'approval_id');
      }
      if (command.metadata.actor === s.approval.requester) {
        throw new KmsError('SELF_APPROVAL', 'the requester cannot approve their own request; a second person must', 'approval_id');
      }
      // Nobody consents to a change of themselves (their own roles, say): that would be one person's decision.
      if (command.metadata.actor === s.approval.targetId) {
        throw new KmsError('SELF_APPROVAL', 'permission denied: the approver is the identity this change is about; an independent person must approve', 'approval_id');
      }
      const tie = approverTiedToRequester(command.data.approver, s.approval.requester);
      if (tie) {
        throw new KmsError(
          'SELF_APPROVAL',
          `permission denied: the approving identity ${tie}; an independent person, not created or last changed by the requester, must approve`,
          'approval_id',
        );
      }
      const stepUp = command.data.stepUp;
      if (stepUp && (stepUp.binding.approval_id !== s.approval.approvalId || stepUp.binding.identity_id !== command.metadata.actor || stepUp.binding.change_ticket !== s.approval.changeTicket)) {
        throw new KmsError('PERMISSION_DENIED', 'permission denied: the step-up assertion was made for another approval, change ticket or person', 'ceremony_id');
      }
      return [{ type: 'ApprovalGranted', data: { approvalId: s.approval.approvalId, approver: command.metadata.actor, ...(stepUp ? { stepUp } : {}) }, metadata }];
    }
    case 'RejectApproval': {
      const s = pending(state);
      return [{ type: 'ApprovalRejected', data: { approvalId: s.approval.approvalId, rejecter: command.metadata.actor }, metadata }];
    }
    case 'ExpireApproval': {
      if (state.status !== 'Pending') return [];
      if (Date.parse(state.approval.expiresAt) > now) return [];
      return [{ type: 'ApprovalExpired', data: { approvalId: state.approval.approvalId }, metadata }];
    }
    case 'RecordExecution': {
      if (state.status !== 'Approved') throw new KmsError('APPROVAL_NOT_PENDING', 'only an approved request can be executed', 'approval_id');
      return [
        {
          type: 'ApprovedOperationExecuted',
          data: {
            approvalId: state.approval.approvalId,
            outcome: command.data.outcome,
            ...(command.data.errorCode ? { errorCode: command.data.errorCode } : {}),
          },
          metadata,
        },
      ];
    }
    default: {
      const never: never = command;
      throw new Error(`unhandled command ${JSON.stringify(never)}`);
    }
  }
}

export function evolveApproval(state: ApprovalState, event: ApprovalEvent): ApprovalState {
  switch (event.type) {
    case 'ApprovalRequested':
      return {
        status: 'Pending',
        approval: {
          ...event.data,
          requestedAt: event.metadata.occurredAt,
          ...(event.metadata.reason ? { reason: event.metadata.reason } : {}),
        },
      };
    case 'ApprovalGranted':
      if (state.status !== 'Pending') return state;
      return {
        status: 'Approved',
        approval: { ...state.approval, approver: event.data.approver, decidedAt: event.metadata.occurredAt, ...(event.data.stepUp ? { stepUp: event.data.stepUp } : {}) },
      };
    case 'ApprovalRejected':
      if (state.status !== 'Pending') return state;
      return { status: 'Rejected', approval: { ...state.approval, approver: event.data.rejecter, decidedAt: event.metadata.occurredAt } };
    case 'ApprovalExpired':
      if (state.status !== 'Pending') return state;
      return { status: 'Expired', approval: { ...state.approval, decidedAt: event.metadata.occurredAt } };
    case 'ApprovedOperationExecuted':
      if (state.status !== 'Approved') return state;
      return event.data.outcome === 'SUCCEEDED'
        ? { status: 'Executed', approval: state.approval }
        : { status: 'ExecutionFailed', approval: { ...state.approval, ...(event.data.errorCode ? { errorCode: event.data.errorCode } : {}) } };
    default: {
      const never: never = event;
      throw new Error(`unhandled event ${JSON.stringify(never)}`);
    }
  }
}

/** The approval aggregate as a Decider. */
export const approvalDecider: Decider<ApprovalCommand, ApprovalEvent, ApprovalState> = {
  decide: decideApproval,
  evolve: evolveApproval,
  initialState: () => ({ status: 'None' }),
};
