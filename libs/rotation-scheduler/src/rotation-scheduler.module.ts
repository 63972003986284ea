import type { KmsConfig } from '@kms/config';
import { closeRedisConnection, createRedisConnection, HealthModule, HealthRegistry, redisCheck } from '@kms/platform';
import { Inject, Module, type DynamicModule, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Redis } from 'ioredis';

/** The Redis connection rotation deadlines are scheduled on. */
export const ROTATION_SCHEDULER_REDIS = Symbol('ROTATION_SCHEDULER_REDIS');

/** Rotation scheduler: owns its Redis connection and reports it on /readyz as "rotation-scheduler.redis". */
@Module({})
export class RotationSchedulerModule implements OnModuleInit, OnModuleDestroy {
  /** The module wired to `config.redisUrl`. */
  static forRoot(config: KmsConfig): DynamicModule {
    return {
      module: RotationSchedulerModule,
      imports: [HealthModule],
      providers: [
        { provide: ROTATION_SCHEDULER_REDIS, useFactory: () => createRedisConnection(config.redisUrl, 'kms-rotation-scheduler') },
      ],
    };
  }

  constructor(
    @Inject(HealthRegistry) private readonly health: HealthRegistry,
    @Inject(ROTATION_SCHEDULER_REDIS) private readonly redis: Redis,
  ) {}

  onModuleInit(): void {
    this.health.register(redisCheck(this.redis, { name: 'rotation-scheduler.redis' }));
  }

  async onModuleDestroy(): Promise<void> {
    await closeRedisConnection(this.redis);
  }
}
