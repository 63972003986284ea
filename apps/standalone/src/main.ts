// Standalone mode: every KMS service in one process on the local PostgreSQL and Redis.
// Started by `npm start` (scripts/standalone.sh), which sets KMS_STANDALONE=1.
import { Logger } from '@nestjs/common';
import {
  AnomalyDetectorModule,
  AnomalyDetectorService,
  GrpcContainmentGateway,
  KafkaAnomalyPublisher,
  loadAnomalyDetectorSettings,
  loadRulesFile,
  PostgresDetectorStateStore,
  PostgresKeyUseLookup,
  watchRules,
} from '@kms/anomaly-detector';
import { AuditProjectorModule, checkpointPublisherFromEnv, complianceIdentity, SoftwareAttestationSigner } from '@kms/audit-projector';
import { PostgresAuditFeed } from '@kms/persistence-postgres';
import { grpcConfirmationSink, loadNoticeSettings, NoticesModule } from '@kms/notices-kafka';
import { createKmsClient, type KmsClient } from '@kms/contracts';
import { HealthModule, HealthRegistry, METRICS_REGISTRY } from '@kms/platform';
import { join } from 'node:path';
import { ConfigError, loadConfig, Secret } from '@kms/config';
import { ensureSystemCredentials, startKeyService } from '@kms/key-service-grpc';
import { IdentityService } from '@kms/application';
import { connectKeyService, PostgresFollowerSnapshotStore, RotationSchedulerModule } from '@kms/rotation-scheduler';

const logger = new Logger('kms-standalone');

