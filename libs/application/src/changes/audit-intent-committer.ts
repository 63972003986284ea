import type { AppendResult, EventStore, StreamWrite } from '@kms/event-store';
import type { AuditRecord, Clock } from '../ports/audit-log.port';
import {
  AUDIT_RECORD_ID,
  type Change,
  type ChangeCommitter,
  DuplicateRequestError,
  type IdempotencyEntry,
  type IdempotencyStore,
  PartialChangeError,
} from './change-committer.port';

/** An audit record made durable before its change was appended; completed once the outcome is known. */
export interface AuditIntent {
  /** The audit record's id, also carried by every event of the change (metadata.auditRecordId). */
  id: string;
  record: AuditRecord;
  idempotency?: IdempotencyEntry;
  streams: string[];
  createdAt: Date;
}

/** Where intents wait for completion (PostgreSQL in production, beside the audit log). */
export interface AuditIntentStore extends IdempotencyStore {
  /** Durable before the append. */
  put(intent: AuditIntent): Promise<void>;
  /** Write the final audit record (and idempotency entry) and drop the intent, atomically. */
  complete(intentId: string, record: AuditRecord, idempotency?: IdempotencyEntry): Promise<void>;
  /** Drop an intent whose change certainly did not commit. */
  discard(intentId: string): Promise<void>;
  /** Intents created before `before`, oldest first. */
  pending(before: Date): Promise<AuditIntent[]>;
}

/** Tag every event of a change with the audit record that accounts for it. */
export function tagWrites(writes: StreamWrite[], auditRecordId: string): StreamWrite[] {
  return writes.map((w) => ({ ...w, events: w.events.map((e) => ({ ...e, metadata: { ...e.metadata, [AUDIT_RECORD_ID]: auditRecordId } })) }));
}

/**
 * Change committer for an event store that cannot share a transaction with the audit log
 * (EventStoreDB): the audit record is made durable as an intent before anything is appended, the
 * events carry its id, and the intent is completed afterwards. A crash or an audit outage in
 * between leaves the intent, which AuditIntentReconciler completes from what the store holds.
 *
 * Several streams are appended one after another, not atomically: a crash between them leaves a
 * partial change, which the reconciler records as such.
 */
export class AuditIntentCommitter implements ChangeCommitter {
  constructor(
    private readonly store: EventStore,
    private readonly intents: AuditIntentStore,
    private readonly clock: Clock,
    /** Test hook: called between the append and the completion (fault injection). */
    private readonly afterAppend?: (change: Change) => void,
  ) {}

  async commit(change: Change): Promise<AppendResult[]> {
    const id = change.audit.id;
    if (change.idempotency && (await this.intents.find(change.idempotency.actor, change.idempotency.requestId))) {
      throw new DuplicateRequestError(change.idempotency.actor, change.idempotency.requestId);
    }
    const writes = tagWrites(change.writes, id);
    await this.intents.put({
      id,
      record: change.audit,
      ...(change.idempotency ? { idempotency: change.idempotency } : {}),
      streams: writes.map((w) => w.streamId),
      createdAt: this.clock.now(),
    });
    const results: AppendResult[] = [];
    for (const w of writes) {
      try {
        results.push(await this.store.appendToStream(w.streamId, w.events, { expectedVersion: w.expectedVersion }));
      } catch (e) {
        // Nothing appended yet: the change did not happen and the intent can go. After a partial
        // append the intent stays for the reconciler, which records what did commit.
        if (results.length === 0) {
          await this.intents.discard(id).catch(() => undefined);
          throw e;
        }
        throw new PartialChangeError(
          writes.slice(0, results.length).map((x) => x.streamId),
          e,
        );
      }
    }
    this.afterAppend?.(change);
    // The change is committed and its intent is durable: an audit outage now must not make the
    // caller believe it failed. The reconciler completes the intent later.
    await this.intents.complete(id, change.audit, change.idempotency).catch(() => undefined);
    return results;
  }
}

/** Outcome of one reconciliation pass. */
export interface ReconcileReport {
  completed: number;
  notCommitted: number;
  partial: number;
}

/**
 * Completes audit intents left by a crash or an audit outage: the event store says whether the
 * change committed (its events carry the intent's id). Committed → the recorded outcome, marked
 * reconciled; nothing committed → FAILURE `NOT_COMMITTED`; some streams only → marked partial.
 * Run at start and on a timer; only intents older than the grace period are touched, so a change
 * still being appended is left alone.
 */
export class AuditIntentReconciler {
  private timer?: NodeJS.Timeout;
  private running?: Promise<ReconcileReport>;

  constructor(
    private readonly store: EventStore,
    private readonly intents: AuditIntentStore,
    private readonly clock: Clock,
    private readonly graceMs = 30_000,
  ) {}

  reconcile(): Promise<ReconcileReport> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  start(intervalMs: number): void {
    void this.reconcile().catch(() => undefined);
    if (intervalMs <= 0) return;
    this.timer = setInterval(() => void this.reconcile().catch(() => undefined), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  private async pass(): Promise<ReconcileReport> {
    const report: ReconcileReport = { completed: 0, notCommitted: 0, partial: 0 };
    const due = await this.intents.pending(new Date(this.clock.now().getTime() - this.graceMs));
    for (const intent of due) {
      const committed: string[] = [];
      for (const streamId of intent.streams) {
        const { events } = await this.store.readStream(streamId);
        if (events.some((e) => e.metadata[AUDIT_RECORD_ID] === intent.id)) committed.push(streamId);
      }
      if (committed.length === 0) {
        // No idempotency entry: a retry of a call that never happened should run.
        await this.intents.complete(intent.id, {
          ...intent.record,
          outcome: 'FAILURE',
          errorCode: 'NOT_COMMITTED',
          details: { ...intent.record.details, reconciled: true },
        });
        report.notCommitted++;
        continue;
      }
      const partial = committed.length < intent.streams.length;
      await this.intents.complete(
        intent.id,
        { ...intent.record, details: { ...intent.record.details, reconciled: true, ...(partial ? { partialStreams: committed.join(',') } : {}) } },
        intent.idempotency,
      );
      if (partial) report.partial++;
      else report.completed++;
    }
    return report;
  }
}
