import { type EventFollower, type EventStore, followEvents } from '@kms/event-store';
import { LEDGER_LOGS } from '@kms/ledger';
import type { AuditRecordFeed } from '@kms/persistence-postgres';
import { Gauge, type Registry } from 'prom-client';
import type { LedgerStore } from '../ledger/ledger-store';
import type { ProjectionName, ProjectionStore } from './projection-store';

export interface ProjectionRunnerOptions {
  /** Events per projection transaction. Default 200. */
  eventBatch?: number;
  /** Audit records per read and transaction. Default 1000. */
  auditBatch?: number;
  /** How often a caught-up audit feed is polled. Default 200 ms. */
  pollIntervalMs?: number;
  /** How often a checkpoint is signed when the ledger grew. Default 10,000 ms; 0 disables. */
  checkpointIntervalMs?: number;
  /** Wait before resuming after a failure. Default 1000 ms. */
  retryDelayMs?: number;
}

export interface ProjectionStatus {
  name: ProjectionName;
  position: string;
  /** Source head when last known (audit feed; events when a head reader is given). */
  head: string | null;
  /** Seconds between the last projected record's time and when it was projected; 0 when caught up. */
  lagSeconds: number;
  caughtUp: boolean;
  lastError: string | null;
}

type Clock = { now(): Date };

/**
 * Runs the projections: a follower of the event store (followEvents, in batches) from the events
 * checkpoint, a polling reader of the audit feed from the audit checkpoint, and the periodic
 * checkpoint signer. Each batch moves its checkpoint in the same transaction as its rows, and after a
 * failure the follower hands the same events over again, which the store skips up to its checkpoint.
 */
export class ProjectionRunner {
  private eventsFollower?: EventFollower;
  private stopped = true;
  /** The last failed ledger checkpoint of each log, until one succeeds. */
  private readonly checkpointErrors: Record<ProjectionName, string | null> = { events: null, audit: null };
  private timers = new Set<NodeJS.Timeout>();
  private readonly sleepers = new Set<() => void>();
  private auditLoop?: Promise<void>;
  private readonly status: Record<ProjectionName, ProjectionStatus> = {
    events: { name: 'events', position: '0', head: null, lagSeconds: 0, caughtUp: false, lastError: null },
    audit: { name: 'audit', position: '0', head: null, lagSeconds: 0, caughtUp: false, lastError: null },
  };
  private readonly lagGauge?: Gauge;
  private readonly positionGauge?: Gauge;
  private readonly opts: Required<ProjectionRunnerOptions>;

  constructor(
    private readonly store: ProjectionStore,
    private readonly events: EventStore,
    private readonly audit: AuditRecordFeed,
    private readonly ledger: LedgerStore,
    private readonly clock: Clock,
    metrics?: Registry,
    options: ProjectionRunnerOptions = {},
    private readonly eventsHead?: () => Promise<bigint>,
  ) {
    this.opts = {
      eventBatch: options.eventBatch ?? 200,
      auditBatch: options.auditBatch ?? 1000,
      pollIntervalMs: options.pollIntervalMs ?? 200,
      checkpointIntervalMs: options.checkpointIntervalMs ?? 10_000,
      retryDelayMs: options.retryDelayMs ?? 1000,
    };
    if (metrics) {
      this.lagGauge = new Gauge({
        name: 'kms_audit_projection_lag_seconds',
        help: 'Age of the last record the projection wrote when it wrote it (0 when caught up).',
        labelNames: ['projection'],
        registers: [metrics],
      });
      this.positionGauge = new Gauge({
        name: 'kms_audit_projection_position',
        help: 'Last source position the projection committed.',
        labelNames: ['projection'],
        registers: [metrics],
      });
    }
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.followEvents();
    this.auditLoop = this.runAudit();
    if (this.opts.checkpointIntervalMs > 0) this.scheduleCheckpoints();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    // Wake the sleeping loops so they see `stopped` and end.
    for (const wake of this.sleepers) wake();
    this.sleepers.clear();
    await this.eventsFollower?.stop();
    this.eventsFollower = undefined;
    await this.auditLoop;
  }

