import type { Clock } from '@kms/application';
import type { EventStore } from '@kms/event-store';
import { Logger } from '@nestjs/common';
import type { FollowerSnapshotStore } from './follower/follower-snapshot.store';
import { KeyStateFollower } from './follower/key-state.follower';
import type { DrillAlert, DrillAlertsPort, KeyServicePort } from './gateway/key-service.port';
import { runDeadline, type DeadlineOutcome, type RetirementGuard } from './jobs/rotation-deadline.job';
import { planDeadlines, type Deadline, type PlannerOptions } from './planner/deadline.planner';
import type { BullmqDeadlineQueue, JobCounts, ReconcileResult } from './queue/bullmq-deadline.queue';

export interface RotationSchedulerOptions {
  /** How often the queue is reconciled with the event store, in ms; 0: only at start and on key events. */
  reconcileIntervalMs: number;
  /** destroy_after_days for ScheduleKeyVersionDestruction after retention. */
  destroyAfterDays: number;
  /** How long a retirement held by outstanding ciphertexts waits before it looks again, in ms. */
  holdRecheckMs?: number;
  planner?: PlannerOptions;
  retirementGuard?: RetirementGuard;
  /** Highest global position in the store, for lag (optional). */
  eventsHead?: () => Promise<bigint>;
  /** Called after each job run (metrics). */
  onRun?: (run: DeadlineRun) => void;
  /** The follower's checkpoint (position + key views); without it every start replays from the start. */
  snapshots?: FollowerSnapshotStore;
  /** The drill log: on every reconcile the key service raises the overdue-drill alerts (once each). */
  drillAlerts?: DrillAlertsPort;
}

export interface RotationSchedulerStatus {
  caughtUp: boolean;
  /** Last global position applied. */
  position: string;
  /** Position of the checkpoint restored at start (null: replayed from the start), and of the last one written. */
  restoredFrom: string | null;
  checkpoint: string;
  head: string | null;
  /** head - position, when the head is known. */
  lag: number | null;
  subscriptionError: string | null;
  lastReconcileAt: string | null;
  lastReconcileError: string | null;
  /** Why the last round's overdue-drill alerts could not be raised (null: they were, or none is wired). */
  lastDrillAlertError: string | null;
  deadlines: number;
  jobs: JobCounts | null;
}

export interface DeadlineRun {
  jobId: string;
  deadline: Deadline;
  outcome: DeadlineOutcome | { status: 'failed'; detail: string };
}

/**
 * Follows the event store, keeps one delayed job per deadline and runs due jobs against the key
 * service. Time comes from the injected clock: `reconcile()` after moving a ManualClock makes every
 * deadline due by then run at once (see docs/rotation-scheduler.md, "Testing with a clock").
 */
export class RotationScheduler {
  private readonly logger = new Logger('rotation-scheduler');
  private readonly follower: KeyStateFollower;
  private timer?: NodeJS.Timeout;
  private chain: Promise<unknown> = Promise.resolve();
  private pendingEventReconcile = false;
  private lastReconcileAt: string | null = null;
  private lastReconcileError: string | null = null;
  private lastDrillAlertError: string | null = null;
  private readonly drillAlertsRaised: DrillAlert[] = [];
  private planned = 0;
  private readonly runs: DeadlineRun[] = [];
  private stopped = false;
  private started?: Promise<void>;

  constructor(
    store: EventStore,
    private readonly keys: KeyServicePort,
    private readonly queue: BullmqDeadlineQueue,
    private readonly clock: Clock,
    private readonly options: RotationSchedulerOptions,
  ) {
    this.follower = new KeyStateFollower(store, () => this.reconcileSoon(), options.snapshots);
  }

  /** Catch up with the store, reconcile, then run jobs and reconcile periodically. Idempotent. */
  start(): Promise<void> {
    this.started ??= this.boot();
    return this.started;
  }

  private async boot(): Promise<void> {
    await this.follower.start();
    // A failed first reconcile (Redis down) is retried by the periodic one; jobs still run meanwhile.
    await this.reconcile().catch(() => undefined);
    this.queue.start((deadline, jobId) => this.run(deadline, jobId));
    if (this.options.reconcileIntervalMs > 0) {
      this.timer = setInterval(() => void this.reconcile().catch(() => undefined), this.options.reconcileIntervalMs);
      this.timer.unref();
    }
  }

