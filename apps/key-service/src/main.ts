// Entry point: `npx tsx apps/key-service/src/main.ts`. Configuration comes from the environment (libs/config).
import { Logger } from '@nestjs/common';
import { ConfigError, loadConfig } from '@kms/config';
import { startKeyService } from '@kms/key-service-grpc';
import { closeOnSignals } from '@kms/platform';

const logger = new Logger('key-service');

async function main(): Promise<void> {
  const config = loadConfig();
  const svc = await startKeyService(config, { logger });
  closeOnSignals(svc.app, logger);
  logger.log(`gRPC kms.v1.KeyManagementService on ${svc.grpcAddress}, HTTP on ${svc.httpUrl}`);
}

main().catch((e: unknown) => {
  if (e instanceof ConfigError) console.error(`key-service: invalid configuration: ${e.message}`);
  else logger.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
