// Entry point: `npx tsx apps/key-service/src/main.ts`. Configuration comes from the environment (libs/config).
import { Logger } from '@nestjs/common';
import { ConfigError, loadConfig } from '@kms/config';
import { startKeyService } from '@kms/key-service-grpc';

const logger = new Logger('key-service');

async function main(): Promise<void> {
  const config = loadConfig();
  const svc = await startKeyService(config, { logger });
  // svc.close() also closes the pools and the HSM and flushes the audit queue, which app.close() alone would not.
  const stop = (signal: NodeJS.Signals): void => {
    logger.log(`${signal} received, shutting down`);
    svc.close().then(
      () => process.exit(0),
      (e: unknown) => {
        logger.error(`shutdown failed: ${e instanceof Error ? e.message : String(e)}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  logger.log(`gRPC kms.v1.KeyManagementService on ${svc.grpcAddress}, HTTP on ${svc.httpUrl}`);
}

main().catch((e: unknown) => {
  if (e instanceof ConfigError) console.error(`key-service: invalid configuration: ${e.message}`);
  else logger.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