  /** Make the queue match the deadlines of every key at the clock's now. Serialised; safe to call any time. */
  reconcile(): Promise<ReconcileResult> {
    const next = this.chain.then(async () => {
      try {
        const plan = planDeadlines(this.follower.all(), this.options.planner);
        const result = await this.queue.reconcile(plan, this.clock.now());
        this.planned = plan.length;
        this.lastReconcileAt = this.clock.now().toISOString();
        this.lastReconcileError = null;
        await this.raiseDrillAlerts();
        const changed = [...result.added, ...result.promoted, ...result.rescheduled, ...result.removed];
        if (changed.length > 0) {
          this.logger.log(
            `reconciled ${plan.length} deadlines: added ${result.added.length}, promoted ${result.promoted.length}, re-timed ${result.rescheduled.length}, removed ${result.removed.length}`,
          );
        }
        return result;
      } catch (e) {
        this.lastReconcileError = e instanceof Error ? e.message : String(e);
        this.logger.warn(`reconcile failed: ${this.lastReconcileError}`);
        throw e;
      }
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Ask the key service to raise the overdue-drill alerts; a failure is kept in the status and retried next round. */
  private async raiseDrillAlerts(): Promise<void> {
    if (!this.options.drillAlerts) return;
    try {
      const raised = await this.options.drillAlerts.reportDrillsOverdue();
      this.lastDrillAlertError = null;
      for (const a of raised) {
        this.logger.warn(a.subject === 'MONTHLY_DRILL' ? `alert: the monthly backup-restore drill is overdue (due ${a.dueDate})` : `alert: drill follow-up ${a.followUpId} of ${a.drillId} (${a.owner}) is overdue (due ${a.dueDate})`);
        this.drillAlertsRaised.push(a);
      }
      if (this.drillAlertsRaised.length > 100) this.drillAlertsRaised.splice(0, this.drillAlertsRaised.length - 100);
    } catch (e) {
      this.lastDrillAlertError = e instanceof Error ? e.message : String(e);
      this.logger.warn(`drill alerts failed: ${this.lastDrillAlertError}`);
    }
  }

  /** The overdue-drill alerts this process raised (most recent last; bounded). */
  drillAlerts(): readonly DrillAlert[] {
    return this.drillAlertsRaised;
  }

  /** Every deadline run so far (most recent last; bounded). */
  history(): readonly DeadlineRun[] {
    return this.runs;
  }

  async status(): Promise<RotationSchedulerStatus> {
    const f = this.follower.status();
    let head: bigint | null = null;
    let jobs: JobCounts | null = null;
    try {
      head = this.options.eventsHead ? await this.options.eventsHead() : null;
    } catch {
      head = null;
    }
    try {
      jobs = await this.queue.counts();
    } catch {
      jobs = null;
    }
    return {
      caughtUp: f.caughtUp,
      position: f.position.toString(),
      restoredFrom: f.restoredFrom === null ? null : f.restoredFrom.toString(),
      checkpoint: f.checkpoint.toString(),
      head: head === null ? null : head.toString(),
      lag: head === null ? null : Number(head > f.position ? head - f.position : 0n),
      subscriptionError: f.error ?? null,
      lastReconcileAt: this.lastReconcileAt,
      lastReconcileError: this.lastReconcileError,
      lastDrillAlertError: this.lastDrillAlertError,
      deadlines: this.planned,
      jobs,
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.started?.catch(() => undefined);
    await this.chain;
    await this.queue.close();
    await this.follower.stop();
  }

  /** A key event arrived: re-plan once the current reconcile is done (coalesced). */
  private reconcileSoon(): void {
    if (this.pendingEventReconcile || this.stopped) return;
    this.pendingEventReconcile = true;
    void this.chain.then(() => {
      this.pendingEventReconcile = false;
      if (!this.stopped) return this.reconcile().catch(() => undefined);
      return undefined;
    });
  }

  private async run(deadline: Deadline, jobId: string): Promise<{ retryInMs?: number; heldUntil?: string }> {
    try {
      const outcome = await runDeadline(deadline, this.keys, this.clock, {
        destroyAfterDays: this.options.destroyAfterDays,
        ...(this.options.holdRecheckMs !== undefined ? { holdRecheckMs: this.options.holdRecheckMs } : {}),
        ...(this.options.retirementGuard ? { retirementGuard: this.options.retirementGuard } : {}),
      });
      this.record({ jobId, deadline, outcome });
      if (outcome.status !== 'not-due') this.logger.log(`${jobId}: ${outcome.status}, ${outcome.detail}`);
      if (outcome.status === 'held') return { retryInMs: Math.max(1000, Date.parse(outcome.until) - this.clock.now().getTime()), heldUntil: outcome.until };
      return outcome.status === 'not-due' ? { retryInMs: Math.max(1000, Date.parse(outcome.dueAt) - this.clock.now().getTime()) } : {};
    } catch (e) {
      const detail = e instanceof Error ? e.message : String(e);
      this.record({ jobId, deadline, outcome: { status: 'failed', detail } });
      this.logger.warn(`${jobId}: failed, will retry: ${detail}`);
      throw e;
    }
  }

  private record(run: DeadlineRun): void {
    this.options.onRun?.(run);
    this.runs.push(run);
    if (this.runs.length > 1000) this.runs.shift();
  }
}
