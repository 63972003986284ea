import type { IntegrityAlarm } from '@kms/application';
import type { KmsConfig } from '@kms/config';
import {
  closeRedisConnection,
  createPostgresPool,
  createRedisConnection,
  exposeIntegrityAlarm,
  HealthModule,
  HealthRegistry,
  METRICS_REGISTRY,
  postgresCheck,
  withTimeout,
  redisCheck,
} from '@kms/platform';
import { Inject, Module, type DynamicModule, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { Pool } from 'pg';
import type { Registry } from 'prom-client';
import type { AnomalyDetectorService } from './follower/anomaly-detector.service';

/** The anomaly detector's Redis connection. */
export const ANOMALY_DETECTOR_REDIS = Symbol('ANOMALY_DETECTOR_REDIS');
/** The anomaly detector's PostgreSQL pool. */
export const ANOMALY_DETECTOR_PG_POOL = Symbol('ANOMALY_DETECTOR_PG_POOL');

/** The follower given to forRoot (or null), and its readiness settings. */
export const ANOMALY_DETECTOR_FOLLOWER = Symbol('ANOMALY_DETECTOR_FOLLOWER');

/** What forRoot may be given beside the configuration. */
export interface AnomalyDetectorModuleOptions {
  /** The running follower: reported on /readyz as "anomaly-detector.follower" and on /metrics; stopped when the app closes. */
  detector?: AnomalyDetectorService;
  /** Not ready when more than this many audit records behind (default 10,000). */
  maxLagPositions?: number;
  /** The process's integrity alarm: shown as `anomaly-detector.integrity` on /readyz and in /metrics (the detector app). */
  integrity?: IntegrityAlarm;
}

interface FollowerBinding {
  detector: AnomalyDetectorService | null;
  maxLagPositions: number;
  integrity: IntegrityAlarm | null;
}

const NAME = 'kms-anomaly-detector';

/**
 * Anomaly detector: owns a Redis connection and a PostgreSQL pool, reported on /readyz as
 * "anomaly-detector.redis" and "anomaly-detector.postgres"; given the follower, also
 * "anomaly-detector.follower" (fails when stopped, erroring or too far behind) and its metrics.
 */
@Module({})
export class AnomalyDetectorModule implements OnModuleInit, OnModuleDestroy {
  /** The module wired to `config.redisUrl` and `config.postgres`. */
  static forRoot(config: KmsConfig, options: AnomalyDetectorModuleOptions = {}): DynamicModule {
    const follower: FollowerBinding = { detector: options.detector ?? null, maxLagPositions: options.maxLagPositions ?? 10_000, integrity: options.integrity ?? null };
    return {
      module: AnomalyDetectorModule,
      imports: [HealthModule],
      providers: [
        { provide: ANOMALY_DETECTOR_REDIS, useFactory: () => createRedisConnection(config.redisUrl, NAME) },
        { provide: ANOMALY_DETECTOR_PG_POOL, useFactory: () => createPostgresPool(config.postgres, NAME) },
        { provide: ANOMALY_DETECTOR_FOLLOWER, useValue: follower },
      ],
    };
  }

  constructor(
    @Inject(HealthRegistry) private readonly health: HealthRegistry,
    @Inject(ANOMALY_DETECTOR_REDIS) private readonly redis: Redis,
    @Inject(ANOMALY_DETECTOR_PG_POOL) private readonly pool: Pool,
    @Inject(METRICS_REGISTRY) private readonly metrics: Registry,
    @Inject(ANOMALY_DETECTOR_FOLLOWER) private readonly follower: FollowerBinding,
  ) {}

  onModuleInit(): void {
    this.health.register(redisCheck(this.redis, { name: 'anomaly-detector.redis' }));
    this.health.register(postgresCheck(this.pool, { name: 'anomaly-detector.postgres' }));
    const { detector, maxLagPositions, integrity } = this.follower;
    if (integrity) exposeIntegrityAlarm(integrity, this.health, this.metrics, 'anomaly-detector.integrity');
    if (detector) {
      this.health.register({ name: 'anomaly-detector.follower', check: () => withTimeout(detector.health({ maxLagPositions }), 2000) });
      detector.metrics(this.metrics);
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.follower.detector?.stop();
    await Promise.all([closeRedisConnection(this.redis), this.pool.end()]);
  }
}
