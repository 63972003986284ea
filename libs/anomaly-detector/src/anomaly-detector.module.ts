import type { KmsConfig } from '@kms/config';
import {
  closeRedisConnection,
  createPostgresPool,
  createRedisConnection,
  HealthModule,
  HealthRegistry,
  postgresCheck,
  redisCheck,
} from '@kms/platform';
import { Inject, Module, type DynamicModule, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { Pool } from 'pg';

/** The anomaly detector's Redis connection. */
export const ANOMALY_DETECTOR_REDIS = Symbol('ANOMALY_DETECTOR_REDIS');
/** The anomaly detector's PostgreSQL pool. */
export const ANOMALY_DETECTOR_PG_POOL = Symbol('ANOMALY_DETECTOR_PG_POOL');

const NAME = 'kms-anomaly-detector';

/**
 * Anomaly detector: owns a Redis connection and a PostgreSQL pool, reported on /readyz as
 * "anomaly-detector.redis" and "anomaly-detector.postgres".
 */
@Module({})
export class AnomalyDetectorModule implements OnModuleInit, OnModuleDestroy {
  /** The module wired to `config.redisUrl` and `config.postgres`. */
  static forRoot(config: KmsConfig): DynamicModule {
    return {
      module: AnomalyDetectorModule,
      imports: [HealthModule],
      providers: [
        { provide: ANOMALY_DETECTOR_REDIS, useFactory: () => createRedisConnection(config.redisUrl, NAME) },
        { provide: ANOMALY_DETECTOR_PG_POOL, useFactory: () => createPostgresPool(config.postgres, NAME) },
      ],
    };
  }

  constructor(
    @Inject(HealthRegistry) private readonly health: HealthRegistry,
    @Inject(ANOMALY_DETECTOR_REDIS) private readonly redis: Redis,
    @Inject(ANOMALY_DETECTOR_PG_POOL) private readonly pool: Pool,
  ) {}

  onModuleInit(): void {
    this.health.register(redisCheck(this.redis, { name: 'anomaly-detector.redis' }));
    this.health.register(postgresCheck(this.pool, { name: 'anomaly-detector.postgres' }));
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all([closeRedisConnection(this.redis), this.pool.end()]);
  }
}
