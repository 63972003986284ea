import { followStore } from '@kms/application';
import type { EventSubscription } from '@kms/event-store';
import { type AttestationSigner, type AuditLog, type Clock, IdentityService, systemClock } from '@kms/application';
import type { KmsConfig } from '@kms/config';
import type { EventStore } from '@kms/event-store';
import { type AuditRecordFeed, runMigrations } from '@kms/persistence-postgres';
import { createPostgresPool, describeCheckError, HealthModule, HealthRegistry, METRICS_REGISTRY, postgresCheck } from '@kms/platform';
import { Inject, Logger, Module, type DynamicModule, type OnModuleDestroy, type OnModuleInit, Optional, type Provider } from '@nestjs/common';
import type { Pool } from 'pg';
import type { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { EvidenceBundleBuilder } from './evidence/evidence-bundle.builder';
import { ComplianceController } from './http/compliance.controller';
import { ComplianceGateway } from './http/compliance-gateway';
import { ComplianceQueries } from './http/compliance-queries';
import { type CheckpointPublisher, LedgerStore } from './ledger/ledger-store';
import { ProjectionRunner, type ProjectionRunnerOptions } from './projections/projection-runner';
import { ProjectionStore } from './projections/projection-store';
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
}

/** What the module cannot build itself; the composition root passes it. */
export interface AuditProjectorDependencies {
  /** The key service's event store (source of events). */
  eventStore: EventStore;
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
  settings?: AuditProjectorSettings;
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
        // Migrations first (they create the database and schema if needed), then connect: never `synchronize`.
        useFactory: async () => {
          await runMigrations(target, auditProjectorMigrations);
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
      { provide: ComplianceQueries, useFactory: (ds: DataSource) => new ComplianceQueries(ds, clock), inject: [AUDIT_PROJECTOR_DATA_SOURCE] },
      { provide: ComplianceGateway, useFactory: () => new ComplianceGateway(deps.identity, deps.auditLog, clock) },
      {
        provide: EvidenceBundleBuilder,
        useFactory: (ds: DataSource, ledger: LedgerStore) => new EvidenceBundleBuilder(ds, ledger, deps.signer, clock),
        inject: [AUDIT_PROJECTOR_DATA_SOURCE, LedgerStore],
      },
    );
    return { module: AuditProjectorModule, imports: [HealthModule], providers, controllers: [ComplianceController] };
  }

  /** Keeps the identity view current (suspensions, credential rotations) for token checks. */
  private identityFeed?: EventSubscription;

  constructor(
    @Inject(HealthRegistry) private readonly health: HealthRegistry,
    @Inject(AUDIT_PROJECTOR_SETUP) private readonly setup: Setup,
    @Optional() @Inject(AUDIT_PROJECTOR_PG_POOL) private readonly pool?: Pool,
    @Optional() @Inject(AUDIT_PROJECTOR_DATA_SOURCE) private readonly dataSource?: DataSource,
    @Optional() @Inject(ProjectionRunner) private readonly runner?: ProjectionRunner,
  ) {}

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
    this.identityFeed = await followStore(deps.eventStore, [deps.identity.cache]);
    runner.start();
  }

  async onModuleDestroy(): Promise<void> {
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
