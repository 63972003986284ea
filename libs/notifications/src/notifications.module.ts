import { type DynamicModule, Inject, type InjectionToken, Module, type OnModuleDestroy, type OnModuleInit, type Type } from '@nestjs/common';
import type { Registry } from 'prom-client';
import { NotificationsController } from './http/notifications.controller';
import { type NotificationsDependencies, type NotificationsHealthCheck, NotificationsRuntime } from './notifications.runtime';

/** Where the host application keeps its metrics and readiness checks (HealthModule of @kms/platform). */
export interface NotificationsHost {
  imports: Array<Type<unknown> | DynamicModule>;
  metricsRegistry: InjectionToken;
  healthRegistry: InjectionToken;
}

interface HealthRegistryLike {
  register(check: NotificationsHealthCheck): void;
}

const HEALTH = Symbol('NOTIFICATIONS_HEALTH');

/** Compliance notifications by email and Slack: the relay, the lists and deliveries API, metrics and readiness. */
@Module({})
export class NotificationsModule implements OnModuleInit, OnModuleDestroy {
  static forRoot(deps: NotificationsDependencies, host: NotificationsHost): DynamicModule {
    return {
      module: NotificationsModule,
      imports: host.imports,
      controllers: [NotificationsController],
      providers: [
        { provide: NotificationsRuntime, useFactory: (metrics: Registry) => new NotificationsRuntime(deps, metrics), inject: [host.metricsRegistry] },
        { provide: HEALTH, useFactory: (health: HealthRegistryLike) => health, inject: [host.healthRegistry] },
      ],
      exports: [NotificationsRuntime],
    };
  }

  constructor(
    @Inject(NotificationsRuntime) private readonly runtime: NotificationsRuntime,
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
