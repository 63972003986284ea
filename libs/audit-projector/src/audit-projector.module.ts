import { followStore, loadAggregate } from '@kms/application';
import { DRILL_LOG_STREAM_ID, drillLogDecider, drillLogEventCodec } from '@kms/domain';
import type { EventSubscription } from '@kms/event-store';
import {
  type AttestationSigner,
  type AuditLog,
  CallScopedEventStore,
  type ChangeCommitter,
  type Clock,
  describeViolation,
  type HsmAttestationService,
  type IdempotencyStore,
  IdentityService,
  type IntegrityAlarm,
  LegalArtifactService,
  systemClock,
} from '@kms/application';
import type { Jurisdiction } from '@kms/domain';
import type { KmsConfig } from '@kms/config';
import type { EventSealer, EventStore, SealedHistory } from '@kms/event-store';
import { type AuditRecordFeed, type AuditSealer, prepareSchema } from '@kms/persistence-postgres';
import { createPostgresPool, describeCheckError, exposeIntegrityAlarm, HealthModule, HealthRegistry, METRICS_REGISTRY, postgresCheck } from '@kms/platform';
import { Inject, Logger, Module, type DynamicModule, type OnModuleDestroy, type OnModuleInit, Optional, type Provider } from '@nestjs/common';
import type { Pool } from 'pg';
import { Gauge, type Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { EvidenceBundleBuilder } from './evidence/evidence-bundle.builder';
import { ComplianceController } from './http/compliance.controller';
import { AuditExportController } from './jurisdictions/audit-export.controller';
import { OcsfAuditExport } from './jurisdictions/ocsf-audit-export';
import { HSM_ATTESTATIONS, HsmEvidenceController } from './jurisdictions/hsm-evidence.controller';
import { LEGAL_ARTIFACTS, LegalArtifactsController } from './jurisdictions/legal-artifacts.controller';
import { DECLARED_HSMS } from './http/compliance.controller';
import { ComplianceGateway } from './http/compliance-gateway';
import { ComplianceQueries } from './http/compliance-queries';
import { type CheckpointPublisher, LedgerStore } from './ledger/ledger-store';
import { ProjectionRunner, type ProjectionRunnerOptions } from './projections/projection-runner';
import { ProjectionStore } from './projections/projection-store';
import { LedgerReconciler, type SourceHistory } from './reconciliation/ledger-reconciler';
import { auditProjectorMigrations } from './read-model/audit-read-model.migration';
import { createReadModelDataSource } from './read-model/read-model.data-source';

/** The PostgreSQL pool of the module without dependencies (readiness only). */
export const AUDIT_PROJECTOR_PG_POOL = Symbol('AUDIT_PROJECTOR_PG_POOL');
/** The TypeORM DataSource the read models and ledger are written and read through (module with dependencies). */
export const AUDIT_PROJECTOR_DATA_SOURCE = Symbol('AUDIT_PROJECTOR_DATA_SOURCE');
const APPLICATION_NAME = 'kms-audit-projector';
const AUDIT_PROJECTOR_SETUP = Symbol('AUDIT_PROJECTOR_SETUP');

export interface AuditProjectorSettings {
  /** Schema of the read models and ledger. Default: config.postgres.schema (next to the key service's tables). */
  readModelSchema?: string;
  /** Ledger origin prefix; the logs are `<origin>/events` and `<origin>/audit`. Default "open-kms/audit-ledger". */
  origin?: string;
  /** Readiness fails when a projection is further behind than this. Default 60 s. */
  maxLagSeconds?: number;
  runner?: ProjectionRunnerOptions;
  /** Milliseconds between ledger reconciliations (and from start to the first). Default 15 min; 0: on demand only. */
  reconcileIntervalMs?: number;
}

/** What the module cannot build itself; the composition root passes it. */
export interface AuditProjectorDependencies {
  /** The key service's event store (source of events). */
  eventStore: EventStore;
  /** That store as stored and its sealer, when it seals (PostgreSQL): evidence bundles then carry the key's seal chain. */
  seals?: SealedHistory;
  /** The key service's audit log, read in position order (PostgresAuditFeed). */
  auditFeed: AuditRecordFeed;
  /** Where every compliance API call is audited (fail closed). */
  auditLog: AuditLog;
  /** Signs checkpoints, manifests and origin statements: the HSM attestation key in production. */
  signer: AttestationSigner;
  /** Verifies bearer tokens (built from the master key's derived secrets). */
  identity: IdentityService;
  clock?: Clock;
  /** Highest global position in the event store, for lag in positions (optional). */
  eventsHead?: () => Promise<bigint>;
  /** Copies of each signed checkpoint outside the database (Kafka); not wired by default. */
  checkpointPublisher?: CheckpointPublisher;
  /**
   * The source tables as stored and the seals to check them with: enables the ledger reconciliation
   * (scheduled, `POST /v1/ledger/reconciliations`, readiness `audit-projector.reconciliation`).
   */
  reconciliation?: { source: SourceHistory; sealer: EventSealer; auditSealer: AuditSealer };
  /**
   * The process's integrity alarm: reconciliation divergences are raised on it. `expose` puts it on
   * /readyz (`audit-projector.integrity`) and /metrics; false when another module of the same app
   * already does (standalone: the key service's).
   */
  integrity?: { alarm: IntegrityAlarm; expose: boolean };
  /** The per-HSM attestation bundles (GET /v1/evidence/hsms/{id}); absent where no HSM instance is configured. */
  hsmAttestations?: HsmAttestationService;
  /**
   * How the compliance API's changes (legal artifacts) commit: the KMS's change committer over
   * `eventStore` (events and their audit record together). Absent: those calls are refused, audited.
   */
  changes?: { committer: ChangeCommitter; idempotency?: IdempotencyStore };
  settings?: AuditProjectorSettings;
}

/** The jurisdictions of the configuration: those of the HSM instances and of the master keys. */
export function configuredJurisdictions(config: KmsConfig): Jurisdiction[] {
  const all = new Set<Jurisdiction>([...config.hsmInstances.map((h) => h.jurisdiction), config.masterKeys.primary, ...config.masterKeys.others.map((o) => o.jurisdiction)]);
  return [...all].sort();
}

interface Setup {
  config: KmsConfig;
  deps?: AuditProjectorDependencies;
}

export const DEFAULT_LEDGER_ORIGIN = 'open-kms/audit-ledger';

/**
 * Audit projector: read models, Merkle ledger, compliance API and evidence bundles, through one
 * TypeORM DataSource on the read-model schema. Without dependencies it only owns a pool and its
 * readiness check ("audit-projector.postgres"), so it boots even when PostgreSQL is down.
 */
@Module({})
export class AuditProjectorModule implements OnModuleInit, OnModuleDestroy {
  /** The module wired to `config.postgres`, projecting from `deps` when given. */
  static forRoot(config: KmsConfig, deps?: AuditProjectorDependencies): DynamicModule {
    const schema = deps?.settings?.readModelSchema ?? config.postgres.schema;
    const target = { ...config.postgres, schema };
    const providers: Provider[] = [{ provide: AUDIT_PROJECTOR_SETUP, useValue: { config, deps } satisfies Setup }];
    if (!deps) {
      providers.push({ provide: AUDIT_PROJECTOR_PG_POOL, useFactory: () => createPostgresPool(target, APPLICATION_NAME) });
      return { module: AuditProjectorModule, imports: [HealthModule], providers };
    }
    const clock = deps.clock ?? systemClock;
    providers.push(
      {
        provide: AUDIT_PROJECTOR_DATA_SOURCE,
        // Migrations first (with one role they create the database and schema if needed; as the
        // service role only checked), then connect: never `synchronize`.
        useFactory: async () => {
          await prepareSchema(target, auditProjectorMigrations);
          const logger = new Logger(APPLICATION_NAME);
          const dataSource = createReadModelDataSource(target, {
            applicationName: APPLICATION_NAME,
            onPoolError: (e) => logger.warn(`idle PostgreSQL connection lost: ${describeCheckError(e)}`),
          });
          return dataSource.initialize();
        },
      },
      { provide: ProjectionStore, useFactory: (ds: DataSource) => new ProjectionStore(ds), inject: [AUDIT_PROJECTOR_DATA_SOURCE] },
      {
        provide: LedgerStore,
        useFactory: (ds: DataSource) => new LedgerStore(ds, deps.settings?.origin ?? DEFAULT_LEDGER_ORIGIN, deps.signer, clock, deps.checkpointPublisher),
        inject: [AUDIT_PROJECTOR_DATA_SOURCE],
      },
      {
        provide: ProjectionRunner,
        useFactory: (store: ProjectionStore, ledger: LedgerStore, metrics: Registry) =>
          new ProjectionRunner(store, deps.eventStore, deps.auditFeed, ledger, clock, metrics, deps.settings?.runner, deps.eventsHead),
        inject: [ProjectionStore, LedgerStore, METRICS_REGISTRY],
      },
      { provide: HSM_ATTESTATIONS, useValue: deps.hsmAttestations ?? null },
      {
        provide: DECLARED_HSMS,
        useValue: config.hsmInstances.map(({ id, jurisdiction, provider, environment, certifications, evidenceOwner, evidenceRetention }) => ({
          id,
          jurisdiction,
          provider,
          environment,
          certifications,
          ...(evidenceOwner ? { evidenceOwner } : {}),
          ...(evidenceRetention ? { evidenceRetention } : {}),
        })),
      },
      { provide: OcsfAuditExport, useFactory: (ds: DataSource, ledger: LedgerStore) => new OcsfAuditExport(ds, ledger), inject: [AUDIT_PROJECTOR_DATA_SOURCE, LedgerStore] },
      {
        provide: LEGAL_ARTIFACTS,
        // Written through the call-scoped store: a registration commits with its audit record (ComplianceGateway).
        useFactory: () => new LegalArtifactService(new CallScopedEventStore(deps.eventStore), clock, () => configuredJurisdictions(config)),
      },
      {
        provide: ComplianceQueries,
        useFactory: (ds: DataSource, legal: LegalArtifactService) =>
          new ComplianceQueries(ds, clock, async () => (await loadAggregate(deps.eventStore, drillLogDecider, drillLogEventCodec, DRILL_LOG_STREAM_ID)).state, (j) => legal.list(j)),
        inject: [AUDIT_PROJECTOR_DATA_SOURCE, LEGAL_ARTIFACTS],
      },
      {
        provide: ComplianceGateway,
        useFactory: () =>
          new ComplianceGateway(
            deps.identity,
            deps.auditLog,
            clock,
            deps.changes ? { store: deps.eventStore, committer: deps.changes.committer, ...(deps.changes.idempotency ? { idempotency: deps.changes.idempotency } : {}) } : undefined,
          ),
      },
      {
        provide: LedgerReconciler,
        useFactory: (ds: DataSource, store: ProjectionStore, ledger: LedgerStore) =>
          deps.reconciliation
            ? new LedgerReconciler({
                ...deps.reconciliation,
                dataSource: ds,
                projections: store,
                ledger,
                attestationPublicKeyPem: () => deps.signer.publicKeyPem(),
                ...(deps.integrity ? { alarm: deps.integrity.alarm } : {}),
                clock,
              })
            : null,
        inject: [AUDIT_PROJECTOR_DATA_SOURCE, ProjectionStore, LedgerStore],
      },
      {
        provide: EvidenceBundleBuilder,
        useFactory: (ds: DataSource, ledger: LedgerStore) => new EvidenceBundleBuilder(ds, ledger, deps.signer, clock, deps.seals),
        inject: [AUDIT_PROJECTOR_DATA_SOURCE, LedgerStore],
      },
    );
    return { module: AuditProjectorModule, imports: [HealthModule], providers, controllers: [ComplianceController, AuditExportController, HsmEvidenceController, LegalArtifactsController] };
  }

  /** Keeps the identity view current (suspensions, credential rotations) for token checks. */
  private identityFeed?: EventSubscription;

  constructor(
    @Inject(HealthRegistry) private readonly health: HealthRegistry,
    @Inject(AUDIT_PROJECTOR_SETUP) private readonly setup: Setup,
    @Optional() @Inject(AUDIT_PROJECTOR_PG_POOL) private readonly pool?: Pool,
    @Optional() @Inject(AUDIT_PROJECTOR_DATA_SOURCE) private readonly dataSource?: DataSource,
    @Optional() @Inject(ProjectionRunner) private readonly runner?: ProjectionRunner,
    @Optional() @Inject(LedgerReconciler) private readonly reconciler?: LedgerReconciler | null,
    @Optional() @Inject(METRICS_REGISTRY) private readonly metrics?: Registry,
  ) {}

  private reconcileTimer?: NodeJS.Timeout;
  private unexpose?: () => void;

  async onModuleInit(): Promise<void> {
    const database = this.dataSource ?? this.pool;
    if (database) this.health.register(postgresCheck(database, { name: 'audit-projector.postgres' }));
    const deps = this.setup.deps;
    const runner = this.runner;
    if (!deps || !runner) return;
    const maxLag = deps.settings?.maxLagSeconds ?? 60;
    this.health.register({
      name: 'audit-projector.projections',
      async check() {
        // The figures only reach /readyz when failing (HealthCheck carries no details); /metrics and /v1/projections always have them.
        const problems = runner
          .snapshot()
          .filter((s) => s.lastError !== null || s.lagSeconds > maxLag)
          .map((s) => `${s.name} at position ${s.position}${s.head ? ` of ${s.head}` : ''}, ${s.lagSeconds.toFixed(1)} s behind${s.lastError ? `: ${s.lastError}` : ''}`);
        if (problems.length > 0) throw new Error(problems.join('; '));
      },
    });
    if (deps.integrity?.expose && this.metrics) this.unexpose = exposeIntegrityAlarm(deps.integrity.alarm, this.health, this.metrics, 'audit-projector.integrity');
    if (this.reconciler) this.startReconciliation(this.reconciler, deps.settings?.reconcileIntervalMs ?? 15 * 60_000);
    this.identityFeed = await followStore(deps.eventStore, [deps.identity.cache]);
    runner.start();
  }

  /** Readiness and metrics of the reconciliation, and its schedule. */
  private startReconciliation(reconciler: LedgerReconciler, intervalMs: number): void {
    const logger = new Logger('ledger-reconciliation');
    this.health.register({
      name: 'audit-projector.reconciliation',
      async check() {
        const last = reconciler.latest();
        if (!last || last.ok) return;
        const named = last.divergences.slice(0, 3).map(describeViolation).join('; ');
        throw new Error(`${last.divergences.length} divergence(s) between the source tables and the ledger at ${last.finishedAt}: ${named}${last.divergences.length > 3 ? '; …' : ''}`);
      },
    });
    if (this.metrics) {
      const metrics = this.metrics;
      new Gauge({
        name: 'kms_ledger_reconciliation_divergences',
        help: 'Divergences the last ledger reconciliation found between the source tables and the ledger (0: all agree).',
        registers: [metrics],
        collect() {
          const last = reconciler.latest();
          if (last) this.set(last.divergences.length);
        },
      });
      new Gauge({
        name: 'kms_ledger_reconciliation_last_run_timestamp_seconds',
        help: 'When the last ledger reconciliation finished (Unix time).',
        registers: [metrics],
        collect() {
          const last = reconciler.latest();
          if (last) this.set(Date.parse(last.finishedAt) / 1000);
        },
      });
    }
    if (intervalMs <= 0) return;
    const schedule = () => {
      this.reconcileTimer = setTimeout(() => {
        void reconciler
          .run()
          .then(
            (r) => {
              if (r.ok) logger.log(`ledger reconciled: ${r.checked.events} events, ${r.checked.auditRecords} audit records, no divergence`);
              else logger.error(`ledger reconciliation found ${r.divergences.length} divergence(s): ${r.divergences.slice(0, 3).map(describeViolation).join('; ')}`);
            },
            (e: unknown) => logger.warn(`ledger reconciliation did not run: ${e instanceof Error ? e.message : String(e)}`),
          )
          .finally(schedule);
      }, intervalMs);
      this.reconcileTimer.unref();
    };
    schedule();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.reconcileTimer) clearTimeout(this.reconcileTimer);
    this.unexpose?.();
    await this.identityFeed?.stop();
    await this.runner?.stop();
    await this.pool?.end();
    if (this.dataSource?.isInitialized) await this.dataSource.destroy();
  }
}

/** Build the IdentityService the compliance API authenticates with, from the master key's derived secrets. */
export function complianceIdentity(store: EventStore, secrets: { tokenSigningKey: Buffer; credentialPepper: Buffer }, clock: Clock = systemClock): IdentityService {
  return new IdentityService(store, secrets, clock);
}
