// Standalone mode: every KMS service in one process on the local PostgreSQL and Redis.
// Started by `npm start` (scripts/standalone.sh), which sets KMS_STANDALONE=1.
import { Logger } from '@nestjs/common';
import { AnomalyDetectorModule } from '@kms/anomaly-detector';
import { AuditProjectorModule, complianceIdentity, SoftwareAttestationSigner } from '@kms/audit-projector';
import { PostgresAuditFeed } from '@kms/persistence-postgres';
import { join } from 'node:path';
import { ConfigError, loadConfig, Secret } from '@kms/config';
import { ensureSystemCredentials, startKeyService } from '@kms/key-service-grpc';
import { closeOnSignals } from '@kms/platform';
import { connectKeyService, RotationSchedulerModule } from '@kms/rotation-scheduler';

const logger = new Logger('kms-standalone');

async function main(): Promise<void> {
  const config = loadConfig({ KMS_STANDALONE: '1', ...process.env });
  const closers: Array<() => void> = [];
  const svc = await startKeyService(config, {
    logger,
    extraModules: async (rt) => {
      // The scheduler is a client of the key service like any workload: its own identity and token.
      const [schedulerCredential] = await ensureSystemCredentials(rt, [
        { name: 'kms-rotation-scheduler', role: 'rotation-scheduler', file: join(config.stateDir, 'credentials', 'rotation-scheduler.json') },
      ]);
      const grpcHost = config.grpc.host === '0.0.0.0' ? '127.0.0.1' : config.grpc.host;
      const scheduler = connectKeyService(
        `${grpcHost}:${config.grpc.port}`,
        { clientId: schedulerCredential.clientId, clientSecret: new Secret(schedulerCredential.clientSecret) },
        rt.deps.clock,
      );
      closers.push(scheduler.close);
      return [
      RotationSchedulerModule.forRoot(config, {
        eventStore: rt.deps.store,
        keyService: scheduler.keyService,
        clock: rt.deps.clock,
        eventsHead: async () => BigInt((await rt.pool.query<{ h: string | null }>('SELECT max(global_position)::text AS h FROM events')).rows[0]?.h ?? '0'),
        settings: { reconcileSeconds: 60, destroyAfterDays: 30, queuePrefix: 'kms', queueName: `rotation-deadlines-${config.postgres.schema}`, maxLagEvents: 1000 },
      }),
      AuditProjectorModule.forRoot(config, {
        eventStore: rt.deps.store,
        auditFeed: new PostgresAuditFeed(rt.pool),
        auditLog: rt.audit,
        // The HSM attestation key when there is an HSM; otherwise a key derived from the master key.
        signer: rt.deps.attestation ?? SoftwareAttestationSigner.fromSeed(rt.deriveKey('audit-attestation-v1')),
        identity: complianceIdentity(rt.deps.store, rt.deps.secrets, rt.deps.clock),
      }),
      AnomalyDetectorModule.forRoot(config),
      ];
    },
  });
  svc.app.enableShutdownHooks();
  process.once('exit', () => closers.forEach((close) => close()));
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
