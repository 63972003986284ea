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
export async function maintainAuditTrail(
  config: KmsConfig,
  options: { clock?: Clock; sealKeys?: HistorySealKeys; /** The audit sealer of a process that already holds the seal keys (standalone mode). */ sealer?: AuditSealer } = {},
): Promise<AuditMaintenanceReport> {
  const notices: string[] = [];
  const now = (options.clock ?? systemClock).now();
  const sealer = options.sealer ?? new AuditSealer((options.sealKeys ?? (await sealKeysOf(config, notices))).audit);
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

/** What a maintenance run did, as log lines: [level, message]. */
export function describeAuditMaintenance(report: AuditMaintenanceReport): Array<['log' | 'warn', string]> {
  const lines: Array<['log' | 'warn', string]> = [['log', `audit partitions present: ${report.partitions.present.join(', ')}`]];
  if (report.partitions.leftInDefault.length > 0) lines.push(['warn', `months left in the default partition (it already holds their records): ${report.partitions.leftInDefault.join(', ')}`]);
  if (report.archived) lines.push(['log', `archived the audit trail through position ${report.archived.throughPosition} to ${report.archived.location} (sha256 ${report.archived.sha256})`]);
  for (const d of report.retention) lines.push(['log', d.dropped ? `dropped ${d.partition} (${d.rows ?? 0} records)` : `kept ${d.partition}: ${d.reason ?? ''}`]);
  for (const notice of report.notices) lines.push(['warn', notice]);
  return lines;
}

/** A running schedule of audit maintenance (scheduleAuditMaintenance). */
export interface AuditMaintenanceSchedule {
  /** Stops the schedule; resolves once a run in progress has ended. */
  stop(): Promise<void>;
}

/**
 * The audit trail's upkeep run by a long-lived process itself (standalone mode, whose host may have no
 * cron): maintainAuditTrail every `everySeconds`, the first a minute after start (sooner when the
 * interval is shorter), one at a time. A failed run is reported and tried again at the next one; it
 * stops nothing else. `config` must carry the owner's URL (KMS_MIGRATION_DATABASE_URL or one role).
 */
export function scheduleAuditMaintenance(
  config: KmsConfig,
  options: { everySeconds: number; sealer?: AuditSealer; log: (level: 'log' | 'warn', message: string) => void },
): AuditMaintenanceSchedule {
  if (!(Number.isInteger(options.everySeconds) && options.everySeconds > 0)) throw new RangeError('everySeconds must be a whole number of at least 1');
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const next = (seconds: number): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = runOnce().finally(() => next(options.everySeconds));
    }, seconds * 1000);
    timer.unref();
  };
  const runOnce = async (): Promise<void> => {
    try {
      const report = await maintainAuditTrail(config, options.sealer ? { sealer: options.sealer } : {});
      for (const [level, message] of describeAuditMaintenance(report)) options.log(level, `audit maintenance: ${message}`);
    } catch (e) {
      options.log('warn', `audit maintenance failed, next run in ${options.everySeconds} s: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  next(Math.min(60, options.everySeconds));
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
