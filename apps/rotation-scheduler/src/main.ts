// Entry point: `npx tsx apps/rotation-scheduler/src/main.ts`. Configuration comes from the environment (libs/config)
// plus the scheduler's own variables (KMS_SCHEDULER_*, see docs/rotation-scheduler.md): its workload credential
// is required.
import { IntegrityAlarm, systemClock } from '@kms/application';
import { historySealKeysOnce } from '@kms/key-backend-pkcs11';
import { loadMasterKey } from '@kms/key-backend-software';
import { EventSealer } from '@kms/event-store';
import { ConfigError, loadConfig } from '@kms/config';
import { eventStoreMigrations, notifyChannelFor, PostgresEventStore } from '@kms/event-store-postgres';
import { createPgPool, prepareSchema } from '@kms/persistence-postgres';
import { closeOnSignals, createHttpApp, startObservability } from '@kms/platform';
import { readWorkloadCredential } from '@kms/rotation-scheduler';
import { Logger } from '@nestjs/common';
import { composeRotationScheduler } from './rotation-scheduler.compose';

const logger = new Logger('rotation-scheduler');


async function main(): Promise<void> {
  const config = loadConfig(process.env);
  // Events are checked against their seals (and sealed when this process writes): the HSM's seal keys
  // when an HSM is configured, else the master key's.
  const sealer = new EventSealer((await historySealKeysOnce(config.hsm, await loadMasterKey(config.masterKey), { createRoot: false })).events);
  // A row its follower refuses is logged, on /readyz and in /metrics (the key service and the audit
  // projector, which follow the same store, record it in the audit trail and send the notice).
  const integrity = new IntegrityAlarm({ detectedBy: 'rotation-scheduler', logger: new Logger('integrity') });
  integrity.watch(sealer);
  // JSON logs (request id and caller on every line of a call) and, when enabled, traces.
  startObservability(config.observability, 'kms-rotation-scheduler');
  const settings = config.rotationScheduler;
  const credential = readWorkloadCredential(settings.credential);
  if (config.eventStore.kind !== 'postgres') throw new ConfigError('KMS_EVENT_STORE', 'the rotation scheduler reads the PostgreSQL event store only');
  // With one role the events table may not exist yet (the scheduler may start first); with the service
  // role the migrate step created it, or the start is refused naming what is missing.
  await prepareSchema(config.postgres, eventStoreMigrations);
  const pool = createPgPool(config.postgres, { max: 3, application_name: 'kms-rotation-scheduler-source' });
  const eventStore = new PostgresEventStore(pool, { channel: notifyChannelFor(config.postgres.schema), sealer });
  const scheduler = await composeRotationScheduler(config, {
    eventStore,
    pool,
    clock: systemClock,
    keyServiceAddress: settings.keyServiceAddress,
    credential,
    integrity,
  });
  const { app, url } = await createHttpApp(scheduler.module, config.http);
  // Released after the app (the module stops the scheduler first).
  const shutdown = app.close.bind(app);
  app.close = async () => {
    await shutdown();
    scheduler.close();
    await eventStore.close();
    await pool.end();
  };
  closeOnSignals(app, logger);
  logger.log(`listening on ${url}`);
}

main().catch((e: unknown) => {
  if (e instanceof ConfigError) console.error(`rotation-scheduler: invalid configuration: ${e.message}`);
  else logger.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
