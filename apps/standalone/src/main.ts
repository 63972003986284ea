// Standalone mode: every KMS service in one process on the local PostgreSQL and Redis, each from the
// same compose as its own app. Started by `npm start` (scripts/standalone.sh), which sets KMS_STANDALONE=1.
import { Logger } from '@nestjs/common';
import { join } from 'node:path';
import { anomalyDetectorSettings } from '@kms/anomaly-detector';
import { SoftwareAttestationSigner } from '@kms/audit-projector';
import { AuditedEventStore, CallPipeline, IdentityService } from '@kms/application';
import { startObservability } from '@kms/platform';
import { ConfigError, loadConfig, Secret } from '@kms/config';
import { createKmsClient } from '@kms/contracts';
import { ensureSystemCredentials } from '@kms/key-service-grpc';
import { composeAnomalyDetector, type ComposedAnomalyDetector } from '@kms/anomaly-detector-app';
import { composeAuditProjector } from '@kms/audit-projector-app';
import { composeNotices, composeNotifications, migrateKms, scheduleAuditMaintenance, startKeyService, withoutOwnerUrl } from '@kms/key-service-app';
import { composeRotationScheduler } from '@kms/rotation-scheduler-app';
import { describeDatabaseUrl, ensureStandaloneServiceRole } from '@kms/persistence-postgres';

const logger = new Logger('kms-standalone');

