import { type DynamicModule, Inject, Injectable, Module, type OnApplicationBootstrap, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { HealthImplementation } from 'grpc-health-check';
import {
  AuditedExecutor,
  type AuditLog,
  type Clock,
  CryptoService,
  KeyCatalog,
  type KeyBackends,
  KeyLifecycleService,
  KeyRepository,
} from '@kms/application';
import type { EventStore } from '@kms/event-store';
import { type HealthCheck, HealthModule, HealthRegistry } from '@kms/platform';
import { DestructionSweeper } from './destruction-sweeper';
import { KMS_SERVICE_NAME } from './grpc-server.options';
import { KeyManagementController } from './key-management.controller';

/** Everything the key service needs from outside, built by the composition root. */
export interface KeyServiceDependencies {
  store: EventStore;
  backends: KeyBackends;
  audit: AuditLog;
  clock: Clock;
  health: HealthImplementation;
  /** Seconds between in-process destruction sweeps; 0 disables the timer. */
  destructionSweepSeconds: number;
  /** Readiness checks to show on /readyz (e.g. the database). */
  readiness?: HealthCheck[];
}

export const KEY_SERVICE_DEPENDENCIES = Symbol('KEY_SERVICE_DEPENDENCIES');

/** Starts the catalog before the service reports SERVING; stops timers on shutdown. */
@Injectable()
export class KeyServiceLifecycle implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    @Inject(KEY_SERVICE_DEPENDENCIES) private readonly deps: KeyServiceDependencies,
    @Inject(KeyCatalog) private readonly catalog: KeyCatalog,
    @Inject(DestructionSweeper) private readonly sweeper: DestructionSweeper,
    @Inject(HealthRegistry) private readonly registry: HealthRegistry,
  ) {}

  onModuleInit(): void {
    for (const check of this.deps.readiness ?? []) this.registry.register(check);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.catalog.start(this.deps.store);
    this.sweeper.start(this.deps.destructionSweepSeconds);
    this.deps.health.setStatus('', 'SERVING');
    this.deps.health.setStatus(KMS_SERVICE_NAME, 'SERVING');
  }

  async onApplicationShutdown(): Promise<void> {
    this.deps.health.setStatus('', 'NOT_SERVING');
    this.deps.health.setStatus(KMS_SERVICE_NAME, 'NOT_SERVING');
    await this.sweeper.stop();
    await this.catalog.stop();
  }
}

/** The key service: gRPC controller plus the application services behind it. */
@Module({})
export class KeyServiceModule {
  static register(deps: KeyServiceDependencies): DynamicModule {
    return {
      module: KeyServiceModule,
      imports: [HealthModule],
      controllers: [KeyManagementController],
      providers: [
        { provide: KEY_SERVICE_DEPENDENCIES, useValue: deps },
        { provide: KeyRepository, useFactory: () => new KeyRepository(deps.store) },
        { provide: KeyCatalog, useFactory: (r: KeyRepository) => new KeyCatalog(r), inject: [KeyRepository] },
        {
          provide: KeyLifecycleService,
          useFactory: (r: KeyRepository, c: KeyCatalog) => new KeyLifecycleService(deps.store, r, c, deps.backends, deps.clock),
          inject: [KeyRepository, KeyCatalog],
        },
        { provide: CryptoService, useFactory: (c: KeyCatalog) => new CryptoService(c, deps.backends), inject: [KeyCatalog] },
        { provide: AuditedExecutor, useFactory: () => new AuditedExecutor(deps.audit, deps.clock) },
        {
          provide: DestructionSweeper,
          useFactory: (l: KeyLifecycleService, e: AuditedExecutor) => new DestructionSweeper(l, e),
          inject: [KeyLifecycleService, AuditedExecutor],
        },
        KeyServiceLifecycle,
      ],
      exports: [KeyCatalog, KeyLifecycleService, CryptoService, AuditedExecutor, DestructionSweeper],
    };
  }
}
