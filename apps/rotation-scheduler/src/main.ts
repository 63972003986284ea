// Entry point: `npx tsx apps/rotation-scheduler/src/main.ts`. Configuration comes from the environment (libs/config).
import { ConfigError, loadConfig } from '@kms/config';
import { closeOnSignals, createHttpApp } from '@kms/platform';
import { RotationSchedulerModule } from '@kms/rotation-scheduler';
import { Logger } from '@nestjs/common';

const logger = new Logger('rotation-scheduler');

async function main(): Promise<void> {
  const config = loadConfig();
  const { app, url } = await createHttpApp(RotationSchedulerModule.forRoot(config), config.http);
  closeOnSignals(app, logger);
  logger.log(`listening on ${url}`);
}

main().catch((e: unknown) => {
  if (e instanceof ConfigError) console.error(`rotation-scheduler: invalid configuration: ${e.message}`);
  else logger.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