async function main(): Promise<void> {
  const setup = loadConfig({ KMS_STANDALONE: '1', ...process.env });
  // JSON logs (request id and caller on every line of a call) and, when enabled, traces.
  startObservability(setup.observability, 'kms-standalone');
  // This process is its own setup step of append-only storage: the services connect as a role that
  // may only INSERT and SELECT history; the migrate step (migrations, grants, seal upgrade) runs first
  // as the local superuser, the one the production stack's provision step runs.
  if (await ensureStandaloneServiceRole(setup.postgres)) {
    logger.log(`created the PostgreSQL role ${setup.postgres.serviceRole} (LOGIN); the services connect as it, migrations run as ${describeDatabaseUrl(setup.postgres.migrationUrl ?? setup.postgres.url)}`);
  }
  const migrated = await migrateKms(setup);
  if (migrated.applied.length > 0) logger.log(`applied ${migrated.applied.length} migrations to schema ${setup.postgres.schema}`);
  for (const notice of migrated.notices) logger.warn(notice);
  // From here on the services never get the owner's URL: they only check the schema is migrated. Only
  // the audit upkeep below uses it, with a pool of its own for each run.
  const config = withoutOwnerUrl(setup);
  // Released after the service, in this order (gRPC channels of the in-process workloads, Kafka).
  const closers: Array<() => void | Promise<void>> = [];
  let detector: ComposedAnomalyDetector | undefined;
  const svc = await startKeyService(config, {
    logger,
    migrated: true,
    extraModules: async (rt) => {
      // The scheduler and detector are clients of the key service like any workload: own identities and tokens.
      const [schedulerCredential, detectorCredential] = await ensureSystemCredentials(rt, [
        { name: 'kms-rotation-scheduler', role: 'rotation-scheduler', file: join(config.stateDir, 'credentials', 'rotation-scheduler.json') },
        { name: 'kms-anomaly-detector', role: 'anomaly-detector', file: join(config.stateDir, 'credentials', 'anomaly-detector.json') },
      ]);
      const grpcHost = config.grpc.host === '0.0.0.0' ? '127.0.0.1' : config.grpc.host;
      const keyServiceAddress = `${grpcHost}:${config.grpc.port}`;
      const scheduler = await composeRotationScheduler(
        config,
        {
          eventStore: rt.deps.store,
          pool: rt.pool,
          clock: rt.deps.clock,
          keyServiceAddress,
          credential: { clientId: schedulerCredential.clientId, clientSecret: new Secret(schedulerCredential.clientSecret) },
        },
        // Standalone keeps its schedule per schema, so test schemas sharing one Redis never meet.
        {
          reconcileSeconds: 60,
          destroyAfterDays: 30,
          retirementRecheckSeconds: 3600,
          queuePrefix: 'kms',
          queueName: `rotation-deadlines-${config.postgres.schema}`,
          maxLagEvents: 1000,
        },
      );
      closers.push(scheduler.close);
      // The anomaly detector follows the audit log and contains findings over gRPC, as its own workload.
      detector = await composeAnomalyDetector(
        config,
        {
          pool: rt.pool,
          auditSealer: rt.auditSealer,
          // Findings commit with an audit record naming the detector, like every change.
          events: new AuditedEventStore(rt.deps.store, rt.deps.changes.committer, rt.deps.clock, detectorCredential.clientId),
          now: () => rt.deps.clock.now(),
          log: (level, m) => logger[level](m),
        },
        { ...anomalyDetectorSettings(config.anomalyDetector, keyServiceAddress), clientId: detectorCredential.clientId, clientSecret: detectorCredential.clientSecret },
      );
      const projector = composeAuditProjector(config, {
        eventStore: rt.deps.store,
        ...(rt.sealedHistory ? { seals: rt.sealedHistory } : {}),
        pool: rt.pool,
        auditLog: rt.audit,
        auditSealer: rt.auditSealer,
        // The HSM attestation key when there is an HSM; otherwise a key derived from the master key.
        signer: rt.deps.attestation ?? SoftwareAttestationSigner.fromSeed(rt.deriveKey('audit-attestation-v1')),
        secrets: rt.deps.secrets,
        clock: rt.deps.clock,
        // One alarm for the process: the key service shows it on /readyz.
        integrity: { alarm: rt.integrity, expose: false },
        // The key service's HSM instances: GET /v1/evidence/hsms/{id} (docs/jurisdictions.md).
        ...(rt.hsmAttestations ? { hsmAttestations: rt.hsmAttestations } : {}),
        // Legal artifacts (docs/jurisdictions.md) commit with their audit record through the key service's committer.
        changes: { committer: rt.deps.changes.committer, ...(rt.deps.changes.idempotency ? { idempotency: rt.deps.changes.idempotency } : {}) },
      });
      closers.push(projector.close);
      const notices = composeNotices(config, rt, {
        identities: () => svc.app.get(IdentityService),
        confirmationClient: () => {
          const client = createKmsClient(keyServiceAddress);
          closers.push(() => client.close());
          return client;
        },
      });
      // Compliance notifications by email and Slack (docs/notifications.md).
      const notifications = composeNotifications(config, rt, { pipeline: () => svc.app.get(CallPipeline) });
      return [scheduler.module, projector.module, detector.module, notices, notifications];
    },
  });

  await detector?.detector.start();
  // The audit trail's upkeep (partitions ahead, archive, retention), which a host without cron would
  // otherwise never run: as the owner, sealing with the key service's own audit sealer.
  const every = setup.auditRetention.everySeconds;
  const maintenance =
    every > 0 ? scheduleAuditMaintenance(setup, { everySeconds: every, sealer: svc.runtime.auditSealer, log: (level, m) => logger[level](m) }) : undefined;
  if (!maintenance) logger.warn('audit maintenance is off (KMS_AUDIT_MAINTENANCE_SECONDS=0): run apps/key-service/src/audit-maintenance.ts as the owner from cron');
  // Ordered shutdown: stop the audit upkeep and following the audit log, then the service (gRPC, HTTP, pools, HSM, audit flush).
  const stop = (signal: NodeJS.Signals): void => {
    logger.log(`${signal} received, shutting down`);
    detector?.stopWatchingRules();
    (maintenance?.stop() ?? Promise.resolve())
      .then(() => svc.close())
      .then(async () => {
        for (const close of closers) await close();
      })
      .then(
        () => process.exit(0),
        (e: unknown) => {
          logger.error(`shutdown failed: ${e instanceof Error ? e.message : String(e)}`);
          process.exit(1);
        },
      );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  logger.log(`state folder: ${config.stateDir}`);
  logger.log(`gRPC kms.v1.KeyManagementService on ${svc.grpcAddress} (health, reflection)`);
  logger.log(`HTTP on ${svc.httpUrl}: /healthz /readyz /metrics, compliance API /v1/... (OpenAPI at /v1/openapi.json)`);
}

main().catch((e: unknown) => {
  if (e instanceof ConfigError) console.error(`kms: invalid configuration: ${e.message}`);
  else logger.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
