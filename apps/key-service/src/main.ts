// Entry point: `npx tsx apps/key-service/src/main.ts`. Configuration comes from the environment (libs/config).
import { Logger } from '@nestjs/common';
import { startObservability } from '@kms/platform';
import { ConfigError, loadConfig } from '@kms/config';
import { CallPipeline } from '@kms/application';
import { startKeyService } from './key-service.app';
import { composeNotifications } from './notifications.compose';

const logger = new Logger('key-service');

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  // JSON logs (request id and caller on every line of a call) and, when enabled, traces.
  startObservability(config.observability, 'kms-key-service');
  const svc = await startKeyService(config, {
    logger,
    // Compliance notifications by email and Slack (docs/notifications.md); identities once the app is up.
    extraModules: (rt) => [composeNotifications(config, rt, { pipeline: () => svc.app.get(CallPipeline) })],
  });
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
