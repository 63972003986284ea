// Entry point: `npx tsx apps/anomaly-detector/src/main.ts`. Configuration comes from the environment
// (libs/config, including KMS_ANOMALY_* — see docs/anomaly-detector.md) and the rules file.
import { historySealKeysOnce } from '@kms/key-backend-pkcs11';
import { loadMasterKey } from '@kms/key-backend-software';
import { AuditSealer, PostgresAuditLog } from '@kms/persistence-postgres';
import { EventSealer } from '@kms/event-store';
import { ConfigError, loadConfig } from '@kms/config';
import { closeOnSignals, createHttpApp, createPostgresPool, startObservability } from '@kms/platform';
import { anomalyDetectorSettings } from '@kms/anomaly-detector';
import { notifyChannelFor, PostgresChangeCommitter, PostgresEventStore } from '@kms/event-store-postgres';
import { AuditedEventStore, IntegrityAlarm, systemClock } from '@kms/application';
import { Logger } from '@nestjs/common';
import { composeAnomalyDetector } from './anomaly-detector.compose';

const logger = new Logger('anomaly-detector');

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  // Events are checked against their seals (and sealed when this process writes).
  // The HSM's seal keys when an HSM is configured, else the master key's.
  const sealKeys = await historySealKeysOnce(config.hsm, await loadMasterKey(config.masterKey), { createRoot: false });
  const sealer = new EventSealer(sealKeys.events);
  // Audit records are checked against their seals (and sealed when this process writes).
  const auditSealer = new AuditSealer(sealKeys.audit);
  // JSON logs (request id and caller on every line of a call) and, when enabled, traces.
  startObservability(config.observability, 'kms-anomaly-detector');
  const settings = anomalyDetectorSettings(config.anomalyDetector, `${config.grpc.host}:${config.grpc.port}`);
  const pool = createPostgresPool(config.postgres, 'kms-anomaly-detector-follower');
  const store = new PostgresEventStore(pool, { channel: notifyChannelFor(config.postgres.schema), sealer });
  const events = new AuditedEventStore(store, new PostgresChangeCommitter(pool, { channel: store.channel, sealer, auditSealer }), systemClock, settings.clientId ?? 'system:anomaly-detector');
  if (!settings.clientId) logger.warn('KMS_ANOMALY_CLIENT_ID/SECRET not set: findings are recorded but nothing is contained');
  // Rows its readers refuse are logged, audited, on /readyz and in /metrics.
  const auditLog = new PostgresAuditLog(pool, auditSealer);
  const integrity = new IntegrityAlarm({ detectedBy: 'anomaly-detector', audit: auditLog, logger: new Logger('integrity') });
  integrity.watch(sealer);
  integrity.watchAudit(auditSealer);
  const { detector, module } = await composeAnomalyDetector(config, { pool, auditSealer, events, now: () => new Date(), log: (level, m) => logger[level](m), integrity }, settings);
  const { app, url } = await createHttpApp(module, config.http);
  // The alarm's audit writes end after the app (the module stops the follower first).
  const shutdown = app.close.bind(app);
  app.close = async () => {
    await shutdown();
    await integrity.settled();
    await auditLog.close();
  };
  closeOnSignals(app, logger);
  await detector.start();
  logger.log(`listening on ${url} (following the audit log from position ${detector.stats.position}, rules version ${detector.rulesVersion})`);
}

main().catch((e: unknown) => {
  if (e instanceof ConfigError) console.error(`anomaly-detector: invalid configuration: ${e.message}`);
  else logger.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
