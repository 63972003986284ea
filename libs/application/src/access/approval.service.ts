import { randomUUID } from 'node:crypto';
import {
  type ApprovalCommand,
  type ApprovalEvent,
  type ApprovalRecord,
  type ApprovalState,
  type ApprovalStepUp,
  approvalStreamId,
  type CommandMetadata,
  APPROVAL_STREAM_PREFIX,
  approvalDecider,
  approvalEventCodec,
  DEFAULT_APPROVAL_TTL_HOURS,
  type IdentityProvenance,
  isUuid,
  invalidArgument,
  KmsError,
  type PendingOperation,
} from '@kms/domain';
import type { EventStore } from '@kms/event-store';
import type { Clock } from '../ports/audit-log.port';
import { handleCommand } from '../changes/handle-command';
import type { ChangeContext } from '../keys/key-lifecycle.service';
import { AggregateCache } from './aggregate-cache';
import { keepWritesOnFailure } from '../changes/call-transaction';
import type { NotificationSink } from './notification-sink.port';
import type { IssuedEnrolmentLink } from '../factors/person-factors.service';

/** Runs an approved operation as the requester, with the approver recorded. */
/**
 * What an executed operation hands back to the approver, never stored: a credential rotated with
 * two people's consent is given to the second person, in the ApproveRequest answer only.
 */
export interface ApprovedOperationOutput {
  issuedCredential?: { clientId: string; clientSecret: string };
  /** An enrolment link for another person: the approver hands it over. */
  enrolmentLink?: IssuedEnrolmentLink;
}

export type ApprovedOperationRunner = (op: PendingOperation, ctx: ChangeContext) => Promise<ApprovedOperationOutput | void>;

/** Who made an approving identity (its registration and latest change), looked up by identity id. */
export type ApproverLookup = (identityId: string) => Promise<IdentityProvenance>;

export type ExistingApproval = Exclude<ApprovalState, { status: 'None' }>;

const HOUR = 60 * 60 * 1000;

/**
 * Dual authorization: manual operations become approval requests that run only after a second,
 * different, authorised person approves before the deadline. Every step is an event and a notification.
 */
export class ApprovalService {
  readonly cache: AggregateCache<ApprovalCommand, ApprovalEvent, ApprovalState>;
  private runner?: ApprovedOperationRunner;
  private approverOf?: ApproverLookup;

  constructor(
    private readonly store: EventStore,
    private readonly clock: Clock,
    private readonly notifications: NotificationSink,
    private readonly ttlHours = DEFAULT_APPROVAL_TTL_HOURS,
  ) {
    this.cache = new AggregateCache(store, APPROVAL_STREAM_PREFIX, approvalDecider, approvalEventCodec, (s) => s.status !== 'None');
  }

  /** Set once at wiring time: how approved operations run, and how an approver's identity is found. */
  useRunner(runner: ApprovedOperationRunner, approverOf: ApproverLookup): void {
    this.runner = runner;
    this.approverOf = approverOf;
  }

  private metadata(ctx: ChangeContext): CommandMetadata {
    return {
      now: this.clock.now(),
      actor: ctx.actor,
      correlationId: ctx.correlationId,
      ...(ctx.reason ? { reason: ctx.reason } : {}),
      ...(ctx.changeTicket ? { changeTicket: ctx.changeTicket } : {}),
    };
  }

  private async execute(approvalId: string, command: ApprovalCommand, expectNew = false): Promise<ApprovalState> {
    const { state } = await handleCommand(this.store, approvalDecider, approvalEventCodec, approvalStreamId(approvalId), () => ({ command }), {
      expectNew,
      retries: 0,
      // Told once the step is durable: a notification must never announce a step that did not happen.
      onCommitted: async (next, version, events) => {
        this.cache.put(approvalId, next, version);
        for (const e of events) await this.notify(e, next);
      },
      conflict: () => new KmsError('APPROVAL_NOT_PENDING', 'approval request changed concurrently; look again', 'approval_id'),
    });
    return state;
  }

  private async notify(e: ApprovalEvent, state: ApprovalState): Promise<void> {
    if (state.status === 'None') return;
    const a = state.approval;
    await this.notifications
      .notify({
        type: e.type,
        time: e.metadata.occurredAt,
        subject: {
          approvalId: a.approvalId,
          operation: a.operation,
          targetId: a.targetId,
          requester: a.requester,
          changeTicket: a.changeTicket,
          status: state.status,
          expiresAt: a.expiresAt,
          actor: e.metadata.actor,
        },
      })
      .catch(() => undefined); // a notification channel outage must not undo a recorded decision
  }

