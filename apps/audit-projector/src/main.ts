// Entry point: `npx tsx apps/audit-projector/src/main.ts`. Configuration comes from the environment (libs/config),
// including KMS_LEDGER_ORIGIN (ledger origin prefix, default "open-kms/audit-ledger"), and, to send a copy of every signed
// checkpoint to Kafka, KAFKA_BROKERS (+ KMS_CHECKPOINTS_TOPIC, default kms.ledger-checkpoints.v1; KMS_KAFKA_CREATE_TOPICS and the topic settings; KAFKA_CLIENT_ID).
import type { AttestationSigner, ChangeCommitter } from '@kms/application';
import { HsmAttestationService, HsmTimelineService, IntegrityAlarm, systemClock } from '@kms/application';
import { ComplianceGateway, type HttpRequest, SoftwareAttestationSigner } from '@kms/audit-projector';
import { EventSealer } from '@kms/event-store';
import { ConfigError, type KmsConfig, loadConfig } from '@kms/config';
import { eventStoreMigrations, notifyChannelFor, PostgresChangeCommitter, PostgresEventStore } from '@kms/event-store-postgres';
import { composeHsmInstances, historySealKeys, type KmsHsms } from '@kms/key-backend-pkcs11';
import { loadMasterKey } from '@kms/key-backend-software';
import { auditMigrations, AuditSealer, createPgPool, PostgresAuditLog, prepareSchema } from '@kms/persistence-postgres';
import { closeOnSignals, createHttpApp, startObservability } from '@kms/platform';
import { Logger } from '@nestjs/common';
import { composeAuditProjector } from './audit-projector.compose';

const logger = new Logger('audit-projector');


/**
 * The HSMs when configured (production), opened as the key service opens them (composeHsmInstances):
 * the custody HSM (KMS_HSM_*) holds the attestation key and the root the history seal keys are
 * derived from — without one, both come from the master key, and the process says which; every
 * declared instance (KMS_HSM_INSTANCES) signs its own attestation bundles (GET /v1/evidence/hsms/{id}).
 */
async function hsmsFor(config: KmsConfig): Promise<KmsHsms | undefined> {
  const notices: string[] = [];
  const hsms = await composeHsmInstances(config, notices, (f) => logger.warn(`HSM ${f.operation} failed${f.returnCode ? ` (${f.returnCode})` : ''}: ${f.message}${f.reconnecting ? '; reconnecting' : ''}`));
  for (const notice of notices) logger.log(notice);
  if (hsms?.custody) logger.log('attestation key: the HSM key kms-attestation-v1; history seal keys derived inside the HSM (kms-seal-v1)');
  else logger.warn('attestation and seal keys: SOFTWARE keys derived from the master key (no HSM configured); production uses the HSM');
  const ids = hsms?.registry.instances().map((i) => i.declaration.instanceId) ?? [];
  if (ids.length > 0) logger.log(`HSM instances opened for their attestation bundles: ${ids.join(', ')}`);
  return hsms;
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  // JSON logs (request id and caller on every line of a call) and, when enabled, traces.
  startObservability(config.observability, 'kms-audit-projector');
  const masterKey = await loadMasterKey(config.masterKey);
  const hsms = await hsmsFor(config);
  const custody = hsms?.custody;
  // The key service or the migrate step creates the HSM seal root; this process only finds it.
  const sealKeys = await historySealKeys(custody?.pool, masterKey, { createRoot: false });
  // Events are checked against their seals (and sealed when this process writes).
  const sealer = new EventSealer(sealKeys.events);
  // With one role the source tables may not exist yet (the projector may start first); with the service
  // role the migrate step created them, or the start is refused naming what is missing.
  await prepareSchema(config.postgres, config.eventStore.kind === 'postgres' ? [...eventStoreMigrations, ...auditMigrations] : auditMigrations);
  const pool = createPgPool(config.postgres, { max: 5, application_name: 'kms-audit-projector-source' });
  const eventStore = new PostgresEventStore(pool, { channel: notifyChannelFor(config.postgres.schema), sealer });
  // Audit records are sealed when written here and checked when projected.
  const auditSealer = new AuditSealer(sealKeys.audit);
  const auditLog = new PostgresAuditLog(pool, auditSealer, { maxBatch: config.auditMaxBatch });
  // Rows this process refuses, and divergences the ledger reconciliation finds, raise the alarm.
  const integrity = new IntegrityAlarm({ detectedBy: 'audit-projector', audit: auditLog, logger: new Logger('integrity') });
  integrity.watch(sealer);
  integrity.watchAudit(auditSealer);
  const signer: AttestationSigner = custody?.attestationSigner ?? SoftwareAttestationSigner.fromSeed(masterKey.derive('audit-attestation-v1'));
  // The compliance API's changes (legal artifacts, the HSM timeline and bundle events) commit with
  // their audit record in one PostgreSQL transaction, as the key service's do.
  const committer: ChangeCommitter | undefined =
    config.eventStore.kind === 'postgres' ? new PostgresChangeCommitter(pool, { channel: eventStore.channel, sealer, auditSealer }) : undefined;
  if (!committer) logger.warn('the event store is not PostgreSQL: legal artifacts cannot be registered here and GET /v1/evidence/hsms/{id} answers 404 (use the key service\'s process)');
  // Each declared HSM instance signs its own bundle here; its timeline events are this process's changes.
  const hsmAttestations =
    committer && hsms && hsms.registry.instances().length > 0
      ? new HsmAttestationService((id) => hsms.registry.attestable(id), new HsmTimelineService(eventStore, committer, systemClock))
      : undefined;
  const projector = composeAuditProjector(config, {
    eventStore,
    seals: { stored: eventStore, sealer },
    pool,
    auditLog,
    auditSealer,
    signer,
    secrets: { tokenSigningKey: masterKey.derive('token-signing-v1'), credentialPepper: masterKey.derive('credential-verifier-v1') },
    clock: systemClock,
    integrity: { alarm: integrity, expose: true },
    eventsHead: async () => BigInt((await pool.query<{ h: string | null }>('SELECT max(global_position)::text AS h FROM events')).rows[0]?.h ?? '0'),
    ...(committer ? { changes: { committer } } : {}),
    ...(hsmAttestations ? { hsmAttestations } : {}),
  });
  if (projector.checkpointTopic) logger.log(`signed checkpoints also go to Kafka topic ${projector.checkpointTopic}`);
  const { app, url } = await createHttpApp(projector.module, config.http, {
    // A body the HTTP server refuses (not JSON, too large) is audited like any refused compliance call.
    auditMalformedBody: (a) => {
      const gateway = a.get(ComplianceGateway);
      return (req, refusal) => gateway.refuseUnreadable(req as HttpRequest, refusal);
    },
  });
  // Released after the app (the module stops its projections first).
  const shutdown = app.close.bind(app);
  app.close = async () => {
    await shutdown();
    await integrity.settled();
    await eventStore.close();
    await auditLog.close();
    await hsms?.close();
    await projector.close();
    await pool.end();
  };
  closeOnSignals(app, logger);
  logger.log(`listening on ${url}`);
}

main().catch((e: unknown) => {
  if (e instanceof ConfigError) console.error(`audit-projector: invalid configuration: ${e.message}`);
  else logger.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
