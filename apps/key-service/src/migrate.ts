// The migrate step: `npx tsx apps/key-service/src/migrate.ts` (or `node --import tsx …`). The one process
// that holds the owner's URL (KMS_MIGRATION_DATABASE_URL): it applies every KMS service's migrations,
// grants the service role (KMS_DATABASE_SERVICE_ROLE) its rights, and with KMS_SEAL_EXISTING_HISTORY=true
// runs the audited seal upgrade (which needs the master key). The provision step runs it too; run this
// one alone on an upgrade, before the new services start. Exits 0 when done.
import { Logger } from '@nestjs/common';
import { ConfigError, loadConfig } from '@kms/config';
import { describeDatabaseUrl } from '@kms/persistence-postgres';
import { migrateKms } from './migrate/migrate-kms';

const logger = new Logger('kms-migrate');

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const report = await migrateKms(config);
  const owner = describeDatabaseUrl(config.postgres.migrationUrl ?? config.postgres.url);
  logger.log(
    report.applied.length > 0
      ? `applied ${report.applied.length} migrations to schema ${config.postgres.schema} as ${owner}: ${report.applied.join(', ')}`
      : `schema ${config.postgres.schema} is up to date (${owner})`,
  );
  for (const notice of report.notices) logger.warn(notice);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    if (e instanceof ConfigError) console.error(`kms-migrate: invalid configuration: ${e.message}`);
    else logger.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exit(1);
  },
);
