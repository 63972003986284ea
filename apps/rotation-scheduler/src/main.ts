// Entry point: `npx tsx apps/rotation-scheduler/src/main.ts`. Configuration comes from the environment (libs/config)
// plus the scheduler's own variables (KMS_SCHEDULER_*, see docs/rotation-scheduler.md): its workload credential
// is required.
import { systemClock } from '@kms/application';
import { ConfigError, loadConfig } from '@kms/config';
import { eventStoreMigrations, PostgresEventStore } from '@kms/event-store-postgres';
import { createPgPool, runMigrations } from '@kms/persistence-postgres';
import { closeOnSignals, createHttpApp } from '@kms/platform';
import {
  connectKeyService,
  loadRotationSchedulerSettings,
  PostgresFollowerSnapshotStore,
  readWorkloadCredential,
  RotationSchedulerModule,
} from '@kms/rotation-scheduler';
import { Logger } from '@nestjs/common';

const logger = new Logger('rotation-scheduler');

/** NOTIFY channels are per database, so schemas sharing a database get their own (as the key service does). */
function notifyChannel(schema: string): string {
  return schema === 'public' ? 'kms_events' : `kms_events_${schema}`.slice(0, 63);
}

async function main(): Promise<void> {
  const config = loadConfig();
  const settings = loadRotationSchedulerSettings(config);
  const credential = readWorkloadCredential(settings.credential);
  if (config.eventStore.kind !== 'postgres') throw new ConfigError('KMS_EVENT_STORE', 'the rotation scheduler reads the PostgreSQL event store only');
  // The events table may not exist yet if the scheduler starts before the key service.
  await runMigrations(config.postgres, eventStoreMigrations);
  const pool = createPgPool(config.postgres, { max: 3, application_name: 'kms-rotation-scheduler-source' });
  const eventStore = new PostgresEventStore(pool, { channel: notifyChannel(config.postgres.schema) });
  // The follower's checkpoint lives next to the events it follows.
  const snapshots = new PostgresFollowerSnapshotStore(pool, settings.queueName);
  await snapshots.ensureSchema();
  const gateway = connectKeyService(settings.keyServiceAddress, credential, systemClock);
  const { app, url } = await createHttpApp(
    RotationSchedulerModule.forRoot(config, {
      eventStore,
      keyService: gateway.keyService,
      settings,
      snapshots,
      eventsHead: async () => BigInt((await pool.query<{ h: string | null }>('SELECT max(global_position)::text AS h FROM events')).rows[0]?.h ?? '0'),
    }),
    config.http,
  );
  // Released after the app (the module stops the scheduler first).
  const shutdown = app.close.bind(app);
  app.close = async () => {
    await shutdown();
    gateway.close();
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
