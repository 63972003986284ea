import { EventSealer, EventStoreUnavailableError, type NewEvent, type StoredEvent } from '@kms/event-store';
import { eventStoreContract, storedStreamReaderContract, streamsByPrefixReaderContract } from '@kms/event-store/testing';
import { createPgPool, dropSchema, runMigrations, testDatabaseUrl, uniqueTestSchema, type PostgresTarget } from '@kms/persistence-postgres';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { eventStoreMigrations } from './events-table.migration';
import { PostgresEventStore } from './postgres-event-store';
import { LISTENER_APPLICATION_NAME } from './postgres-subscription';

const target: PostgresTarget = { url: testDatabaseUrl(), schema: uniqueTestSchema('event_store') };
let pool: Pool;

beforeAll(async () => {
  await runMigrations(target, eventStoreMigrations);
  pool = createPgPool(target);
});

afterAll(async () => {
  await pool.end();
  await dropSchema(target);
});

eventStoreContract('PostgresEventStore', async () => {
  const store = new PostgresEventStore(pool);
  return { store, cleanup: () => store.close() };
});

// Sealed, as the services run it: on a store the KMS wrote, the stored stream is the checked one.
storedStreamReaderContract('PostgresEventStore (sealed)', async () => {
  const store = new PostgresEventStore(pool, { sealer: new EventSealer(randomBytes(32)) });
  return { store, cleanup: () => store.close() };
});

// Sealed too: every stream a page returns is checked as readStream checks it.
streamsByPrefixReaderContract('PostgresEventStore (sealed)', async () => {
  const store = new PostgresEventStore(pool, { sealer: new EventSealer(randomBytes(32)) });
  return { store, cleanup: () => store.close() };
});

describe('PostgresEventStore against PostgreSQL', () => {
  it('raises EventStoreUnavailableError when the database cannot be reached', async () => {
    const unreachable = createPgPool({ url: 'postgres://postgres@127.0.0.1:1/kms_test', schema: target.schema });
    const store = new PostgresEventStore(unreachable);
    try {
      await expect(store.readStream('key-1')).rejects.toBeInstanceOf(EventStoreUnavailableError);
      await expect(store.appendToStream('key-1', [keyEvent()], { expectedVersion: 'any' })).rejects.toBeInstanceOf(EventStoreUnavailableError);
    } finally {
      await unreachable.end();
    }
  });

  it('keeps a stored event id from being stored twice', async () => {
    const store = new PostgresEventStore(pool);
    const event = keyEvent();
    await store.appendToStream(`key-${randomUUID()}`, [event], { expectedVersion: 'no_stream' });

    await expect(store.appendToStream(`key-${randomUUID()}`, [event], { expectedVersion: 'no_stream' })).rejects.toThrow(/event id is already stored/);
  });

  it('delivers live events through polling when notifications never arrive', async () => {
    const writer = new PostgresEventStore(pool);
    // Listens on a channel nobody notifies, so only the poll can deliver.
    const deaf = new PostgresEventStore(pool, { channel: 'kms_events_nobody_sends', pollIntervalMs: 200 });
    const streamId = `key-${randomUUID()}`;
    const { lastGlobalPosition } = await writer.appendToStream(streamId, [keyEvent()], { expectedVersion: 'no_stream' });
    const seen: StoredEvent[] = [];
    deaf.subscribeToAll({ fromPosition: lastGlobalPosition }, { onEvent: (e) => void seen.push(e) });

    const live = keyEvent();
    await writer.appendToStream(streamId, [live], { expectedVersion: 0 });

    await until(() => seen.some((e) => e.id === live.id), 'the polled event');
    await deaf.close();
  });

  it('reconnects its LISTEN connection after the server drops it and is woken by notifications again', async () => {
    // A poll interval far beyond the wait below: only a notification can deliver in time. A channel
    // of its own, so listeners of other test files on the same database are not counted.
    const store = new PostgresEventStore(pool, { channel: LISTEN_TEST_CHANNEL, pollIntervalMs: 600_000, maxReconnectDelayMs: 200 });
    const streamId = `key-${randomUUID()}`;
    const { lastGlobalPosition } = await store.appendToStream(streamId, [keyEvent()], { expectedVersion: 'no_stream' });
    const seen: StoredEvent[] = [];
    store.subscribeToAll({ fromPosition: lastGlobalPosition }, { onEvent: (e) => void seen.push(e) });
    await until(async () => (await listenerPids()).length === 1, 'the listener to connect');
    const [dropped] = await listenerPids();

    await pool.query('SELECT pg_terminate_backend($1)', [dropped]);
    await until(async () => {
      const pids = await listenerPids();
      return pids.length === 1 && pids[0] !== dropped;
    }, 'the listener to reconnect');
    const live = keyEvent();
    await store.appendToStream(streamId, [live], { expectedVersion: 0 });

    await until(() => seen.some((e) => e.id === live.id), 'the notified event');
    await store.close();
    expect(await listenerPids()).toEqual([]);
  });
});

const LISTEN_TEST_CHANNEL = `kms_events_listen_${process.pid}`;

async function listenerPids(): Promise<number[]> {
  const result = await pool.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database() AND query = $2`,
    [LISTENER_APPLICATION_NAME, `LISTEN ${LISTEN_TEST_CHANNEL}`],
  );
  return result.rows.map((r) => r.pid);
}

function keyEvent(): NewEvent {
  return { id: randomUUID(), type: 'KeyUsed', data: { keyId: randomUUID() }, metadata: { actor: 'int-test' } };
}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
