import { type DynamicModule, Inject, type InjectionToken, Module, type OnModuleDestroy, type OnModuleInit, type Type } from '@nestjs/common';
import type { Registry } from 'prom-client';
import { JwksController } from './http/jwks.controller';
import { NoticesController } from './http/notices.controller';
import { type NoticesDependencies, type NoticesHealthCheck, NoticesRuntime } from './notices.runtime';

/** Where the host application keeps its metrics and readiness checks (HealthModule of @kms/platform). */
export interface NoticesHost {
  /** Module(s) exporting the two tokens below, e.g. `[HealthModule]`. */
  imports: Array<Type<unknown> | DynamicModule>;
  /** Token of the prom-client Registry, e.g. METRICS_REGISTRY. */
  metricsRegistry: InjectionToken;
  /** Token of an object with `register(check)`, e.g. HealthRegistry. */
  healthRegistry: InjectionToken;
}

interface HealthRegistryLike {
  register(check: NoticesHealthCheck): void;
}

const HEALTH = Symbol('NOTICES_HEALTH');

/**
 * Rotation notices (outbox relay to Kafka, or record-only without KAFKA_BROKERS), GET /v1/notices,
 * GET /v1/notices/status and GET /.well-known/jwks.json, with lag metrics and a readiness check.
 */
@Module({})
export class NoticesModule implements OnModuleInit, OnModuleDestroy {
  static forRoot(deps: NoticesDependencies, host: NoticesHost): DynamicModule {
    return {
      module: NoticesModule,
      imports: host.imports,
      controllers: [NoticesController, JwksController],
      providers: [
        { provide: NoticesRuntime, useFactory: (metrics: Registry) => new NoticesRuntime(deps, metrics), inject: [host.metricsRegistry] },
        { provide: HEALTH, useFactory: (health: HealthRegistryLike) => health, inject: [host.healthRegistry] },
      ],
      exports: [NoticesRuntime],
    };
  }

  constructor(
    @Inject(NoticesRuntime) private readonly runtime: NoticesRuntime,
    @Inject(HEALTH) private readonly health: HealthRegistryLike,
  ) {}

  async onModuleInit(): Promise<void> {
    this.health.register(this.runtime.healthCheck());
    await this.runtime.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.runtime.stop();
  }
}
