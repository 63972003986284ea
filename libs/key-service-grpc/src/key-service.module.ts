import { type DynamicModule, Inject, Injectable, Module, type OnApplicationBootstrap, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { HealthImplementation } from 'grpc-health-check';
import { randomUUID } from 'node:crypto';
import {
  type AccessSecrets,
  ApprovalService,
  AuditedExecutor,
  type AttestationSigner,
  type AuditLog,
  OUTSTANDING_CIPHERTEXTS,
  type OutstandingCiphertexts,
  Authorizer,
  type Clock,
  CryptoService,
  followStore,
  IdentityService,
  KeyCatalog,
  type KeyBackends,
  KeyLifecycleService,
  KeyOriginService,
  KeyRepository,
  type NotificationSink,
} from '@kms/application';
import { KmsError } from '@kms/domain';
import type { EventSubscription } from '@kms/event-store';
import type { EventStore } from '@kms/event-store';
import { type HealthCheck, HealthModule, HealthRegistry } from '@kms/platform';
import { DestructionSweeper } from './destruction-sweeper';
import { KMS_SERVICE_NAME } from './grpc-server.options';
import { KeyManagementController } from './key-management.controller';
import { ApprovalController, IdentityController } from './access.controller';
import { approvedOperationRunner } from './approved-operation.runner';
import { CallGate } from './call-gate';
import { LogNotificationSink } from './log-notification.sink';

/** Everything the key service needs from outside, built by the composition root. */
export interface KeyServiceDependencies {
  store: EventStore;
  backends: KeyBackends;
  audit: AuditLog;
  /** Ciphertexts DATA_PROTECTION versions still hold (the audit log tracks them); without it none are known. */
  ciphertexts?: OutstandingCiphertexts;
  clock: Clock;
  health: HealthImplementation;
  /** Seconds between in-process destruction sweeps; 0 disables the timer. */
  destructionSweepSeconds: number;
  /** Readiness checks to show on /readyz (e.g. the database). */
  readiness?: HealthCheck[];
  /** Token signing and credential verifier keys, derived from the master key. */
  secrets: AccessSecrets;
  /** Where approval notifications go; a log sink by default. */
  notifications?: NotificationSink;
  /** Receives the first administrator's credential, created on first start (shown once). */
  onBootstrapCredential?: (credential: BootstrapCredential) => void | Promise<void>;
  /** Seconds between expiry sweeps of approval requests; 0 disables. Default 30. */
  approvalSweepSeconds?: number;
  /** The KMS attestation key (an HSM key) that signs key-origin statements; absent without an HSM. */
  attestation?: AttestationSigner;
}

/** The first administrator: a person with security-engineering and key-admin roles. */
export interface BootstrapCredential {
  identityId: string;
  name: string;
  clientId: string;
  clientSecret: string;
}

export const BOOTSTRAP_ADMIN_NAME = 'bootstrap-admin';
const SYSTEM_APPROVAL_EXPIRY = 'system:approval-expiry';

export const KEY_SERVICE_DEPENDENCIES = Symbol('KEY_SERVICE_DEPENDENCIES');

/**
 * Brings the in-memory views up to date before the service reports SERVING, creates the first
 * administrator on an empty store, runs the timers, and stops everything on shutdown.
 */
@Injectable()
export class KeyServiceLifecycle implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private subscription?: EventSubscription;
  private approvalTimer?: NodeJS.Timeout;

  constructor(
    @Inject(KEY_SERVICE_DEPENDENCIES) private readonly deps: KeyServiceDependencies,
    @Inject(KeyCatalog) private readonly catalog: KeyCatalog,
    @Inject(IdentityService) private readonly identities: IdentityService,
    @Inject(ApprovalService) private readonly approvals: ApprovalService,
    @Inject(KeyLifecycleService) private readonly lifecycle: KeyLifecycleService,
    @Inject(DestructionSweeper) private readonly sweeper: DestructionSweeper,
    @Inject(HealthRegistry) private readonly registry: HealthRegistry,
  ) {}

  onModuleInit(): void {
    for (const check of this.deps.readiness ?? []) this.registry.register(check);
    this.approvals.useRunner(approvedOperationRunner(this.lifecycle, this.identities));
  }

  async onApplicationBootstrap(): Promise<void> {
    this.subscription = await followStore(this.deps.store, [this.catalog, this.identities.cache, this.approvals.cache]);
    await this.bootstrapAdministrator();
    this.sweeper.start(this.deps.destructionSweepSeconds);
    const every = this.deps.approvalSweepSeconds ?? 30;
    if (every > 0) {
      this.approvalTimer = setInterval(() => {
        void this.approvals.expireDue({ actor: SYSTEM_APPROVAL_EXPIRY, correlationId: randomUUID() }).catch(() => undefined);
      }, every * 1000);
      this.approvalTimer.unref();
    }
    this.deps.health.setStatus('', 'SERVING');
    this.deps.health.setStatus(KMS_SERVICE_NAME, 'SERVING');
  }

  /** On first start, create the first administrator and hand its credential over once. */
  private async bootstrapAdministrator(): Promise<void> {
    // By name, so the KMS's own workloads registered earlier do not count as "an administrator exists".
    if (this.identities.list().some((s) => s.identity.name === BOOTSTRAP_ADMIN_NAME)) return;
    try {
      const { identity, clientSecret } = await this.identities.register(
        { name: BOOTSTRAP_ADMIN_NAME, kind: 'HUMAN', roles: ['security-engineering', 'key-admin'] },
        { actor: 'system:bootstrap', correlationId: randomUUID(), reason: 'first start: bootstrap administrator' },
      );
      await this.deps.onBootstrapCredential?.({ identityId: identity.identityId, name: identity.name, clientId: identity.identityId, clientSecret });
    } catch (e) {
      // Another instance bootstrapped first.
      if (!(e instanceof KmsError && e.code === 'IDENTITY_ALREADY_EXISTS')) throw e;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.deps.health.setStatus('', 'NOT_SERVING');
    this.deps.health.setStatus(KMS_SERVICE_NAME, 'NOT_SERVING');
    if (this.approvalTimer) clearInterval(this.approvalTimer);
    await this.sweeper.stop();
    await this.subscription?.stop();
  }
}

/** The key service: gRPC controller plus the application services behind it. */
@Module({})
export class KeyServiceModule {
  static register(deps: KeyServiceDependencies): DynamicModule {
    return {
      module: KeyServiceModule,
      imports: [HealthModule],
      controllers: [KeyManagementController, IdentityController, ApprovalController],
      providers: [
        { provide: KEY_SERVICE_DEPENDENCIES, useValue: deps },
        { provide: OUTSTANDING_CIPHERTEXTS, useValue: deps.ciphertexts ?? null },
        { provide: KeyRepository, useFactory: () => new KeyRepository(deps.store) },
        { provide: KeyCatalog, useFactory: (r: KeyRepository) => new KeyCatalog(r), inject: [KeyRepository] },
        {
          provide: KeyLifecycleService,
          useFactory: (r: KeyRepository, c: KeyCatalog) => new KeyLifecycleService(deps.store, r, c, deps.backends, deps.clock, deps.ciphertexts),
          inject: [KeyRepository, KeyCatalog],
        },
        { provide: CryptoService, useFactory: (c: KeyCatalog) => new CryptoService(c, deps.backends), inject: [KeyCatalog] },
        { provide: AuditedExecutor, useFactory: () => new AuditedExecutor(deps.audit, deps.clock) },
        { provide: Authorizer, useFactory: () => new Authorizer() },
        { provide: KeyOriginService, useFactory: (c: KeyCatalog) => new KeyOriginService(c, deps.backends, deps.attestation, deps.clock), inject: [KeyCatalog] },
        { provide: IdentityService, useFactory: () => new IdentityService(deps.store, deps.secrets, deps.clock) },
        { provide: ApprovalService, useFactory: () => new ApprovalService(deps.store, deps.clock, deps.notifications ?? new LogNotificationSink()) },
        CallGate,
        {
          provide: DestructionSweeper,
          useFactory: (l: KeyLifecycleService, e: AuditedExecutor) => new DestructionSweeper(l, e),
          inject: [KeyLifecycleService, AuditedExecutor],
        },
        KeyServiceLifecycle,
      ],
      exports: [KeyCatalog, KeyLifecycleService, CryptoService, AuditedExecutor, DestructionSweeper, IdentityService, ApprovalService],
    };
  }
}
