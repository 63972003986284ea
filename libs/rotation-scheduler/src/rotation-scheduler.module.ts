import { type Clock, type IntegrityAlarm, systemClock } from '@kms/application';
import type { KmsConfig } from '@kms/config';
import type { EventStore } from '@kms/event-store';
import { closeRedisConnection, createRedisConnection, exposeIntegrityAlarm, HealthModule, HealthRegistry, METRICS_REGISTRY, redisCheck } from '@kms/platform';
import { Inject, Logger, Module, Optional, type DynamicModule, type OnModuleDestroy, type OnModuleInit, type Provider } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { RotationSchedulerSettings } from './config/rotation-scheduler.config';
import type { DrillAlertsPort, KeyServicePort } from './gateway/key-service.port';
import { RotationSchedulerStatusController, STATUS_READERS } from './http/rotation-scheduler-status.controller';
import type { RetirementGuard } from './jobs/rotation-deadline.job';
import type { PlannerOptions } from './planner/deadline.planner';
import type { FollowerSnapshotStore } from './follower/follower-snapshot.store';
import { BullmqDeadlineQueue } from './queue/bullmq-deadline.queue';
import { type DeadlineRun, RotationScheduler } from './rotation.scheduler';

/** The Redis connection rotation deadlines are scheduled on. */
export const ROTATION_SCHEDULER_REDIS = Symbol('ROTATION_SCHEDULER_REDIS');

/** What the module cannot build itself; the composition root passes it. */
export interface RotationSchedulerDependencies {
  /** The key service's event store (source of key state). */
  eventStore: EventStore;
  /** The key service, called as the scheduler's workload identity (see connectKeyService). */
  keyService: KeyServicePort;
  /** The drill log's overdue alerts, raised on every reconcile (see connectKeyService); without it none. */
  drillAlerts?: DrillAlertsPort;
  settings: Pick<RotationSchedulerSettings, 'reconcileSeconds' | 'destroyAfterDays' | 'queuePrefix' | 'queueName' | 'maxLagEvents'> &
    Partial<Pick<RotationSchedulerSettings, 'retirementRecheckSeconds'>>;
  clock?: Clock;
  /** Highest global position in the event store, for lag. */
  eventsHead?: () => Promise<bigint>;
  /** Retention per purpose (default DEFAULT_RETENTION) and an extra check before any retirement. */
  planner?: PlannerOptions;
  retirementGuard?: RetirementGuard;
  /** The follower's checkpoint in PostgreSQL (PostgresFollowerSnapshotStore); without it each start replays the store. */
  snapshots?: FollowerSnapshotStore;
  /** Job retries (defaults: 5 attempts, 5 s doubling). */
  queue?: { attempts?: number; backoffMs?: number; concurrency?: number };
  /** Who may read the status (the `authorization` header's bearer token); without it, nobody. */
  authorizeRead?: (authorization: string | undefined) => Promise<boolean>;
  /**
   * The process's integrity alarm (watching its event sealer), shown as `rotation-scheduler.integrity`
   * on /readyz and in /metrics. Absent where another module of the app shows it (standalone).
   */
  integrity?: IntegrityAlarm;
}

const RUN_OBSERVERS = Symbol('ROTATION_SCHEDULER_RUN_OBSERVERS');
const ROTATION_SCHEDULER_MAX_LAG = Symbol('ROTATION_SCHEDULER_MAX_LAG');
const ROTATION_SCHEDULER_INTEGRITY = Symbol('ROTATION_SCHEDULER_INTEGRITY');
type RunObservers = Array<(run: DeadlineRun) => void>;

/**
 * Rotation scheduler: owns its Redis connection and reports it on /readyz as "rotation-scheduler.redis".
 * With dependencies it also follows the event store, keeps one BullMQ job per deadline, runs them
 * against the key service, and reports "rotation-scheduler.schedule" (catch-up, lag, reconcile, queue).
 */