  /**
   * Current status of both projections (for /readyz and the API). The events projection's error is
   * its follower's own, which clears once the follower recovers (an event handled, or the store
   * caught up with again) even when no new event arrives; a failed ledger checkpoint shows until
   * the next one succeeds.
   */
  snapshot(): ProjectionStatus[] {
    const follower = this.eventsFollower?.status();
    return LEDGER_LOGS.map((n) => {
      const s = { ...this.status[n] };
      if (n === 'events' && follower) s.lastError = follower.lastError;
      const checkpointError = this.checkpointErrors[n];
      if (s.lastError === null && checkpointError !== null) s.lastError = `ledger checkpoint: ${checkpointError}`;
      return s;
    });
  }

  /** Resolves once both projections have reached the given source positions. */
  async waitFor(target: { events?: bigint; audit?: bigint }, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const e = await this.store.checkpoint('events');
      const a = await this.store.checkpoint('audit');
      if ((target.events === undefined || e.position >= target.events) && (target.audit === undefined || a.position >= target.audit)) return;
      if (Date.now() > deadline) throw new Error(`projections did not reach ${JSON.stringify({ events: String(target.events), audit: String(target.audit) })} in time: ${JSON.stringify(this.snapshot())}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        this.sleepers.delete(resolve);
        resolve();
      }, ms);
      this.timers.add(t);
      this.sleepers.add(resolve);
    });
  }

  private record(name: ProjectionName, position: bigint, recordTime: Date | undefined, caughtUp: boolean): void {
    const s = this.status[name];
    s.position = position.toString();
    s.caughtUp = caughtUp;
    s.lastError = null;
    s.lagSeconds = caughtUp || !recordTime ? 0 : Math.max(0, (this.clock.now().getTime() - recordTime.getTime()) / 1000);
    this.lagGauge?.set({ projection: name }, s.lagSeconds);
    this.positionGauge?.set({ projection: name }, Number(position));
  }

  private fail(name: ProjectionName, e: unknown): void {
    this.status[name].lastError = e instanceof Error ? e.message : String(e);
  }

  private followEvents(): void {
    this.eventsFollower = followEvents(this.events, {
      name: 'audit-projector events',
      from: async () => {
        const cp = await this.store.checkpoint('events');
        this.status.events.position = cp.position.toString();
        return cp.position;
      },
      // A full batch is awaited (back-pressure); a partial one goes shortly, so live events are not held.
      batch: { size: this.opts.eventBatch, lingerMs: 5 },
      handleBatch: async (batch, context) => {
        await this.store.projectEvents(batch);
        const last = batch[batch.length - 1];
        if (last) this.record('events', last.globalPosition, last.recordedAt, context.atHead());
        if (this.eventsHead) this.status.events.head = (await this.eventsHead()).toString();
      },
      onCaughtUp: () => (this.status.events.caughtUp = true),
      // Its failures and its recovery are the follower's own status (snapshot), not copied here:
      // a copy would outlive the recovery until the next event.
      retry: { initialMs: this.opts.retryDelayMs, maxMs: this.opts.retryDelayMs },
    });
  }

  private async runAudit(): Promise<void> {
    while (!this.stopped) {
      try {
        const cp = await this.store.checkpoint('audit');
        const records = await this.audit.readAfter(cp.position, this.opts.auditBatch);
        if (records.length > 0) {
          await this.store.projectAuditRecords(records);
          const last = records[records.length - 1];
          // A batch call's row gives a record per item: more records than rows may still mean more rows.
          const full = records.length >= this.opts.auditBatch;
          this.record('audit', last.position, last.time, !full);
          if (full) continue;
        } else {
          this.record('audit', cp.position, undefined, true);
        }
        this.status.audit.head = (await this.audit.headPosition()).toString();
        await this.sleep(this.opts.pollIntervalMs);
      } catch (e) {
        this.fail('audit', e);
        await this.sleep(this.opts.retryDelayMs);
      }
    }
  }

  private scheduleCheckpoints(): void {
    const t = setTimeout(async () => {
      this.timers.delete(t);
      for (const log of LEDGER_LOGS) {
        try {
          await this.ledger.checkpointIfGrown(log);
          this.checkpointErrors[log] = null;
        } catch (e) {
          this.checkpointErrors[log] = e instanceof Error ? e.message : String(e);
        }
      }
      if (!this.stopped) this.scheduleCheckpoints();
    }, this.opts.checkpointIntervalMs);
    this.timers.add(t);
  }
}
