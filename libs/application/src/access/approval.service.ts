import { randomUUID } from 'node:crypto';
import {
  type ApprovalCommand,
  type ApprovalEvent,
  type ApprovalRecord,
  type ApprovalState,
  approvalStreamId,
  type CommandMetadata,
  decideApproval,
  DEFAULT_APPROVAL_TTL_HOURS,
  evolveApproval,
  isUuid,
  invalidArgument,
  KmsError,
  type PendingOperation,
} from '@kms/domain';
import { type EventStore, WrongExpectedVersionError } from '@kms/event-store';
import type { Clock } from '../ports/audit-log.port';
import { storeError } from '../keys/key-repository';
import type { ChangeContext } from '../keys/key-lifecycle.service';
import { AggregateCache } from './aggregate-cache';
import type { NotificationSink } from './notification-sink.port';

/** Runs an approved operation as the requester, with the approver recorded. */
/**
 * What an executed operation hands back to the approver, never stored: a credential rotated with
 * two people's consent is given to the second person, in the ApproveRequest answer only.
 */
export interface ApprovedOperationOutput {
  issuedCredential?: { clientId: string; clientSecret: string };
}

export type ApprovedOperationRunner = (op: PendingOperation, ctx: ChangeContext) => Promise<ApprovedOperationOutput | void>;

export type ExistingApproval = Exclude<ApprovalState, { status: 'None' }>;

const HOUR = 60 * 60 * 1000;

/**
 * Dual authorization: manual operations become approval requests that run only after a second,
 * different, authorised person approves before the deadline. Every step is an event and a notification.
 */
export class ApprovalService {
  readonly cache: AggregateCache<ApprovalState, ApprovalEvent>;
  private runner?: ApprovedOperationRunner;

  constructor(
    private readonly store: EventStore,
    private readonly clock: Clock,
    private readonly notifications: NotificationSink,
    private readonly ttlHours = DEFAULT_APPROVAL_TTL_HOURS,
  ) {
    this.cache = new AggregateCache<ApprovalState, ApprovalEvent>(store, 'approval-', () => ({ status: 'None' }), evolveApproval);
  }

  /** Set once at wiring time: how approved operations run. */
  useRunner(runner: ApprovedOperationRunner): void {
    this.runner = runner;
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
    const { state, version } = expectNew ? { state: { status: 'None' } as ApprovalState, version: -1 } : await this.cache.reload(approvalId);
    const events = decideApproval(command, state);
    if (events.length === 0) return state;
    try {
      const appended = await this.store.appendToStream(
        approvalStreamId(approvalId),
        events.map((e) => ({ id: randomUUID(), type: e.type, data: { ...e.data }, metadata: { ...e.metadata } })),
        { expectedVersion: expectNew ? 'no_stream' : version },
      );
      const next = events.reduce(evolveApproval, state);
      this.cache.put(approvalId, next, appended.nextExpectedVersion);
      for (const e of events) await this.notify(e, next);
      return next;
    } catch (e) {
      if (e instanceof WrongExpectedVersionError) throw new KmsError('APPROVAL_NOT_PENDING', 'approval request changed concurrently; look again', 'approval_id');
      throw storeError(e);
    }
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
   * A second person approves: the deadline and self-approval are checked by the decider; then the
   * operation runs as the requester with the approver recorded, and its outcome is recorded too.
   */
  async approve(approvalId: string, ctx: ChangeContext): Promise<ExistingApproval & { output?: ApprovedOperationOutput }> {
    const current = await this.get(approvalId);
    if (current.status === 'Expired') {
      throw new KmsError('APPROVAL_EXPIRED', `approval request expired at ${current.approval.expiresAt}; nothing was done`, 'approval_id');
    }
    if (current.status === 'Pending' && Date.parse(current.approval.expiresAt) <= this.clock.now().getTime()) {
      await this.execute(approvalId, { type: 'ExpireApproval', data: {}, metadata: this.metadata(ctx) });
      throw new KmsError('APPROVAL_EXPIRED', `approval request expired at ${current.approval.expiresAt}; nothing was done`, 'approval_id');
    }
    const granted = await this.execute(approvalId, { type: 'GrantApproval', data: {}, metadata: this.metadata(ctx) });
    if (granted.status !== 'Approved') throw new KmsError('APPROVAL_NOT_PENDING', 'approval request is not pending', 'approval_id');
    if (!this.runner) throw new Error('approval runner not configured');
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