async function main(): Promise<void> {
  const config = loadConfig({ KMS_STANDALONE: '1', ...process.env });
  const closers: Array<() => void> = [];
  const confirmationClient = (address: string): KmsClient => {
    const client = createKmsClient(address);
    closers.push(() => client.close());
    return client;
  };
  let detector: AnomalyDetectorService | undefined;
  let stopWatchingRules = (): void => undefined;
  // Ledger checkpoints also go to Kafka when KAFKA_BROKERS is set, so copies exist outside the database.
  const checkpointPublisher = checkpointPublisherFromEnv();
  // Read before the service starts, so a bad Kafka setting stops the boot with the variable named.
  const noticeSettings = loadNoticeSettings(process.env);
  const svc = await startKeyService(config, {
    logger,
    extraModules: async (rt) => {
      // The scheduler is a client of the key service like any workload: its own identity and token.
      const [schedulerCredential, detectorCredential] = await ensureSystemCredentials(rt, [
        { name: 'kms-rotation-scheduler', role: 'rotation-scheduler', file: join(config.stateDir, 'credentials', 'rotation-scheduler.json') },
        { name: 'kms-anomaly-detector', role: 'anomaly-detector', file: join(config.stateDir, 'credentials', 'anomaly-detector.json') },
      ]);
      const grpcHost = config.grpc.host === '0.0.0.0' ? '127.0.0.1' : config.grpc.host;
      const scheduler = connectKeyService(
        `${grpcHost}:${config.grpc.port}`,
        { clientId: schedulerCredential.clientId, clientSecret: new Secret(schedulerCredential.clientSecret) },
        rt.deps.clock,
      );
      closers.push(scheduler.close);
      const schedulerSnapshots = new PostgresFollowerSnapshotStore(rt.pool, `rotation-deadlines-${config.postgres.schema}`);
      await schedulerSnapshots.ensureSchema();
      // The anomaly detector follows the audit log and contains findings over gRPC, as its own workload.
      const detectorSettings = loadAnomalyDetectorSettings(process.env, `${grpcHost}:${config.grpc.port}`);
      const detectorState = new PostgresDetectorStateStore(rt.pool);
      await detectorState.ensureSchema();
      detector = new AnomalyDetectorService(loadRulesFile(detectorSettings.rulesFile), {
        feed: new PostgresAuditFeed(rt.pool),
        uses: new PostgresKeyUseLookup(rt.pool),
        events: rt.deps.store,
        state: detectorState,
        publisher: detectorSettings.kafkaBrokers.length > 0 ? new KafkaAnomalyPublisher(detectorSettings.kafkaBrokers) : null,
        containment: new GrpcContainmentGateway(detectorSettings.kmsAddress, detectorCredential.clientId, detectorCredential.clientSecret),
        selfIdentityId: detectorCredential.clientId,
        source: `urn:kms:anomaly-detector:${config.http.host}:${config.http.port}`,
        batchSize: detectorSettings.batchSize,
        pollMs: detectorSettings.pollMs,
        now: () => rt.deps.clock.now(),
        log: (level, m) => logger[level](m),
      });
      stopWatchingRules = watchRules(detectorSettings.rulesFile, detector, (level, m) => logger[level](m), { fileIntervalMs: detectorSettings.rulesWatchMs });
      return [
      RotationSchedulerModule.forRoot(config, {
        eventStore: rt.deps.store,
        ...(config.eventStore.kind === 'postgres' ? { snapshots: schedulerSnapshots } : {}),
        keyService: scheduler.keyService,
        clock: rt.deps.clock,
        eventsHead: async () => BigInt((await rt.pool.query<{ h: string | null }>('SELECT max(global_position)::text AS h FROM events')).rows[0]?.h ?? '0'),
        settings: {
          reconcileSeconds: 60,
          destroyAfterDays: 30,
          retirementRecheckSeconds: 3600,
          queuePrefix: 'kms',
          queueName: `rotation-deadlines-${config.postgres.schema}`,
          maxLagEvents: 1000,
        },
      }),
      AuditProjectorModule.forRoot(config, {
        eventStore: rt.deps.store,
        auditFeed: new PostgresAuditFeed(rt.pool),
        auditLog: rt.audit,
        // The HSM attestation key when there is an HSM; otherwise a key derived from the master key.
        signer: rt.deps.attestation ?? SoftwareAttestationSigner.fromSeed(rt.deriveKey('audit-attestation-v1')),
        identity: complianceIdentity(rt.deps.store, rt.deps.secrets, rt.deps.clock),
        ...(checkpointPublisher ? { checkpointPublisher } : {}),
      }),
      AnomalyDetectorModule.forRoot(config, { detector }),
      NoticesModule.forRoot(
        {
          settings: noticeSettings,
          postgres: config.postgres,
          eventStore: rt.deps.store,
          ...(config.eventStore.kind === 'postgres'
            ? { eventsHead: async () => BigInt((await rt.pool.query<{ h: string | null }>('SELECT max(global_position)::text AS h FROM events')).rows[0]?.h ?? '0') }
            : {}),
          // Dependents may also confirm on the confirmations topic; each message is recorded through
          // this service's own gRPC API with the dependent's token (same checks, same audit).
          ...(noticeSettings.brokers.length > 0 ? { confirmationSink: grpcConfirmationSink(confirmationClient(`${grpcHost}:${config.grpc.port}`)) } : {}),
          publicKeySource: {
            spki: async (ref) => {
              const backend = rt.deps.backends[ref.protectionLevel];
              if (!backend) throw new Error(`no ${ref.protectionLevel} backend`);
              return backend.getPublicKey(ref);
            },
          },
          // Notices name keys and tenants: readers authenticate like every other caller (the key
          // service's identity view, so a suspension applies at once).
          authorizeRead: async (authorization) => {
            const token = /^Bearer\s+(\S+)$/.exec(authorization ?? '')?.[1];
            return svc.app
              .get(IdentityService)
              .authenticate(token)
              .then(
                () => true,
                () => false,
              );
          },
        },
        { imports: [HealthModule], metricsRegistry: METRICS_REGISTRY, healthRegistry: HealthRegistry },
      ),
      ];
    },
  });

  await detector?.start();
  // Ordered shutdown: stop following the audit log, then the service (gRPC, HTTP, pools, HSM, audit flush).
  const stop = (signal: NodeJS.Signals): void => {
    logger.log(`${signal} received, shutting down`);
    stopWatchingRules();
    svc
      .close()
      .then(() => checkpointPublisher?.close())
      .then(() => closers.forEach((close) => close()))
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
