import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import type { MigrationInterface } from 'typeorm';
import { type Clock, systemClock } from '@kms/application';
import { detectorStateMigrations } from '@kms/anomaly-detector';
import { auditProjectorMigrations } from '@kms/audit-projector';
import { ConfigError, type KmsConfig } from '@kms/config';
import { EventSealer } from '@kms/event-store';
import { eventStoreMigrations, sealExistingHistory } from '@kms/event-store-postgres';
import { ensureSoftHsmToken, type HistorySealKeys, historySealKeysOnce } from '@kms/key-backend-pkcs11';
import { ensureMasterKeyFile, loadMasterKey } from '@kms/key-backend-software';
import { noticeMigrations } from '@kms/notices-kafka';
import { notificationMigrations } from '@kms/notifications';
import {
  auditMigrations,
  AuditSealer,
  changeMigrations,
  createPgPool,
  keyMaterialMigrations,
  importParametersMigrations,
  escrowCeremonyKeyMigrations,
  secondFactorMigrations,
  consoleMigrations,
  keySnapshotMigrations,
  PostgresAuditLog,
  runMigrations,
  sealExistingAuditRecords,
} from '@kms/persistence-postgres';
import { followerSnapshotMigrations } from '@kms/rotation-scheduler';

type Migrations = Array<new () => MigrationInterface>;

/** The migrations the key service itself needs: its check at start names these when missing. */
export function keyServiceMigrationsFor(config: Pick<KmsConfig, 'eventStore'>): Migrations {
  return [...(config.eventStore.kind === 'postgres' ? eventStoreMigrations : []), ...keyMaterialMigrations, ...auditMigrations, ...changeMigrations, ...secondFactorMigrations, ...consoleMigrations, ...importParametersMigrations, ...escrowCeremonyKeyMigrations, ...keySnapshotMigrations];
}

/**
 * Every migration of every KMS service on the configured schema: the key service's tables, the
 * notice outbox, the audit projector's read models and ledger, the scheduler's and detector's
 * checkpoints. A new `*Migrations` array belongs here, or no deployment with a service role creates it.
 */
export function kmsMigrations(config: Pick<KmsConfig, 'eventStore'>): Migrations {
  return [...keyServiceMigrationsFor(config), ...noticeMigrations, ...auditProjectorMigrations, ...followerSnapshotMigrations, ...detectorStateMigrations, ...notificationMigrations];
}

/** What the migrate step did. */
export interface MigrateReport {
  /** Names of the migrations applied by this run (empty: the schema was up to date). */
  applied: string[];
  /** What the seal upgrade sealed (absent: KMS_SEAL_EXISTING_HISTORY is off). */
  sealed?: { events: number; auditRecords: number };
  /** Things worth telling the operator once (a new master key, a sealed history). */
  notices: string[];
}

/** The owner's URL: KMS_MIGRATION_DATABASE_URL, or KMS_DATABASE_URL when one role does everything. */
function ownerUrlOf(config: KmsConfig): string {
  return config.postgres.migrationUrl ?? config.postgres.url;
}

/** Refuse clearly when the "owner" is the service role itself: it may not create or alter anything. */
async function assertOwnerIsNotServiceRole(config: KmsConfig): Promise<void> {
  // The maintenance database: the KMS database may not exist yet (runMigrations creates it).
  const admin = new URL(ownerUrlOf(config));
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString(), connectionTimeoutMillis: config.postgres.timeouts.connectMs });
  await client.connect();
  try {
    const { rows } = await client.query<{ me: string }>('SELECT current_user AS me');
    if (rows[0]?.me === config.postgres.serviceRole) {
      throw new ConfigError(
        'KMS_MIGRATION_DATABASE_URL',
        `is required by the migrate step: ${config.postgres.migrationUrl ? 'it' : 'KMS_DATABASE_URL'} connects as the service role ${config.postgres.serviceRole} (KMS_DATABASE_SERVICE_ROLE), which may not migrate; set it to the owner role's URL`,
      );
    }
  } finally {
    await client.end();
  }
}

