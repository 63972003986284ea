import { EventStoreDBClient } from '@eventstore/db-client';
import type { Pool } from 'pg';
import { type Clock, systemClock } from '@kms/application';
import type { KmsConfig } from '@kms/config';
import type { EventStore } from '@kms/event-store';
import { EsdbEventStore } from '@kms/event-store-esdb';
import { eventStoreMigrations, PostgresEventStore } from '@kms/event-store-postgres';
import { ensureMasterKeyFile, loadMasterKey, SoftwareKeyBackend } from '@kms/key-backend-software';
import {
  auditMigrations,
  createPgPool,
  keyMaterialMigrations,
  PostgresAuditLog,
  PostgresKeyMaterialStore,
  runMigrations,
} from '@kms/persistence-postgres';
import { createGrpcHealth } from './grpc-server.options';
import type { KeyServiceDependencies } from './key-service.module';
import { postgresCheck } from '@kms/platform';

/** Every migration the key service's PostgreSQL tables need. */
export const keyServiceMigrations = [...eventStoreMigrations, ...keyMaterialMigrations, ...auditMigrations];

/** The key service's adapters, built from the configuration, and how to release them. */
export interface KeyServiceRuntime {
  deps: KeyServiceDependencies;
  pool: Pool;
  audit: PostgresAuditLog;
  /** Things worth telling the operator once (e.g. a master key was created). */
  notices: string[];
  close(): Promise<void>;
}

/** NOTIFY channels are per database, so schemas sharing a database get their own. */
function notifyChannel(schema: string): string {
  return schema === 'public' ? 'kms_events' : `kms_events_${schema}`.slice(0, 63);
}

/**
 * Composition root of the key service: migrations, pools, event store, key material, master key,
 * backends and audit log, all from the validated configuration.
 */
export async function buildKeyServiceRuntime(config: KmsConfig, options: { clock?: Clock } = {}): Promise<KeyServiceRuntime> {
  const notices: string[] = [];
  if (config.standalone && config.masterKey.kind === 'file') {
    if (await ensureMasterKeyFile(config.masterKey.path)) {
      notices.push(`created a new master key at ${config.masterKey.path} (mode 0600); back it up: without it no key can be unwrapped`);
    }
  }
  const masterKey = await loadMasterKey(config.masterKey);

  await runMigrations(config.postgres, config.eventStore.kind === 'postgres' ? keyServiceMigrations : [...keyMaterialMigrations, ...auditMigrations]);
  const pool = createPgPool(config.postgres, { max: 20 });

  let store: EventStore;
  let esdb: EventStoreDBClient | undefined;
  if (config.eventStore.kind === 'eventstoredb') {
    esdb = EventStoreDBClient.connectionString(config.eventStore.connectionString.reveal());
    store = new EsdbEventStore(esdb);
  } else {
    store = new PostgresEventStore(pool, { channel: notifyChannel(config.postgres.schema) });
  }

  const clock = options.clock ?? systemClock;
  const audit = new PostgresAuditLog(pool, { maxBatch: config.auditMaxBatch });
  const software = new SoftwareKeyBackend({ store: new PostgresKeyMaterialStore(pool), masterKey, now: () => clock.now() });

  return {
    deps: {
      store,
      backends: { SOFTWARE: software },
      audit,
      clock,
      health: createGrpcHealth(),
      destructionSweepSeconds: config.destructionSweepSeconds,
      readiness: [postgresCheck(pool, { name: 'key-service.postgres' })],
    },
    pool,
    audit,
    notices,
    async close() {
      await store.close();
      await audit.close();
      await esdb?.dispose();
      await pool.end();
    },
  };
}