  /** Create a request. The change ticket is mandatory. */
  async request(op: PendingOperation, ctx: ChangeContext): Promise<ApprovalRecord> {
    const approvalId = randomUUID();
    const expiresAt = new Date(this.clock.now().getTime() + this.ttlHours * HOUR);
    const state = await this.execute(
      approvalId,
      { type: 'RequestApproval', data: { ...op, approvalId, changeTicket: ctx.changeTicket ?? '', expiresAt }, metadata: this.metadata(ctx) },
      true,
    );
    if (state.status === 'None') throw new KmsError('APPROVAL_NOT_FOUND', 'approval request not found', 'approval_id');
    // The request stands although the call that made it is answered APPROVAL_REQUIRED.
    keepWritesOnFailure();
    return state.approval;
  }

  async get(approvalId: unknown): Promise<ExistingApproval> {
    if (typeof approvalId !== 'string' || !isUuid(approvalId)) throw invalidArgument('approval_id', 'must be an approval request id (UUID)');
    const { state } = await this.cache.load(approvalId);
    if (state.status === 'None') throw new KmsError('APPROVAL_NOT_FOUND', 'approval request not found', 'approval_id');
    return state;
  }

  list(status?: ExistingApproval['status']): ExistingApproval[] {
    return this.cache
      .all()
      .filter((s): s is ExistingApproval => s.status !== 'None' && (!status || s.status === status))
      .sort((a, b) => a.approval.requestedAt.localeCompare(b.approval.requestedAt));
  }

  /**
   * A second person approves: the deadline and self-approval — including approving through an
   * identity the requester created or last changed — are checked by the decider; then the operation
   * runs as the requester with the approver recorded, and its outcome is recorded too. A console
   * approval passes the approver's verified step-up assertion, sealed with the grant.
   */
  async approve(approvalId: string, ctx: ChangeContext, evidence: { stepUp?: ApprovalStepUp } = {}): Promise<ExistingApproval & { output?: ApprovedOperationOutput }> {
    const current = await this.get(approvalId);
    if (current.status === 'Expired') {
      throw new KmsError('APPROVAL_EXPIRED', `approval request expired at ${current.approval.expiresAt}; nothing was done`, 'approval_id');
    }
    if (current.status === 'Pending' && Date.parse(current.approval.expiresAt) <= this.clock.now().getTime()) {
      await this.execute(approvalId, { type: 'ExpireApproval', data: {}, metadata: this.metadata(ctx) });
      keepWritesOnFailure(); // the expiry is recorded although the approval is refused
      throw new KmsError('APPROVAL_EXPIRED', `approval request expired at ${current.approval.expiresAt}; nothing was done`, 'approval_id');
    }
    if (!this.runner || !this.approverOf) throw new Error('approval runner not configured');
    const approver = await this.approverOf(ctx.actor);
    const granted = await this.execute(approvalId, { type: 'GrantApproval', data: { approver, ...(evidence.stepUp ? { stepUp: evidence.stepUp } : {}) }, metadata: this.metadata(ctx) });
    if (granted.status !== 'Approved') throw new KmsError('APPROVAL_NOT_PENDING', 'approval request is not pending', 'approval_id');
    const a = granted.approval;
    let outcome: { outcome: 'SUCCEEDED' | 'FAILED'; errorCode?: string } = { outcome: 'SUCCEEDED' };
    let output: ApprovedOperationOutput | undefined;
    try {
      output = (await this.runner(
        { operation: a.operation, targetId: a.targetId, params: a.params },
        {
          actor: a.requester,
          correlationId: ctx.correlationId,
          changeTicket: a.changeTicket,
          ...(a.reason ? { reason: a.reason } : {}),
          approvers: [ctx.actor],
          approvalId: a.approvalId,
        },
      )) ?? undefined;
    } catch (e) {
      outcome = { outcome: 'FAILED', errorCode: e instanceof KmsError ? e.code : 'INTERNAL' };
    }
    const done = await this.execute(approvalId, { type: 'RecordExecution', data: outcome, metadata: this.metadata(ctx) });
    if (done.status === 'None') throw new KmsError('APPROVAL_NOT_FOUND', 'approval request not found', 'approval_id');
    return output ? { ...done, output } : done;
  }

  async reject(approvalId: string, ctx: ChangeContext): Promise<ExistingApproval> {
    await this.get(approvalId);
    const s = await this.execute(approvalId, { type: 'RejectApproval', data: {}, metadata: this.metadata(ctx) });
    if (s.status === 'None') throw new KmsError('APPROVAL_NOT_FOUND', 'approval request not found', 'approval_id');
    return s;
  }

  /** Mark every pending request past its deadline as expired. Returns how many. */
  async expireDue(ctx: ChangeContext): Promise<number> {
    const now = this.clock.now().getTime();
    let n = 0;
    for (const s of this.list('Pending')) {
      if (Date.parse(s.approval.expiresAt) > now) continue;
      const after = await this.execute(s.approval.approvalId, { type: 'ExpireApproval', data: {}, metadata: this.metadata(ctx) }).catch(() => s);
      if (after.status === 'Expired') n++;
    }
    return n;
  }
}
