// Entry point: `npx tsx apps/anomaly-detector/src/main.ts`. Configuration comes from the environment
// (libs/config, plus KMS_ANOMALY_* — see docs/anomaly-detector.md) and the rules file.
import { ConfigError, loadConfig } from '@kms/config';
import { closeOnSignals, createHttpApp, createPostgresPool } from '@kms/platform';
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
import { PostgresEventStore } from '@kms/event-store-postgres';
import { PostgresAuditFeed } from '@kms/persistence-postgres';
import { Logger } from '@nestjs/common';

const logger = new Logger('anomaly-detector');

async function main(): Promise<void> {
  const config = loadConfig();
  const settings = loadAnomalyDetectorSettings(process.env, `${config.grpc.host}:${config.grpc.port}`);
  const rules = loadRulesFile(settings.rulesFile);
  const pool = createPostgresPool(config.postgres, 'kms-anomaly-detector-follower');
  const state = new PostgresDetectorStateStore(pool);
  await state.ensureSchema();
  const containment = settings.clientId && settings.clientSecret ? new GrpcContainmentGateway(settings.kmsAddress, settings.clientId, settings.clientSecret) : null;
  if (!containment) logger.warn('KMS_ANOMALY_CLIENT_ID/SECRET not set: findings are recorded but nothing is contained');
  const detector = new AnomalyDetectorService(rules, {
    feed: new PostgresAuditFeed(pool),
    uses: new PostgresKeyUseLookup(pool),
    events: new PostgresEventStore(pool),
    state,
    publisher: settings.kafkaBrokers.length > 0 ? new KafkaAnomalyPublisher(settings.kafkaBrokers) : null,
    containment,
    selfIdentityId: settings.clientId,
    source: `urn:kms:anomaly-detector:${config.http.host}:${config.http.port}`,
    batchSize: settings.batchSize,
    pollMs: settings.pollMs,
    now: () => new Date(),
    log: (level, m) => logger[level](m),
  });
  // Rules reload on SIGHUP and when the file changes; a bad file is refused and the rules in force stay.
  watchRules(settings.rulesFile, detector, (level, m) => logger[level](m), { fileIntervalMs: settings.rulesWatchMs });
  // The module reports the follower on /readyz ("anomaly-detector.follower") and /metrics, and stops it on close.
  const { app, url } = await createHttpApp(AnomalyDetectorModule.forRoot(config, { detector }), config.http);
  closeOnSignals(app, logger);
  await detector.start();
  logger.log(`listening on ${url} (following the audit log from position ${detector.stats.position}, rules version ${detector.rulesVersion})`);
}

main().catch((e: unknown) => {
  if (e instanceof ConfigError) console.error(`anomaly-detector: invalid configuration: ${e.message}`);
  else logger.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
