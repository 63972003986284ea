// Entry point: `npx tsx apps/audit-projector/src/main.ts`. Configuration comes from the environment (libs/config).
import { ConfigError, loadConfig } from '@kms/config';
import { closeOnSignals, createHttpApp } from '@kms/platform';
import { AuditProjectorModule } from '@kms/audit-projector';
import { Logger } from '@nestjs/common';

const logger = new Logger('audit-projector');

async function main(): Promise<void> {
  const config = loadConfig();
  const { app, url } = await createHttpApp(AuditProjectorModule.forRoot(config), config.http);
  closeOnSignals(app, logger);
  logger.log(`listening on ${url}`);
}

main().catch((e: unknown) => {
  if (e instanceof ConfigError) console.error(`audit-projector: invalid configuration: ${e.message}`);
  else logger.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
