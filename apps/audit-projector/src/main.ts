// Entry point: `npx tsx apps/audit-projector/src/main.ts`. Configuration comes from the environment (libs/config),
// plus KMS_LEDGER_ORIGIN (ledger origin prefix, default "open-kms/audit-ledger"), and, to send a copy of every signed
// checkpoint to Kafka, KAFKA_BROKERS (+ KMS_CHECKPOINTS_TOPIC, default kms.ledger-checkpoints.v1; KMS_KAFKA_IDEMPOTENT; KAFKA_CLIENT_ID).
import type { AttestationSigner } from '@kms/application';
import { systemClock } from '@kms/application';
import { AuditProjectorModule, checkpointPublisherFromEnv, complianceIdentity, DEFAULT_LEDGER_ORIGIN, SoftwareAttestationSigner } from '@kms/audit-projector';
import { ConfigError, type KmsConfig, loadConfig } from '@kms/config';
import { eventStoreMigrations, PostgresEventStore } from '@kms/event-store-postgres';
import { loadMasterKey } from '@kms/key-backend-software';
import { auditMigrations, createPgPool, PostgresAuditFeed, PostgresAuditLog, runMigrations } from '@kms/persistence-postgres';
import { closeOnSignals, createHttpApp } from '@kms/platform';
import { Logger } from '@nestjs/common';

const logger = new Logger('audit-projector');

/** NOTIFY channels are per database, so schemas sharing a database get their own (as the key service does). */
function notifyChannel(schema: string): string {
  return schema === 'public' ? 'kms_events' : `kms_events_${schema}`.slice(0, 63);
}

function ledgerOrigin(env: NodeJS.ProcessEnv): string {
  const origin = env['KMS_LEDGER_ORIGIN'] ?? DEFAULT_LEDGER_ORIGIN;
  if (!/^[A-Za-z0-9._\-/]{1,200}$/.test(origin)) throw new ConfigError('KMS_LEDGER_ORIGIN', 'must be letters, digits, ".", "_", "-" and "/" only');
  return origin;
}

/**
 * The attestation signer: the HSM's key when an HSM is configured (production), else a software key
 * derived from the master key, so checkpoints stay verifiable across restarts. It says which it uses.
 */
async function attestationSigner(config: KmsConfig, seed: () => Buffer): Promise<{ signer: AttestationSigner; close: () => Promise<void> }> {
  if (config.hsm.enabled) {
    const { createPkcs11Hsm } = await import('@kms/key-backend-pkcs11');
    const hsm = createPkcs11Hsm(config.hsm);
    logger.log('attestation key: the HSM key kms-attestation-v1');
    return { signer: hsm.attestationSigner, close: () => hsm.close() };
  }
  logger.warn('attestation key: SOFTWARE key derived from the master key (no HSM configured); production uses the HSM attestation key');
  return { signer: SoftwareAttestationSigner.fromSeed(seed()), close: async () => undefined };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const origin = ledgerOrigin(process.env);
  const checkpointPublisher = checkpointPublisherFromEnv(process.env);
  if (checkpointPublisher) logger.log(`signed checkpoints also go to Kafka topic ${checkpointPublisher.topic}`);
  const masterKey = await loadMasterKey(config.masterKey);
  // The source tables may not exist yet if the projector starts before the key service.
  await runMigrations(config.postgres, config.eventStore.kind === 'postgres' ? [...eventStoreMigrations, ...auditMigrations] : auditMigrations);
  const pool = createPgPool(config.postgres, { max: 5, application_name: 'kms-audit-projector-source' });
  const eventStore = new PostgresEventStore(pool, { channel: notifyChannel(config.postgres.schema) });
  const auditLog = new PostgresAuditLog(pool, { maxBatch: config.auditMaxBatch });
  const { signer, close } = await attestationSigner(config, () => masterKey.derive('audit-attestation-v1'));
  const identity = complianceIdentity(
    eventStore,
    { tokenSigningKey: masterKey.derive('token-signing-v1'), credentialPepper: masterKey.derive('credential-verifier-v1') },
    systemClock,
  );
  const { app, url } = await createHttpApp(
    AuditProjectorModule.forRoot(config, {
      eventStore,
      auditFeed: new PostgresAuditFeed(pool),
      auditLog,
      signer,
      identity,
      eventsHead: async () => BigInt((await pool.query<{ h: string | null }>('SELECT max(global_position)::text AS h FROM events')).rows[0]?.h ?? '0'),
      checkpointPublisher,
      settings: { origin },
    }),
    config.http,
  );
  // Released after the app (the module stops its projections first).
  const shutdown = app.close.bind(app);
  app.close = async () => {
    await shutdown();
    await eventStore.close();
    await auditLog.close();
    await close();
    await checkpointPublisher?.close();
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