@Module({})
export class RotationSchedulerModule implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('rotation-scheduler');

  /** The module wired to `config.redisUrl`, scheduling from `deps` when given. */
  static forRoot(config: KmsConfig, deps?: RotationSchedulerDependencies): DynamicModule {
    const providers: Provider[] = [
      { provide: ROTATION_SCHEDULER_REDIS, useFactory: () => createRedisConnection(config.redisUrl, 'kms-rotation-scheduler') },
    ];
    if (!deps) return { module: RotationSchedulerModule, imports: [HealthModule], providers };
    const observers: RunObservers = [];
    providers.push(
      { provide: RUN_OBSERVERS, useValue: observers },
      { provide: STATUS_READERS, useValue: deps.authorizeRead ?? (async () => false) },
      { provide: ROTATION_SCHEDULER_MAX_LAG, useValue: deps.settings.maxLagEvents },
      { provide: ROTATION_SCHEDULER_INTEGRITY, useValue: deps.integrity ?? null },
      {
        provide: RotationScheduler,
        useFactory: () =>
          new RotationScheduler(
            deps.eventStore,
            deps.keyService,
            new BullmqDeadlineQueue({
              redisUrl: config.redisUrl,
              prefix: deps.settings.queuePrefix,
              queueName: deps.settings.queueName,
              attempts: deps.queue?.attempts ?? 5,
              backoffMs: deps.queue?.backoffMs ?? 5000,
              concurrency: deps.queue?.concurrency ?? 4,
            }),
            deps.clock ?? systemClock,
            {
              reconcileIntervalMs: deps.settings.reconcileSeconds * 1000,
              destroyAfterDays: deps.settings.destroyAfterDays,
              ...(deps.settings.retirementRecheckSeconds !== undefined ? { holdRecheckMs: deps.settings.retirementRecheckSeconds * 1000 } : {}),
              ...(deps.planner ? { planner: deps.planner } : {}),
              ...(deps.retirementGuard ? { retirementGuard: deps.retirementGuard } : {}),
              ...(deps.eventsHead ? { eventsHead: deps.eventsHead } : {}),
              ...(deps.snapshots ? { snapshots: deps.snapshots } : {}),
              ...(deps.drillAlerts ? { drillAlerts: deps.drillAlerts } : {}),
              onRun: (run) => observers.forEach((o) => o(run)),
            },
          ),
      },
    );
    return { module: RotationSchedulerModule, imports: [HealthModule], providers, controllers: [RotationSchedulerStatusController] };
  }

  constructor(
    @Inject(HealthRegistry) private readonly health: HealthRegistry,
    @Inject(ROTATION_SCHEDULER_REDIS) private readonly redis: Redis,
    @Inject(METRICS_REGISTRY) private readonly metrics: Registry,
    @Optional() @Inject(RotationScheduler) private readonly scheduler?: RotationScheduler,
    @Optional() @Inject(RUN_OBSERVERS) private readonly observers?: RunObservers,
    @Optional() @Inject(ROTATION_SCHEDULER_MAX_LAG) private readonly maxLag?: number,
    @Optional() @Inject(ROTATION_SCHEDULER_INTEGRITY) private readonly integrity?: IntegrityAlarm | null,
  ) {}

  private unexpose?: () => void;

  onModuleInit(): void {
    this.health.register(redisCheck(this.redis, { name: 'rotation-scheduler.redis' }));
    if (this.integrity) this.unexpose = exposeIntegrityAlarm(this.integrity, this.health, this.metrics, 'rotation-scheduler.integrity');
    const scheduler = this.scheduler;
    if (!scheduler) return;
    const maxLag = this.maxLag ?? 1000;
    this.health.register({
      name: 'rotation-scheduler.schedule',
      async check() {
        // HealthCheck carries no details: the figures reach /readyz only when failing; /metrics and /v1/rotation-scheduler/status always have them.
        const s = await scheduler.status();
        const problems: string[] = [];
        if (s.subscriptionError) problems.push(`event store subscription failed: ${s.subscriptionError}`);
        if (!s.caughtUp) problems.push(`catching up with the event store (at position ${s.position}${s.head ? ` of ${s.head}` : ''})`);
        if (s.lag !== null && s.lag > maxLag) problems.push(`${s.lag} events behind the store`);
        if (s.lastReconcileError) problems.push(`last reconcile failed: ${s.lastReconcileError}`);
        if (s.jobs === null) problems.push('queue counts unavailable');
        if (problems.length > 0) throw new Error(problems.join('; '));
      },
    });
    this.registerMetrics(scheduler);
    // Boot does not wait for the store or Redis: /readyz says when the schedule is live.
    scheduler.start().catch((e: unknown) => this.logger.error(`scheduler did not start: ${e instanceof Error ? e.message : String(e)}`));
  }

  async onModuleDestroy(): Promise<void> {
    this.unexpose?.();
    await this.scheduler?.stop();
    await closeRedisConnection(this.redis);
  }

  private registerMetrics(scheduler: RotationScheduler): void {
    const registers = [this.metrics];
    new Gauge({
      name: 'kms_rotation_scheduler_lag_events',
      help: 'Events in the store not yet applied by the scheduler (head - processed position).',
      registers,
      async collect() {
        const s = await scheduler.status();
        if (s.lag !== null) this.set(s.lag);
      },
    });
    new Gauge({
      name: 'kms_rotation_scheduler_jobs',
      help: 'Deadline jobs in the BullMQ queue, by state.',
      labelNames: ['state'],
      registers,
      async collect() {
        const s = await scheduler.status();
        for (const [state, n] of Object.entries(s.jobs ?? {})) this.set({ state }, n);
      },
    });
    const runs = new Counter({
      name: 'kms_rotation_scheduler_runs_total',
      help: 'Deadline jobs run, by kind and outcome (done, skipped, not-due, failed).',
      labelNames: ['kind', 'outcome'],
      registers,
    });
    this.observers?.push((run) => runs.inc({ kind: run.deadline.kind, outcome: run.outcome.status }));
  }
}
