import type { Clock, IntegrityAlarm } from '@kms/application';
import type { KmsConfig } from '@kms/config';
import type { EventStore } from '@kms/event-store';
import { prepareSchema } from '@kms/persistence-postgres';
import { connectKeyService, followerSnapshotMigrations, keyServiceStatusReaders, PostgresFollowerSnapshotStore, RotationSchedulerModule, type RotationSchedulerSettings, type WorkloadCredential } from '@kms/rotation-scheduler';
import type { DynamicModule } from '@nestjs/common';
import type { Pool } from 'pg';

/** What the scheduler runs on: the key service's event store and database, and its own workload credential. */
export interface RotationSchedulerRuntime {
  eventStore: EventStore;
  /** The database of the events table: the follower's checkpoint lives next to the events it follows. */
  pool: Pool;
  clock: Clock;
  /** The key service's gRPC address and the scheduler's credential there (it acts only through the API). */
  keyServiceAddress: string;
  credential: WorkloadCredential;
  /** The process's integrity alarm, when this module is the one to show it (the scheduler app). */
  integrity?: IntegrityAlarm;
}

/** The scheduler module and what to release after the app closes. */
export interface ComposedRotationScheduler {
  module: DynamicModule;
  close(): void;
}

/**
 * The rotation scheduler: follows the event store, keeps one job per deadline (rotation, end of
 * retention, due destruction) and acts through the key service's gRPC API as its own workload. The
 * scheduler app and standalone mode both use it.
 */
export async function composeRotationScheduler(
  config: KmsConfig,
  runtime: RotationSchedulerRuntime,
  settings: Omit<RotationSchedulerSettings, 'credential' | 'keyServiceAddress'> = config.rotationScheduler,
): Promise<ComposedRotationScheduler> {
  // The checkpoint table is the migrate step's (as the owner); the service role only checks it is there.
  await prepareSchema(config.postgres, followerSnapshotMigrations);
  const snapshots = new PostgresFollowerSnapshotStore(runtime.pool, settings.queueName);
  const gateway = connectKeyService(runtime.keyServiceAddress, runtime.credential, runtime.clock);
  // The status names keys: its readers are checked by the key service itself, with their own token.
  const readers = keyServiceStatusReaders(runtime.keyServiceAddress);
  const module = RotationSchedulerModule.forRoot(config, {
    eventStore: runtime.eventStore,
    // Without the PostgreSQL store there is no checkpoint next to the events: each start replays.
    ...(config.eventStore.kind === 'postgres' ? { snapshots } : {}),
    keyService: gateway.keyService,
    drillAlerts: gateway.drillAlerts,
    clock: runtime.clock,
    eventsHead: async () => BigInt((await runtime.pool.query<{ h: string | null }>('SELECT max(global_position)::text AS h FROM events')).rows[0]?.h ?? '0'),
    settings,
    authorizeRead: readers.authorizeRead,
    ...(runtime.integrity ? { integrity: runtime.integrity } : {}),
  });
  return {
    module,
    close: () => {
      readers.close();
      return gateway.close();
    },
  };
}
