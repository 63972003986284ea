// Standalone mode: every KMS service in one process on the local PostgreSQL and Redis.
// Started by `npm start` (scripts/standalone.sh), which sets KMS_STANDALONE=1.
import { Logger } from '@nestjs/common';
import { AnomalyDetectorModule } from '@kms/anomaly-detector';
import { AuditProjectorModule, complianceIdentity, SoftwareAttestationSigner } from '@kms/audit-projector';
import { PostgresAuditFeed } from '@kms/persistence-postgres';
import { ConfigError, loadConfig } from '@kms/config';
import { startKeyService } from '@kms/key-service-grpc';
import { closeOnSignals } from '@kms/platform';
import { RotationSchedulerModule } from '@kms/rotation-scheduler';

const logger = new Logger('kms-standalone');

async function main(): Promise<void> {
  const config = loadConfig({ KMS_STANDALONE: '1', ...process.env });
  const svc = await startKeyService(config, {
    logger,
    extraModules: (rt) => [
      RotationSchedulerModule.forRoot(config),
      AuditProjectorModule.forRoot(config, {
        eventStore: rt.deps.store,
        auditFeed: new PostgresAuditFeed(rt.pool),
        auditLog: rt.audit,
        // The HSM attestation key when there is an HSM; otherwise a key derived from the master key.
        signer: rt.deps.attestation ?? SoftwareAttestationSigner.fromSeed(rt.deriveKey('audit-attestation-v1')),
        identity: complianceIdentity(rt.deps.store, rt.deps.secrets, rt.deps.clock),
      }),
      AnomalyDetectorModule.forRoot(config),
    ],
  });
  closeOnSignals(svc.app, logger);
  logger.log(`state folder: ${config.stateDir}`);
  logger.log(`gRPC kms.v1.KeyManagementService on ${svc.grpcAddress} (health, reflection)`);
  logger.log(`HTTP on ${svc.httpUrl}: /healthz /readyz /metrics, compliance API /v1/... (OpenAPI at /v1/openapi.json)`);
}

main().catch((e: unknown) => {
  if (e instanceof ConfigError) console.error(`kms: invalid configuration: ${e.message}`);
  else logger.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
