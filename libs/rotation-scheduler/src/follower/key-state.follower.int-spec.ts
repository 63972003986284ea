import { randomUUID } from 'node:crypto';
import type { EventStore, NewEvent, StoredEvent } from '@kms/event-store';
import { eventStoreMigrations, PostgresEventStore } from '@kms/event-store-postgres';
import { createPgPool, dropSchema, runMigrations, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';
import type { Pool } from 'pg';
import type { ScheduledKey } from '../planner/scheduled-key.projection';
import { History } from '../testing/key-history.fixture';
import { FOLLOWER_SNAPSHOT_FORMAT, PostgresFollowerSnapshotStore } from './follower-snapshot.store';
import { KeyStateFollower, readAllKeys } from './key-state.follower';

/** The store, counting what each subscription asked for and delivered. */
function counted(store: EventStore): { store: EventStore; from: Array<bigint | undefined>; delivered: () => number } {
  const from: Array<bigint | undefined> = [];
  let delivered = 0;
  const wrapper: EventStore = {
    readStream: (id) => store.readStream(id),
    appendToStream: (id, events, options) => store.appendToStream(id, events, options),
    close: () => store.close(),
    subscribeToAll: (options, handler) => {
      from.push(options.fromPosition);
      return store.subscribeToAll(options, {
        ...handler,
        onEvent: (e: StoredEvent) => {
          delivered++;
          return handler.onEvent(e);
        },
      });
    },
  };
  return { store: wrapper, from, delivered: () => delivered };
}

describe('KeyStateFollower checkpoint in PostgreSQL', () => {
  const target = { url: testDatabaseUrl(), schema: uniqueTestSchema('schedsnap') };
  let pool: Pool;
  let store: PostgresEventStore;

  beforeAll(async () => {
    await runMigrations(target, eventStoreMigrations);
    pool = createPgPool(target, { max: 3 });
    store = new PostgresEventStore(pool, { pollIntervalMs: 100 });
  });
  afterAll(async () => {
    await store.close();
    await pool.end();
    await dropSchema(target);
  });

  /** Append a fixture history's events to the real store, stream by stream in global order. */
  async function append(events: StoredEvent[]): Promise<void> {
    for (const e of events) {
      const next: NewEvent = { id: randomUUID(), type: e.type, data: e.data, metadata: e.metadata };
      await store.appendToStream(e.streamId, [next], { expectedVersion: e.streamVersion === 0 ? 'no_stream' : e.streamVersion - 1 });
    }
  }

  /** Views by key id, as plain data (jsonb does not keep key order; deep equality ignores it). */
  const viewOf = (keys: Iterable<ScheduledKey>) =>
    [...keys].sort((x, y) => x.state.key.keyId.localeCompare(y.state.key.keyId)).map((k) => ({ state: k.state, retiredAt: k.retiredAt }));

  it('resumes after its checkpoint with the same view a full replay gives, reading only the newer events', async () => {
    const a = `a-${randomUUID()}`;
    const b = `b-${randomUUID()}`;
    const history = new History().created(a, 'SERVICE_ENVELOPE', 0).created(b, 'ROOT_TENANT', 1).rotated(a, 60);
    const first = history.stored();
    await append(first);
    const snapshots = new PostgresFollowerSnapshotStore(pool, `test-${randomUUID()}`);
    await snapshots.ensureSchema();

    const one = new KeyStateFollower(store, undefined, snapshots);
    await one.start();
    await one.stop();
    const saved = await snapshots.load();
    expect(saved?.position).toBe(one.status().position);
    expect(saved?.keys).toHaveLength(2);

    // More happens while the scheduler is down.
    history.rotated(b, 90).disabled(a, 1, 95);
    await append(history.stored().slice(first.length));

    const probe = counted(store);
    const two = new KeyStateFollower(probe.store, undefined, snapshots);
    await two.start();
    expect(probe.from).toEqual([saved?.position]);
    expect(probe.delivered()).toBe(history.stored().length - first.length);
    expect(two.status()).toMatchObject({ caughtUp: true, restoredFrom: saved?.position });
    expect(viewOf(two.all())).toEqual(viewOf(await readAllKeys(store)));
    await two.stop();
    expect((await snapshots.load())?.position).toBe(two.status().position);
  });

  it('ignores a checkpoint of another format and replays from the start', async () => {
    const name = `test-${randomUUID()}`;
    const snapshots = new PostgresFollowerSnapshotStore(pool, name);
    await snapshots.ensureSchema();
    await pool.query(`INSERT INTO rotation_scheduler_checkpoints (name, format, "position", keys) VALUES ($1, $2, 999999, '[]')`, [name, FOLLOWER_SNAPSHOT_FORMAT + 1]);
    expect(await snapshots.load()).toBeUndefined();

    const probe = counted(store);
    const follower = new KeyStateFollower(probe.store, undefined, snapshots);
    await follower.start();
    expect(probe.from).toEqual([undefined]);
    expect(follower.status().restoredFrom).toBeNull();
    expect(viewOf(follower.all())).toEqual(viewOf(await readAllKeys(store)));
    await follower.stop();
    expect(await snapshots.load()).toMatchObject({ position: follower.status().position });
  });

  it('never moves the stored position backwards', async () => {
    const snapshots = new PostgresFollowerSnapshotStore(pool, `test-${randomUUID()}`);
    await snapshots.ensureSchema();
    await snapshots.save({ position: 10n, keys: [] });
    await snapshots.save({ position: 7n, keys: [] });
    expect((await snapshots.load())?.position).toBe(10n);
  });
});
