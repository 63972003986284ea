import { KmsError } from '../errors/kms-error';
import type { CommandMetadata } from '../key/key.commands';
import type { EventMetadata } from '../key/key.events';
import type { DualAuthorizedOperation } from './access-types';

type Event<T extends string, D> = { type: T; data: D; metadata: EventMetadata };
type Command<T extends string, D> = { type: T; data: D; metadata: CommandMetadata };

/** The operation waiting for a second person, with everything needed to run it later. */
export interface PendingOperation {
  operation: DualAuthorizedOperation;
  /** Key or identity the operation targets. */
  targetId: string;
  /** Operation arguments (never secrets). */
  params: Record<string, string | number | boolean | null | Record<string, string[]>>;
}

export type ApprovalRequested = Event<
  'ApprovalRequested',
  PendingOperation & { approvalId: string; requester: string; changeTicket: string; expiresAt: string }
>;
export type ApprovalGranted = Event<'ApprovalGranted', { approvalId: string; approver: string }>;
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
export type GrantApproval = Command<'GrantApproval', Record<string, never>>;
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
  return `approval-${approvalId}`;
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
 * approves before the deadline; the requester can never approve their own request.
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
      return [{ type: 'ApprovalGranted', data: { approvalId: s.approval.approvalId, approver: command.metadata.actor }, metadata }];
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
      return { status: 'Approved', approval: { ...state.approval, approver: event.data.approver, decidedAt: event.metadata.occurredAt } };
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
