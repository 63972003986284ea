// Audit trail upkeep: `npx tsx apps/key-service/src/audit-maintenance.ts`, as the owner role
// (KMS_MIGRATION_DATABASE_URL, like the migrate step), monthly or more often: partitions ahead, an
// archive up to the newest signed audit checkpoint, then the drop of expired archived partitions.
// Prints what it did; exits 0 when done.
import { Logger } from '@nestjs/common';
import { ConfigError, loadConfig } from '@kms/config';
import { maintainAuditTrail } from './migrate/audit-maintenance';

const logger = new Logger('kms-audit-maintenance');

async function main(): Promise<void> {
  const report = await maintainAuditTrail(loadConfig(process.env));
  logger.log(`audit partitions present: ${report.partitions.present.join(', ')}`);
  if (report.partitions.leftInDefault.length > 0) logger.warn(`months left in the default partition (it already holds their records): ${report.partitions.leftInDefault.join(', ')}`);
  if (report.archived) logger.log(`archived the audit trail through position ${report.archived.throughPosition} to ${report.archived.location} (sha256 ${report.archived.sha256})`);
  for (const d of report.retention) logger.log(d.dropped ? `dropped ${d.partition} (${d.rows ?? 0} records)` : `kept ${d.partition}: ${d.reason ?? ''}`);
  for (const notice of report.notices) logger.warn(notice);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    if (e instanceof ConfigError) console.error(`kms-audit-maintenance: invalid configuration: ${e.message}`);
    else logger.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exit(1);
  },
);
