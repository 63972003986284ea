import { type DynamicModule, Inject, Injectable, Module, type OnApplicationBootstrap, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { HealthImplementation } from 'grpc-health-check';
import { randomUUID } from 'node:crypto';
import {
  type AccessSecrets,
  type AuditFlush,
  ApprovalService,
  AuditedExecutor,
  type AttestationSigner,
  CallPipeline,
  DualAuthorization,
  type AuditLog,
  type AuditIntentReconciler,
  CallScopedEventStore,
  type ChangeCommitter,
  IDEMPOTENCY_RETENTION_HOURS,
  type IdempotencyStore,
  OUTSTANDING_CIPHERTEXTS,
  type OutstandingCiphertexts,
  Authorizer,
  type Clock,
  CryptoService,
  followStore,
  IdentityService,
  KeyCatalog,
  type KeyCatalogOptions,
  type KeyBackends,
  KeyLifecycleService,
  KeyOriginService,
  type NotificationSink,
  type IntegrityAlarm,
  PersonFactorsService,
  ProofTokenService,
  DrillLogService,
  ResidencyRulesService,
  ConsoleSessions,
  type ConsoleStore,
  DeviceAuthorizations,
  type RelyingParty,
  type SecondFactorStore,
  EscrowService,
  type EscrowMaterialSource,
} from '@kms/application';
import { BOOTSTRAP_ACTOR, KmsError } from '@kms/domain';
import type { EventSubscription } from '@kms/event-store';
import type { EventStore } from '@kms/event-store';
import { exposeIntegrityAlarm, type HealthCheck, HealthModule, HealthRegistry, METRICS_REGISTRY } from '@kms/platform';
import type { Registry } from 'prom-client';
import { auditFlushMetrics, rpcMetrics } from './call-metrics';
import { KMS_SERVICE_NAME } from './grpc-server.options';
import { KeyLifecycleController } from './controllers/key-lifecycle.controller';
import { KeyDependentsController } from './controllers/key-dependents.controller';
import { CryptoController } from './controllers/crypto.controller';
import { AsymmetricCryptoController } from './controllers/asymmetric-crypto.controller';
import { KeyImportController } from './controllers/key-import.controller';
import { IdentityController } from './controllers/identity.controller';
import { ApprovalController } from './controllers/approval.controller';
import { ResidencyController } from './controllers/residency.controller';
import { ProofTokenController } from './controllers/proof-token.controller';
import { DrillController } from './controllers/drill.controller';
import { ProofChainHttpController } from './http/proof-chain-http.controller';
import { CallGate } from './call-gate';
import { FrameGuard } from './frame-guard';
import { LogNotificationSink } from './log-notification.sink';
import { ConsoleController } from './http/console.controller';
import { ConsoleAssetsController } from './http/console-assets.controller';
import { ConsoleAssets } from './http/console-assets';
import { ConsoleApiController, ConsoleDeviceController } from './http/console-api.controller';
import { CONSOLE_SETTINGS, enrolmentUrl } from './http/console-settings';
import { ESCROW_SERVICE, EscrowController } from './controllers/escrow.controller';

/** The controllers of the gRPC API: LeanGrpcServer serves their unary methods directly (directUnaryHandlers). */
export const KEY_SERVICE_GRPC_CONTROLLERS = [
  KeyLifecycleController,
  KeyDependentsController,
  CryptoController,
  IdentityController,
  ApprovalController,
  EscrowController,
  KeyImportController,
  AsymmetricCryptoController,
  ProofTokenController,
  DrillController,
  ResidencyController,
] as const;

/** Everything the key service needs from outside, built by the composition root. */
export interface KeyServiceDependencies {
  store: EventStore;
  /**
   * The key read model listings are answered from (PostgreSQL, shared by replicas) and how many keys
   * to hold in memory. Default: a read model in memory, built from the whole store at start.
   */
  keyCatalog?: KeyCatalogOptions;
  backends: KeyBackends;
  audit: AuditLog;
  /** How a call's events commit with its audit record, and where first outcomes of request ids are kept. */
  changes: { committer: ChangeCommitter; idempotency?: IdempotencyStore; reconciler?: AuditIntentReconciler };
  /** Ciphertexts DATA_PROTECTION versions still hold (the audit log tracks them); without it none are known. */
  ciphertexts?: OutstandingCiphertexts;
  clock: Clock;
  health: HealthImplementation;
  /** Readiness checks to show on /readyz (e.g. the database). */
  readiness?: HealthCheck[];
  /**
   * The process's integrity alarm (it watches the event sealer): shown on /readyz as
   * `key-service.integrity` and in /metrics as `kms_integrity_alarm`.
   */
  integrity?: IntegrityAlarm;
  /** Observes the audit log's flushes (PostgresAuditLog.observeFlushes), for /metrics; returns the function that stops it. */
  auditFlushes?: (observer: (flush: AuditFlush) => void) => () => void;
  /** Token signing and credential verifier keys, derived from the master key. */
  secrets: AccessSecrets;
  /** Where approval notifications go; a log sink by default. */
  notifications?: NotificationSink;
  /**
   * Receives the first administrator's one-time enrolment link, created on first start (and again at a
   * start where the administrator still has no security key and the last link expired).
   */
  onBootstrapEnrolment?: (enrolment: BootstrapEnrolment) => void | Promise<void>;
  /** Seconds between expiry sweeps of approval requests; 0 disables. Default 30. */
  approvalSweepSeconds?: number;
  /** The KMS attestation key (an HSM key) that signs key-origin statements; absent without an HSM. */
  attestation?: AttestationSigner;
  /** People's second factors (docs/console.md): their store, the WebAuthn relying party, the TOTP wrapping key. */
  factors: { store: SecondFactorStore; relyingParty: RelyingParty; totpWrapKey: Buffer; enrolmentLinkTtlMinutes: number };
  /**
   * The console's sessions and `kms login` device authorizations (docs/console.md), the compliance
   * API its reads pass through to, and whether its cookie is Secure (every console origin is https).
   */
  console: { store: ConsoleStore; complianceUrl: string; secureCookies: boolean };
  /** The gRPC server's guard for requests refused before a handler runs; audited through the call gate. */
  frames?: FrameGuard;
  /** Where a break-glass version's material is read for its sealing ceremony (the software backend); escrow also needs `attestation`. */
  escrowMaterial?: EscrowMaterialSource;
  /** The built console served at /console/ (config.console.assetsDir); without it /console/ answers 503. */
  consoleAssetsDir?: string;
}

/**
 * The first administrator (a person with security-engineering and key-admin roles) and the one-time
 * link that enrols their security key and authenticator app. No client secret is handed over: people
 * get tokens only by signing in with both factors.
 */
export interface BootstrapEnrolment {
  identityId: string;
  name: string;
  /** `<link id>.<secret>`: the secret is shown here once; only its SHA-256 is stored. */
  enrolmentToken: string;
  /** The console page that redeems it: `<first console origin>/console/enrol?token=…`. */
  enrolmentUrl: string;
  expiresAt: Date;
}

export const BOOTSTRAP_ADMIN_NAME = 'bootstrap-admin';
/** The bootstrap administrator's link lives a day (the most a link may): the operator may read it later than a person would. */
export const BOOTSTRAP_ENROLMENT_LINK_TTL_MINUTES = 24 * 60;
const SYSTEM_APPROVAL_EXPIRY = 'system:approval-expiry';
const SYSTEM_ESCROW_RESTORE = 'system:escrow-restore';
const HOUR_MS = 60 * 60 * 1000;
/** Seconds between audit-intent reconciliations (EventStoreDB). */
const RECONCILE_EVERY_MS = 30_000;

export const KEY_SERVICE_DEPENDENCIES = Symbol('KEY_SERVICE_DEPENDENCIES');

/**
 * Brings the in-memory views up to date before the service reports SERVING, creates the first
 * administrator on an empty store, runs the timers, and stops everything on shutdown.
 */
@Injectable()
export class KeyServiceLifecycle implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private subscription?: EventSubscription;
  private approvalTimer?: NodeJS.Timeout;
  private pruneTimer?: NodeJS.Timeout;
  private unexpose?: () => void;
  private unobserveFlushes?: () => void;

  constructor(
    @Inject(KEY_SERVICE_DEPENDENCIES) private readonly deps: KeyServiceDependencies,
    @Inject(KeyCatalog) private readonly catalog: KeyCatalog,
    @Inject(IdentityService) private readonly identities: IdentityService,
    @Inject(ApprovalService) private readonly approvals: ApprovalService,
    @Inject(KeyLifecycleService) private readonly lifecycle: KeyLifecycleService,
    @Inject(HealthRegistry) private readonly registry: HealthRegistry,
    @Inject(AuditedExecutor) private readonly executor: AuditedExecutor,
    @Inject(CallGate) private readonly gate: CallGate,
    @Inject(METRICS_REGISTRY) private readonly metrics: Registry,
    @Inject(PersonFactorsService) private readonly factors: PersonFactorsService,
    @Inject(ESCROW_SERVICE) private readonly escrow: EscrowService | null,
  ) {}

  onModuleInit(): void {
    this.deps.frames?.useAuditor((refusal) => this.gate.refuseFrame(refusal));
    for (const check of this.deps.readiness ?? []) this.registry.register(check);
    if (this.deps.integrity) this.unexpose = exposeIntegrityAlarm(this.deps.integrity, this.registry, this.metrics, 'key-service.integrity');
    this.unobserveFlushes = this.deps.auditFlushes?.(auditFlushMetrics(this.metrics));
  }

  async onApplicationBootstrap(): Promise<void> {
    // The key catalog follows from its read model's checkpoint; identities and approvals are few and
    // held whole, so they are folded from the start, reading only their own streams (followStore
    // subscribes to the caches' prefixes): the key history is not read.
    [, this.subscription] = await Promise.all([this.catalog.start(this.deps.store), followStore(this.deps.store, [this.identities.cache, this.approvals.cache])]);
    this.deps.changes.reconciler?.start(RECONCILE_EVERY_MS);
    await this.bootstrapAdministrator();
    await this.restoreEscrowReconstructions();
    const every = this.deps.approvalSweepSeconds ?? 30;
    if (every > 0) {
      this.approvalTimer = setInterval(() => {
        void this.expireApprovals();
        void this.sweepEscrowCeremonyKeys();
      }, every * 1000);
      this.approvalTimer.unref();
    }
    const idempotency = this.deps.changes.idempotency;
    if (idempotency) {
      this.pruneTimer = setInterval(() => {
        void idempotency.prune(new Date(this.deps.clock.now().getTime() - IDEMPOTENCY_RETENTION_HOURS * HOUR_MS)).catch(() => undefined);
      }, HOUR_MS);
      this.pruneTimer.unref();
    }
    this.deps.health.setStatus('', 'SERVING');
    this.deps.health.setStatus(KMS_SERVICE_NAME, 'SERVING');
  }

  /**
   * Break-glass escrow: the open reconstructions outlive a restart (their ceremony keys are kept
   * wrapped, their submissions are in the events); those expired or completed meanwhile lose their
   * ceremony key now. Audited as the system's, with what was restored and discarded.
   */
  private async restoreEscrowReconstructions(): Promise<void> {
    const escrow = this.escrow;
    if (!escrow || (await escrow.keptCeremonyKeys().catch(() => 0)) === 0) return;
    const requestId = randomUUID();
    // Not a reason to refuse to start: open reconstructions work without it (nothing is in memory), and
    // an expired one is refused whether or not its ceremony key was deleted yet; the next start sweeps again.
    await this.executor
      .runChange({ actor: SYSTEM_ESCROW_RESTORE, requestId }, 'RestoreEscrowReconstructions', async (facts) => {
        const { restored, discarded } = await escrow.restoreReconstructions();
        facts.details = { restored: restored.map((r) => `${r.reconstructionId} (${r.keyId} v${r.version}, ${r.accepted} accepted)`).join(', '), discarded: discarded.join(', ') };
      })
      .catch(() => undefined);
  }

  /**
   * Break-glass escrow: delete the ceremony keys of reconstructions that expired while the service
   * ran (not only at the next start), so a late submission can never be opened. Audited as the
   * system's when something is swept; a failure is retried on the next tick.
   */
  private async sweepEscrowCeremonyKeys(): Promise<void> {
    const escrow = this.escrow;
    if (!escrow || !(await escrow.hasExpiredCeremonyKeys().catch(() => false))) return;
    await this.executor
      .runChange({ actor: SYSTEM_ESCROW_RESTORE, requestId: randomUUID() }, 'SweepEscrowCeremonyKeys', async (facts) => {
        facts.details = { discarded: (await escrow.sweepExpiredCeremonyKeys()).join(', ') };
      })
      .catch(() => undefined);
  }

  /** Expire overdue approval requests; each expiry is a change audited as the system's. */
  private async expireApprovals(): Promise<void> {
    const requestId = randomUUID();
    await this.executor
      .runChange({ actor: SYSTEM_APPROVAL_EXPIRY, requestId }, 'ExpireApprovals', async (facts) => {
        const expired = await this.approvals.expireDue({ actor: SYSTEM_APPROVAL_EXPIRY, correlationId: requestId });
        facts.details = { expired };
      })
      .catch(() => undefined);
  }

  /**
   * On first start, create the first administrator and hand over a one-time enrolment link (audited
   * CreateEnrolmentLink by system:bootstrap), never a reusable secret: the administrator's client
   * secret is discarded, and IssueToken refuses people anyway. At a later start where the
   * administrator still has no security key and the last link lapsed, a fresh link replaces it.
   */
  private async bootstrapAdministrator(): Promise<void> {
    // By name, so the KMS's own workloads registered earlier do not count as "an administrator exists".
    const existing = this.identities.list().find((s) => s.identity.name === BOOTSTRAP_ADMIN_NAME);
    let identityId: string;
    if (existing) {
      if (existing.status !== 'Active' || existing.identity.kind !== 'HUMAN') return;
      if (!(await this.factors.awaitsEnrolmentLink(existing.identity.identityId))) return;
      identityId = existing.identity.identityId;
    } else {
      try {
        const requestId = randomUUID();
        const { identity } = await this.executor.runChange({ actor: BOOTSTRAP_ACTOR, requestId }, 'RegisterIdentity', (facts) => {
          facts.details = { name: BOOTSTRAP_ADMIN_NAME, kind: 'HUMAN' };
          return this.identities.register(
            { name: BOOTSTRAP_ADMIN_NAME, kind: 'HUMAN', roles: ['security-engineering', 'key-admin'] },
            { actor: BOOTSTRAP_ACTOR, correlationId: requestId, reason: 'first start: bootstrap administrator' },
          );
        });
        identityId = identity.identityId;
      } catch (e) {
        // Another instance bootstrapped first.
        if (!(e instanceof KmsError && e.code === 'IDENTITY_ALREADY_EXISTS')) throw e;
        return;
      }
    }
    const requestId = randomUUID();
    const link = await this.executor.runChange({ actor: BOOTSTRAP_ACTOR, requestId }, 'CreateEnrolmentLink', async (facts) => {
      const issued = await this.factors.issueLink(identityId, { ttlMinutes: BOOTSTRAP_ENROLMENT_LINK_TTL_MINUTES }, { actor: BOOTSTRAP_ACTOR, correlationId: requestId });
      facts.details = { identityId, createdFor: BOOTSTRAP_ADMIN_NAME, createdBy: BOOTSTRAP_ACTOR, linkId: issued.linkId, expiresAt: issued.expiresAt.toISOString() };
      return issued;
    });
    const origin = this.deps.factors.relyingParty.origins[0] ?? '';
    await this.deps.onBootstrapEnrolment?.({
      identityId,
      name: BOOTSTRAP_ADMIN_NAME,
      enrolmentToken: link.enrolmentToken,
      enrolmentUrl: enrolmentUrl(origin, link.enrolmentToken),
      expiresAt: link.expiresAt,
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.deps.health.setStatus('', 'NOT_SERVING');
    this.deps.health.setStatus(KMS_SERVICE_NAME, 'NOT_SERVING');
    if (this.approvalTimer) clearInterval(this.approvalTimer);
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    await this.deps.changes.reconciler?.stop();
    await this.subscription?.stop();
    await this.catalog.stop();
    this.unexpose?.();
    this.unobserveFlushes?.();
    await this.deps.integrity?.settled();
  }
}

/** The key service: gRPC controller plus the application services behind it. */
@Module({})
export class KeyServiceModule {
  static register(deps: KeyServiceDependencies): DynamicModule {
    // Services write through the call-scoped store: inside a call their events wait for the call's
    // audit record and commit with it (AuditedExecutor.runChange).
    const store = new CallScopedEventStore(deps.store);
    return {
      module: KeyServiceModule,
      imports: [HealthModule],
      controllers: [...KEY_SERVICE_GRPC_CONTROLLERS, ConsoleController, ConsoleApiController, ConsoleDeviceController, ConsoleAssetsController, ProofChainHttpController],
      providers: [
        { provide: KEY_SERVICE_DEPENDENCIES, useValue: deps },
        { provide: ConsoleAssets, useFactory: () => new ConsoleAssets(deps.consoleAssetsDir) },
        { provide: OUTSTANDING_CIPHERTEXTS, useValue: deps.ciphertexts ?? null },
        { provide: KeyCatalog, useFactory: () => new KeyCatalog(store, deps.keyCatalog) },
        {
          provide: KeyLifecycleService,
          useFactory: (c: KeyCatalog) => new KeyLifecycleService(store, c, deps.backends, deps.clock, deps.ciphertexts),
          inject: [KeyCatalog],
        },
        { provide: ResidencyRulesService, useFactory: () => new ResidencyRulesService(store, deps.clock) },
        {
          provide: CryptoService,
          useFactory: (c: KeyCatalog, r: ResidencyRulesService) => {
            const crypto = new CryptoService(c, deps.backends, deps.clock);
            crypto.useResidencyRules(r);
            return crypto;
          },
          inject: [KeyCatalog, ResidencyRulesService],
        },
        { provide: ProofTokenService, useFactory: (c: KeyCatalog, k: CryptoService) => new ProofTokenService(store, c, k, deps.clock, deps.backends), inject: [KeyCatalog, CryptoService] },
        { provide: DrillLogService, useFactory: () => new DrillLogService(store, deps.clock) },
        {
          provide: AuditedExecutor,
          useFactory: () =>
            new AuditedExecutor(deps.audit, deps.clock, {
              store: deps.store,
              committer: deps.changes.committer,
              ...(deps.changes.idempotency ? { idempotency: deps.changes.idempotency } : {}),
            }),
        },
        { provide: Authorizer, useFactory: () => new Authorizer() },
        { provide: KeyOriginService, useFactory: (c: KeyCatalog) => new KeyOriginService(c, deps.backends, deps.attestation, deps.clock), inject: [KeyCatalog] },
        { provide: IdentityService, useFactory: () => new IdentityService(store, deps.secrets, deps.clock) },
        { provide: ApprovalService, useFactory: () => new ApprovalService(store, deps.clock, deps.notifications ?? new LogNotificationSink()) },
        {
          provide: CallPipeline,
          useFactory: (i: IdentityService, a: Authorizer, e: AuditedExecutor, metrics: Registry) => new CallPipeline(i, a, e, rpcMetrics(metrics)),
          inject: [IdentityService, Authorizer, AuditedExecutor, METRICS_REGISTRY],
        },
        {
          provide: DualAuthorization,
          useFactory: (a: ApprovalService, l: KeyLifecycleService, i: IdentityService, r: ResidencyRulesService) => {
            const dual = new DualAuthorization(a, l, i);
            dual.useResidencyRules(r);
            return dual;
          },
          inject: [ApprovalService, KeyLifecycleService, IdentityService, ResidencyRulesService],
        },
        {
          provide: PersonFactorsService,
          useFactory: (i: IdentityService, e: AuditedExecutor, d: DualAuthorization) => {
            const factors = new PersonFactorsService({
              store,
              factors: deps.factors.store,
              identities: i,
              executor: e,
              clock: deps.clock,
              relyingParty: deps.factors.relyingParty,
              totpWrapKey: deps.factors.totpWrapKey,
              enrolmentLinkTtlMinutes: deps.factors.enrolmentLinkTtlMinutes,
              dualControl: d,
            });
            // Links for other people are dual-authorized; the approved ones are issued here.
            d.useEnrolmentLinks(factors);
            return factors;
          },
          inject: [IdentityService, AuditedExecutor, DualAuthorization],
        },
        {
          // Break-glass escrow (docs/break-glass.md): transcripts are signed by the attestation key, so only with an HSM.
          provide: ESCROW_SERVICE,
          useFactory: (d: DualAuthorization, crypto: CryptoService, lifecycle: KeyLifecycleService) => {
            if (!deps.attestation || !deps.escrowMaterial) return null;
            const escrow = new EscrowService({ store, clock: deps.clock, attestation: deps.attestation, material: deps.escrowMaterial, versions: lifecycle });
            d.useEscrow(escrow);
            crypto.useBreakGlassGate(escrow);
            // A rotation of an escrowed break-glass key runs its sealing ceremony in the same change.
            lifecycle.useNewVersionHook(escrow);
            return escrow;
          },
          inject: [DualAuthorization, CryptoService, KeyLifecycleService],
        },
        { provide: ConsoleSessions, useFactory: (i: IdentityService) => new ConsoleSessions({ store: deps.console.store, identities: i, clock: deps.clock }), inject: [IdentityService] },
        { provide: DeviceAuthorizations, useFactory: (i: IdentityService) => new DeviceAuthorizations({ store: deps.console.store, identities: i, clock: deps.clock }), inject: [IdentityService] },
        {
          provide: CONSOLE_SETTINGS,
          useValue: { complianceUrl: deps.console.complianceUrl, secureCookies: deps.console.secureCookies, origin: deps.factors.relyingParty.origins[0] ?? '' },
        },
        CallGate,
        KeyServiceLifecycle,
      ],
      exports: [KeyCatalog, KeyLifecycleService, CryptoService, ProofTokenService, AuditedExecutor, IdentityService, ApprovalService, PersonFactorsService],
    };
  }
}
