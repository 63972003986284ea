import type { AccessSecrets, AttestationSigner, AuditLog, ChangeCommitter, Clock, HsmAttestationService, IdempotencyStore, IntegrityAlarm } from '@kms/application';
import { AuditProjectorModule, checkpointPublisherFor, complianceIdentity } from '@kms/audit-projector';
import type { KmsConfig } from '@kms/config';
import type { EventStore, SealedHistory } from '@kms/event-store';
import { readStoredEventsAfter } from '@kms/event-store-postgres';
import { type AuditSealer, PostgresAuditFeed, readStoredAuditRows, retainedTrailAnchor, type StoredAuditRow } from '@kms/persistence-postgres';
import type { DynamicModule } from '@nestjs/common';
import type { Pool } from 'pg';

/** What the projector reads and signs with: the key service's event store, audit log and keys. */
export interface AuditProjectorRuntime {
  eventStore: EventStore;
  /**
   * The store as stored and its sealer (PostgreSQL): evidence bundles carry the key's seal chain, and
   * the ledger reconciliation re-reads the source tables against the ledger with it.
   */
  seals?: SealedHistory;
  /** The database holding the audit log, read in position order. */
  pool: Pool;
  /** Where every compliance API call is audited (fail closed). */
  auditLog: AuditLog;
  /** Checks every audit record's seal before it is projected (the key service's audit seal key). */
  auditSealer: AuditSealer;
  signer: AttestationSigner;
  /** Token signing and credential verifier keys, derived from the master key: compliance callers authenticate. */
  secrets: AccessSecrets;
  clock: Clock;
  eventsHead?: () => Promise<bigint>;
  /** The process's integrity alarm; `expose` when no other module of the app shows it on /readyz. */
  integrity?: { alarm: IntegrityAlarm; expose: boolean };
  /** One attestation bundle per HSM instance (GET /v1/evidence/hsms/{id}); where the process has the instances. */
  hsmAttestations?: HsmAttestationService;
  /** How the compliance API's changes (legal artifacts) commit with their audit record: the KMS's change committer. */
  changes?: { committer: ChangeCommitter; idempotency?: IdempotencyStore };
}

/** The projector module and what to release after the app closes. */
export interface ComposedAuditProjector {
  module: DynamicModule;
  /** Kafka topic signed checkpoints also go to, when KAFKA_BROKERS is set. */
  checkpointTopic?: string;
  close(): Promise<void>;
}

/**
 * The audit projector: read models, Merkle ledger, compliance API; signed checkpoints also go to
 * Kafka when the configuration's `checkpoints` section names brokers. The projector app and
 * standalone mode both use it.
 */
export function composeAuditProjector(config: KmsConfig, runtime: AuditProjectorRuntime): ComposedAuditProjector {
  const checkpointPublisher = checkpointPublisherFor(config.checkpoints);
  const auditFeed = new PostgresAuditFeed(runtime.pool, runtime.auditSealer);
  const pool = runtime.pool;
  const reconciliation =
    runtime.seals && config.eventStore.kind === 'postgres'
      ? {
          source: {
            eventsAfter: (p: bigint, n: number) => readStoredEventsAfter(pool, p, n),
            auditRecordsAfter: async (p: bigint, n: number) => (await readStoredAuditRows(pool, p, n)).rows,
            auditTrailAnchor: (first: StoredAuditRow) => retainedTrailAnchor(pool, runtime.auditSealer, first),
          },
          sealer: runtime.seals.sealer,
          auditSealer: runtime.auditSealer,
        }
      : undefined;
  const module = AuditProjectorModule.forRoot(config, {
    eventStore: runtime.eventStore,
    auditFeed,
    auditLog: runtime.auditLog,
    signer: runtime.signer,
    identity: complianceIdentity(runtime.eventStore, runtime.secrets, runtime.clock),
    ...(runtime.eventsHead ? { eventsHead: runtime.eventsHead } : {}),
    ...(runtime.seals ? { seals: runtime.seals } : {}),
    ...(checkpointPublisher ? { checkpointPublisher } : {}),
    ...(reconciliation ? { reconciliation } : {}),
    ...(runtime.integrity ? { integrity: runtime.integrity } : {}),
    ...(runtime.hsmAttestations ? { hsmAttestations: runtime.hsmAttestations } : {}),
    ...(runtime.changes ? { changes: runtime.changes } : {}),
    settings: { origin: config.auditProjector.ledgerOrigin },
  });
  return {
    module,
    ...(checkpointPublisher ? { checkpointTopic: checkpointPublisher.topic } : {}),
    close: async () => checkpointPublisher?.close(),
  };
}
