// Standalone mode: every KMS service in one process on the local PostgreSQL and Redis.
// Started by `npm start` (scripts/standalone.sh), which sets KMS_STANDALONE=1.
import { Logger } from '@nestjs/common';
import { AnomalyDetectorModule } from '@kms/anomaly-detector';
import { AuditProjectorModule } from '@kms/audit-projector';
import { ConfigError, loadConfig } from '@kms/config';
import { startKeyService } from '@kms/key-service-grpc';
import { closeOnSignals } from '@kms/platform';
import { RotationSchedulerModule } from '@kms/rotation-scheduler';

const logger = new Logger('kms-standalone');

async function main(): Promise<void> {
  const config = loadConfig({ KMS_STANDALONE: '1', ...process.env });
  const svc = await startKeyService(config, {
    logger,
    extraModules: [RotationSchedulerModule.forRoot(config), AuditProjectorModule.forRoot(config), AnomalyDetectorModule.forRoot(config)],
  });
  closeOnSignals(svc.app, logger);
  logger.log(`state folder: ${config.stateDir}`);
  logger.log(`gRPC kms.v1.KeyManagementService on ${svc.grpcAddress} (health, reflection)`);
  logger.log(`HTTP on ${svc.httpUrl}: /healthz /readyz /metrics`);
}

main().catch((e: unknown) => {
  if (e instanceof ConfigError) console.error(`kms: invalid configuration: ${e.message}`);
  else logger.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
