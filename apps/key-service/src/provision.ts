// One-shot init step of the production stack (compose service `kms-init`, the Kubernetes provision Job):
//   node --import tsx apps/key-service/src/provision.ts
// Runs the migrate step (migrateKms: every service's migrations, the service role's grants, the seal
// upgrade) as the owner (KMS_MIGRATION_DATABASE_URL) — in the deployments this is the only process that
// holds that URL — then, as the service role, registers the KMS's own workloads (rotation scheduler,
// anomaly detector) with their service roles and writes their credentials as 0600 files into
// KMS_PROVISION_CREDENTIALS_DIR (a secrets volume the two services mount read-only). Configuration is
// the key service's own (libs/config: database, master key, event store, HSM). Exits 0 when done.
import { Logger } from '@nestjs/common';
import { ConfigError, loadConfig } from '@kms/config';
import { composeKeyService } from './key-service.compose';
import { migrateKms, withoutOwnerUrl } from './migrate/migrate-kms';
import { provisionSettings, provisionSystemWorkloads } from './provision/system-workloads.provision';

const logger = new Logger('kms-provision');

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const settings = provisionSettings(config.provision);
  const migrated = await migrateKms(config);
  logger.log(migrated.applied.length > 0 ? `applied migrations ${migrated.applied.join(', ')}` : `schema ${config.postgres.schema} is up to date`);
  for (const notice of migrated.notices) logger.warn(notice);
  // The rest as the key service would run it (event store, master key, HSM; no port), without the owner.
  const runtime = await composeKeyService(withoutOwnerUrl(config), { migrated: true });
  try {
    const credentials = await provisionSystemWorkloads(runtime, settings);
    for (const c of credentials) logger.log(`workload ${c.name} (client_id ${c.clientId}): credential in ${settings.credentialsDir}`);
    if (settings.envFile) logger.log(`the same credentials as KEY=value lines in ${settings.envFile}`);
  } finally {
    await runtime.close();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    if (e instanceof ConfigError) console.error(`kms-provision: invalid configuration: ${e.message}`);
    else logger.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exit(1);
  },
);