/**
 * The upgrade from before events and audit records were sealed: seal that history once, as the
 * owner (lifting the append-only trigger is the owner's), and record it in the audit trail as
 * `SealExistingHistory`. It runs before any service writes: the first sealed audit record a service
 * appends would end the upgrade's chance.
 */
async function sealHistoryUpgrade(config: KmsConfig, clock: Clock, notices: string[], given?: HistorySealKeys): Promise<{ events: number; auditRecords: number }> {
  const keys = given ?? (await sealKeysOf(config, notices));
  const events = new EventSealer(keys.events);
  const audit = new AuditSealer(keys.audit);
  const owner = createPgPool({ ...config.postgres, url: ownerUrlOf(config) }, { max: 2, application_name: 'kms-seal-history' });
  try {
    const sealed =
      config.eventStore.kind === 'postgres'
        ? await sealExistingHistory(owner, { events, audit })
        : { events: 0, auditRecords: await sealExistingAuditRecords(owner, audit) };
    if (sealed.events > 0 || sealed.auditRecords > 0) {
      const log = new PostgresAuditLog(owner, audit, { maxBatch: config.auditMaxBatch, flushTimeoutMs: config.auditTimeoutMs });
      try {
        await log.append({
          id: randomUUID(),
          time: clock.now(),
          requestId: randomUUID(),
          operation: 'SealExistingHistory',
          actor: 'system:seal-history',
          outcome: 'SUCCESS',
          details: { events: sealed.events, auditRecords: sealed.auditRecords },
        });
      } finally {
        await log.close();
      }
      notices.push(`sealed ${sealed.events} events and ${sealed.auditRecords} audit records written before sealing (audited as SealExistingHistory)`);
    }
    return sealed;
  } finally {
    await owner.end();
  }
}

/**
 * The history seal keys of the configuration (the HSM's when one is configured, opened for this and
 * closed again; else the master key's), for a migrate step that runs on its own.
 */
export async function sealKeysOf(config: KmsConfig, notices: string[]): Promise<HistorySealKeys> {
  if (config.standalone && config.masterKey.kind === 'file' && (await ensureMasterKeyFile(config.masterKey.path))) {
    notices.push(`created a new master key at ${config.masterKey.path} (mode 0600); back it up: without it no key can be unwrapped`);
  }
  if (config.hsm.enabled && config.hsm.provisionSoftHsmToken) {
    const token = await ensureSoftHsmToken(config.stateDir);
    if (token.created) notices.push(`initialised a SoftHSM2 token "kms" in ${token.tokenDir} (PINs in 0600 files beside it)`);
  }
  return historySealKeysOnce(config.hsm, await loadMasterKey(config.masterKey));
}

/**
 * The migrate step, the one holder of the owner's credentials: every service's migrations on the
 * configured schema, then the service role's grants (runMigrations), then — when
 * KMS_SEAL_EXISTING_HISTORY is on — the seal upgrade. Idempotent. Run by `migrate.ts`, by the
 * provision step and by standalone mode before its services start; the services themselves only
 * check (prepareSchema) when they connect as the service role.
 */
export async function migrateKms(config: KmsConfig, options: { clock?: Clock; sealKeys?: HistorySealKeys } = {}): Promise<MigrateReport> {
  const notices: string[] = [];
  await assertOwnerIsNotServiceRole(config);
  const applied = await runMigrations(config.postgres, kmsMigrations(config));
  if (!config.keyService.sealExistingHistory) return { applied, notices };
  const sealed = await sealHistoryUpgrade(config, options.clock ?? systemClock, notices, options.sealKeys);
  return { applied, sealed, notices };
}

/** The configuration the services of a process get after its migrate step: without the owner's URL. */
export function withoutOwnerUrl(config: KmsConfig): KmsConfig {
  const { migrationUrl: _owner, ...postgres } = config.postgres;
  return { ...config, postgres };
}
