// Audit trail upkeep: `npx tsx apps/key-service/src/audit-maintenance.ts`, as the owner role
// (KMS_MIGRATION_DATABASE_URL, like the migrate step), monthly or more often: partitions ahead, an
// archive up to the newest signed audit checkpoint, then the drop of expired archived partitions.
// Prints what it did; exits 0 when done.
import { Logger } from '@nestjs/common';
import { ConfigError, loadConfig } from '@kms/config';
import { describeAuditMaintenance, maintainAuditTrail } from './migrate/audit-maintenance';

const logger = new Logger('kms-audit-maintenance');

async function main(): Promise<void> {
  const report = await maintainAuditTrail(loadConfig(process.env));
  for (const [level, message] of describeAuditMaintenance(report)) logger[level](message);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    if (e instanceof ConfigError) console.error(`kms-audit-maintenance: invalid configuration: ${e.message}`);
    else logger.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exit(1);
  },
);
