import { mkdir } from 'node:fs/promises';
import { type Clock, systemClock } from '@kms/application';
import { latestAuditCheckpointCoverage } from '@kms/audit-projector';
import type { KmsConfig } from '@kms/config';
import type { HistorySealKeys } from '@kms/key-backend-pkcs11';
import {
  type AuditArchive,
  type AuditPartitionDecision,
  archiveAuditTrail,
  AuditSealer,
  createPgPool,
  dropExpiredAuditPartitions,
  type EnsuredAuditPartitions,
  ensureAuditPartitions,
} from '@kms/persistence-postgres';
import { sealKeysOf } from './migrate-kms';

/** What one maintenance run did. */
export interface AuditMaintenanceReport {
  partitions: EnsuredAuditPartitions;
  /** The archive written by this run (absent: no signed checkpoint covers anything new). */
  archived?: AuditArchive;
  /** Each partition retention looked at, oldest first, up to the first it kept. */
  retention: AuditPartitionDecision[];
  notices: string[];
}

/**
 * The audit trail's upkeep, as the owner role (monthly or more often; `audit-maintenance.ts`): the
 * coming months' partitions, an archive of the trail up to the newest signed audit ledger checkpoint
 * (KMS_AUDIT_ARCHIVE_DIR; copy it off the machine like a backup), then the drop of every partition
 * older than KMS_AUDIT_RETENTION_DAYS that an archive covers (docs/audit-and-evidence.md,
 * "Partitions and retention"). Each archive and drop is itself a sealed audit record.
 */
export async function maintainAuditTrail(config: KmsConfig, options: { clock?: Clock; sealKeys?: HistorySealKeys } = {}): Promise<AuditMaintenanceReport> {
  const notices: string[] = [];
  const now = (options.clock ?? systemClock).now();
  const keys = options.sealKeys ?? (await sealKeysOf(config, notices));
  const sealer = new AuditSealer(keys.audit);
  const owner = createPgPool({ ...config.postgres, url: config.postgres.migrationUrl ?? config.postgres.url }, { max: 2, application_name: 'kms-audit-maintenance' });
  try {
    const partitions = await ensureAuditPartitions(owner, now);
    const coverage = await latestAuditCheckpointCoverage(owner);
    let archived: AuditArchive | undefined;
    if (coverage) {
      await mkdir(config.auditRetention.archiveDir, { recursive: true, mode: 0o700 });
      archived = await archiveAuditTrail(owner, sealer, { checkpoint: coverage, directory: config.auditRetention.archiveDir, now });
    } else {
      notices.push('no signed checkpoint of the audit ledger yet: nothing archived, so no partition can be dropped');
    }
    const retention = await dropExpiredAuditPartitions(owner, sealer, { now, retentionDays: config.auditRetention.days });
    return { partitions, ...(archived ? { archived } : {}), retention, notices };
  } finally {
    await owner.end();
  }
}
