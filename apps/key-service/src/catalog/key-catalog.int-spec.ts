import { randomBytes, randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { buildKeySnapshots, followKeySnapshots, KeyCatalog, type KeySnapshotBuild, type KeySnapshotStore, loadAggregate } from '@kms/application';
import { appendKeyCommand, eventually } from '@kms/application/testing';
import { keyDecider, keyEventCodec, keyStreamId } from '@kms/domain';
import { EventSealer, type EventStore } from '@kms/event-store';
import { eventStoreMigrations, notifyChannelFor, PostgresEventStore } from '@kms/event-store-postgres';
import { createPgPool, dropSchema, keySnapshotMigrations, PostgresKeySnapshots, runMigrations, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';

// The key catalog on the real PostgreSQL: the event store and the key read model in one schema, as
// the key service has them (a fresh schema per test: events are append-only); a second pool plays
// another replica.
let target = { url: testDatabaseUrl(), schema: '' };
let pools: Pool[] = [];
let stores: PostgresEventStore[] = [];
const started: Array<{ stop(): Promise<void> }> = [];

function replica(): { store: PostgresEventStore; snapshots: PostgresKeySnapshots; pool: Pool } {
  const pool = createPgPool(target, { max: 4 });
  const store = new PostgresEventStore(pool, { channel: notifyChannelFor(target.schema), pollIntervalMs: 200 });
  pools.push(pool);
  stores.push(store);
  return { store, snapshots: new PostgresKeySnapshots(pool), pool };
}

beforeEach(async () => {
  target = { url: testDatabaseUrl(), schema: uniqueTestSchema('key_catalog') };
  await runMigrations(target, [...eventStoreMigrations, ...keySnapshotMigrations]);
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
  await Promise.all(stores.map((s) => s.close()));
  await Promise.all(pools.map((p) => p.end()));
  pools = [];
  stores = [];
  await dropSchema(target);
});

/** Each command a second after the one before: keys list in the order they were created. */
let clock = Date.parse('2026-12-05T10:00:00.000Z');
const meta = (now = new Date((clock += 1000))) => ({ now, actor: 'alice@example.com', correlationId: randomUUID() });

/** Append what the key decider decides for the command on the key's stream. */
const run = appendKeyCommand;

async function createKey(store: EventStore, overrides: { tenant?: string; labels?: Record<string, string>; now?: Date } = {}): Promise<string> {
  const keyId = randomUUID();
  await run(store, keyId, {
    type: 'CreateKey',
    data: { keyId, tenant: overrides.tenant ?? 'acme', name: `k-${keyId}`, purpose: 'DATA_PROTECTION', algorithm: 'AES_256_GCM', protectionLevel: 'SOFTWARE', labels: overrides.labels ?? {}, owner: 'team-a', material: { version: 1, materialRef: `m-${keyId}-1` } },
    metadata: meta(overrides.now),
  });
  return keyId;
}

async function rotate(store: EventStore, keyId: string): Promise<void> {
  const { state } = await loadAggregate(store, keyDecider, keyEventCodec, keyStreamId(keyId));
  const next = state.status === 'NotCreated' ? 1 : state.key.versions.length + 1;
  await run(store, keyId, { type: 'RotateKey', data: { rotationReason: 'MANUAL', material: { version: next, materialRef: `m-${keyId}-${next}` } }, metadata: meta() });
}

/** Each key as its stream folds it, and the rows of the read model, by key id. */
async function streamsAndRows(store: EventStore, snapshots: KeySnapshotStore, keyIds: string[]) {
  const rows = await snapshots.getMany(keyIds);
  const fromStreams = await Promise.all(keyIds.map((id) => loadAggregate(store, keyDecider, keyEventCodec, keyStreamId(id))));
  return { rows: keyIds.map((id) => rows.get(id)), streams: fromStreams };
}

async function head(pool: Pool): Promise<bigint> {
  return BigInt((await pool.query<{ p: string }>('SELECT coalesce(max(global_position), 0) AS p FROM events')).rows[0]?.p ?? '0');
}

/** The store, recording the position each subscription starts after. */
function recording(store: EventStore): { store: EventStore; from: Array<bigint | undefined> } {
  const from: Array<bigint | undefined> = [];
  return {
    from,
    store: {
      readStream: (id) => store.readStream(id),
      appendToStream: (id, events, options) => store.appendToStream(id, events, options),
      close: async () => undefined,
      subscribeToAll: (options, handler) => {
        from.push(options.fromPosition);
        return store.subscribeToAll(options, handler);
      },
    },
  };
}

describe('KeyCatalog on PostgreSQL', () => {
  it('folds every key into the read model at the first start, and a later start follows from the checkpoint only', async () => {
    const a = replica();
    const keys = [await createKey(a.store), await createKey(a.store), await createKey(a.store)];
    await rotate(a.store, keys[0] as string);
    const first = new KeyCatalog(a.store, { snapshots: a.snapshots });
    await first.start();
    const checkpoint = await a.snapshots.checkpoint();
    expect(checkpoint).toBe(await head(a.pool));
    await first.stop();

    keys.push(await createKey(a.store));
    await rotate(a.store, keys[1] as string);
    const probe = recording(a.store);
    const second = new KeyCatalog(probe.store, { snapshots: a.snapshots });
    started.push(second);
    await second.start();

    expect(probe.from).toEqual([checkpoint]);
    expect(await a.snapshots.checkpoint()).toBe(await head(a.pool));
    const { rows, streams } = await streamsAndRows(a.store, a.snapshots, keys);
    expect(rows).toEqual(streams);
    expect((await second.all()).map((s) => [s.key.keyId, s.key.primaryVersion])).toEqual(keys.map((id, i) => [id, i < 2 ? 2 : 1]));
  });

  it('builds the read model key stream by key stream at a first start: the rows the store folds to, each written once, sealed streams checked', async () => {
    const pool = createPgPool(target, { max: 4 });
    pools.push(pool);
    const sealed = new PostgresEventStore(pool, { channel: notifyChannelFor(target.schema), pollIntervalMs: 200, sealer: new EventSealer(randomBytes(32)) });
    stores.push(sealed);
    const snapshots = new PostgresKeySnapshots(pool);
    const keys: string[] = [];
    for (let i = 0; i < 30; i++) keys.push(await createKey(sealed, { labels: { shard: String(i % 3) } }));
    for (const id of keys.slice(0, 20)) await rotate(sealed, id);
    for (const id of keys.slice(0, 5)) await rotate(sealed, id);
    const written = new Map<string, number>();
    const counting: KeySnapshotStore = {
      checkpoint: () => snapshots.checkpoint(),
      getMany: (ids) => snapshots.getMany(ids),
      list: (f, p) => snapshots.list(f, p),
      save: async (rows, position) => {
        for (const r of rows) written.set(r.state.key.keyId, (written.get(r.state.key.keyId) ?? 0) + 1);
        await snapshots.save(rows, position);
      },
    };
    const builds: KeySnapshotBuild[] = [];
    const follower = followKeySnapshots(sealed, counting, { buildPageEvents: 7, onBuilt: (b) => builds.push(b) });
    started.push(follower);
    await follower.caughtUp();

    const end = await head(pool);
    expect(await snapshots.checkpoint()).toBe(end);
    expect(builds.map((b) => [b.through, b.keys])).toEqual([[end, 30]]);
    expect([...written.values()].every((n) => n === 1)).toBe(true);
    expect(written.size).toBe(30);
    const { rows, streams } = await streamsAndRows(sealed, snapshots, keys);
    expect(rows).toEqual(streams);
    expect((await snapshots.list({ labels: { shard: '2' } })).map((r) => r.state.key.keyId)).toEqual(keys.filter((_, i) => i % 3 === 2));
  });

  it('given keys written while the read model is being built, then none is lost: the follower goes on from the head the build read', async () => {
    const a = replica();
    const b = replica();
    const keys = [await createKey(a.store), await createKey(a.store), await createKey(a.store)];
    let wrote = false;
    const buildThrough: Array<bigint | undefined> = [];
    // Another replica writes after the build read the head and before it ends: the first page's save waits for it.
    const writingMidBuild: KeySnapshotStore = {
      checkpoint: () => a.snapshots.checkpoint(),
      getMany: (ids) => a.snapshots.getMany(ids),
      list: (f, p) => a.snapshots.list(f, p),
      save: async (rows, position) => {
        if (!wrote) {
          wrote = true;
          await rotate(b.store, keys[2] as string);
          keys.push(await createKey(b.store));
        }
        if (position !== undefined && buildThrough.length === 0) buildThrough.push(position);
        await a.snapshots.save(rows, position);
      },
    };
    const follower = followKeySnapshots(a.store, writingMidBuild, { buildPageEvents: 1 });
    started.push(follower);
    await follower.caughtUp();

    await eventually(async () => {
      const { rows, streams } = await streamsAndRows(a.store, a.snapshots, keys);
      expect(rows).toEqual(streams);
      expect(await a.snapshots.checkpoint()).toBe(await head(a.pool));
    }, 10_000);
    expect(keys).toHaveLength(4);
    // The build's checkpoint was the head before those writes; the follower brought them in.
    expect(buildThrough[0]).toBeLessThan(await head(a.pool));
    expect((await a.snapshots.getMany([keys[2] as string])).get(keys[2] as string)?.state.key.primaryVersion).toBe(2);
  });

  it('given a first build cut short (the process killed), then the next start resumes it after the last page saved and ends it', async () => {
    const a = replica();
    const keys: string[] = [];
    for (let i = 0; i < 12; i++) keys.push(await createKey(a.store));
    for (const id of keys.slice(0, 6)) await rotate(a.store, id);
    const through = await head(a.pool);
    let pages = 0;
    const dying: KeySnapshotStore = {
      checkpoint: () => a.snapshots.checkpoint(),
      getMany: (ids) => a.snapshots.getMany(ids),
      list: (f, p) => a.snapshots.list(f, p),
      save: (rows, position) => a.snapshots.save(rows, position),
      buildProgress: () => a.snapshots.buildProgress(),
      saveBuild: async (rows, state) => {
        if (++pages === 3) throw new Error('killed');
        await a.snapshots.saveBuild(rows, state);
      },
    };
    await expect(buildKeySnapshots(a.store, dying, { pageEvents: 10 })).rejects.toThrow('killed');
    const progress = await a.snapshots.buildProgress();
    expect(progress?.through).toBe(through);
    expect(await a.snapshots.checkpoint()).toBeUndefined();
    // Meanwhile another replica writes: after the build's position, so for the follower.
    keys.push(await createKey(a.store));

    const builds: KeySnapshotBuild[] = [];
    const catalog = new KeyCatalog(a.store, { snapshots: a.snapshots, onBuilt: (b) => builds.push(b) });
    started.push(catalog);
    await catalog.start();

    expect(builds.map((b) => [b.through, b.resumedAfter])).toEqual([[through, progress?.afterStreamId]]);
    expect(await a.snapshots.buildProgress()).toBeUndefined();
    expect((await a.pool.query('SELECT count(*)::int AS n FROM key_snapshot_build')).rows[0]?.n).toBe(0);
    expect(await a.snapshots.checkpoint()).toBe(await head(a.pool));
    const { rows, streams } = await streamsAndRows(a.store, a.snapshots, keys);
    expect(rows).toEqual(streams);
  });

  it('given the events folded again from the start, then no row changes and the checkpoint stays (idempotent by stream version)', async () => {
    const a = replica();
    const keys = [await createKey(a.store), await createKey(a.store)];
    await rotate(a.store, keys[0] as string);
    const catalog = new KeyCatalog(a.store, { snapshots: a.snapshots });
    await catalog.start();
    await catalog.stop();
    const before = await a.pool.query('SELECT key_id, version, state FROM key_snapshots ORDER BY key_id');
    const checkpoint = await a.snapshots.checkpoint();

    // A follower that believes it never ran: every event again, onto rows that already hold them.
    const forgetful: KeySnapshotStore = { checkpoint: async () => undefined, getMany: (ids) => a.snapshots.getMany(ids), save: (r, p) => a.snapshots.save(r, p), list: (f) => a.snapshots.list(f) };
    const again = followKeySnapshots(a.store, forgetful);
    started.push(again);
    await again.caughtUp();

    expect((await a.pool.query('SELECT key_id, version, state FROM key_snapshots ORDER BY key_id')).rows).toEqual(before.rows);
    expect(await a.snapshots.checkpoint()).toBe(checkpoint);
  });

  it('given two replicas following one schema while keys are written, then every row ends as its stream folds and the checkpoint at the head', async () => {
    const a = replica();
    const b = replica();
    const one = new KeyCatalog(a.store, { snapshots: a.snapshots });
    const two = new KeyCatalog(b.store, { snapshots: b.snapshots });
    started.push(one, two);
    await Promise.all([one.start(), two.start()]);

    const keys: string[] = [];
    for (let i = 0; i < 20; i++) {
      const writer = i % 2 === 0 ? a.store : b.store;
      keys.push(await createKey(writer, { labels: { shard: String(i % 3) } }));
      if (i % 3 === 0) await rotate(writer, keys[i >> 1] as string);
    }

    const end = await head(a.pool);
    await eventually(async () => {
      expect(one.status()?.position).toBe(end);
      expect(two.status()?.position).toBe(end);
    }, 10_000);
    expect(await a.snapshots.checkpoint()).toBe(end);
    const { rows, streams } = await streamsAndRows(a.store, a.snapshots, keys);
    expect(rows).toEqual(streams);
    expect((await one.list({ labels: { shard: '1' } })).map((s) => s.key.keyId)).toEqual(keys.filter((_, i) => i % 3 === 1));
  });

  it('holds the recently used keys only: an evicted key is read again from its stream and equals it', async () => {
    const a = replica();
    const keys = [await createKey(a.store), await createKey(a.store), await createKey(a.store)];
    await rotate(a.store, keys[2] as string);
    const catalog = new KeyCatalog(a.store, { snapshots: a.snapshots, cacheSize: 2 });
    started.push(catalog);
    await catalog.start();
    const reads = jest.spyOn(a.store, 'readStream');

    for (const id of keys) await catalog.get(id);
    expect(reads).toHaveBeenCalledTimes(3);
    await catalog.get(keys[2] as string);
    expect(reads).toHaveBeenCalledTimes(3);

    const evicted = await catalog.get(keys[0] as string);
    expect(reads).toHaveBeenCalledTimes(4);
    expect(evicted).toEqual((await loadAggregate(a.store, keyDecider, keyEventCodec, keyStreamId(keys[0] as string))).state);
  });

  it('given a read-model row older than the stream, then get answers the stream, and the listing shows it once the key is held', async () => {
    const a = replica();
    const keyId = await createKey(a.store);
    const catalog = new KeyCatalog(a.store, { snapshots: a.snapshots });
    started.push(catalog);
    await catalog.start();
    await catalog.stop();
    // Rotated while no follower ran: the row is at the creation, the stream at the rotation.
    await rotate(a.store, keyId);
    const stale = new KeyCatalog(a.store, { snapshots: a.snapshots });
    expect((await stale.list({}))[0]?.key.primaryVersion).toBe(1);

    expect((await stale.get(keyId)).key.primaryVersion).toBe(2);
    expect((await stale.list({}))[0]?.key.primaryVersion).toBe(2);
  });

  it("shows another replica's write to a key it holds within the subscription's delay, without reading the stream", async () => {
    const a = replica();
    const b = replica();
    const keyId = await createKey(a.store);
    const catalog = new KeyCatalog(a.store, { snapshots: a.snapshots });
    started.push(catalog);
    await catalog.start();
    expect((await catalog.get(keyId)).key.primaryVersion).toBe(1);
    const reads = jest.spyOn(a.store, 'readStream');

    await rotate(b.store, keyId);
    const otherKey = await createKey(b.store);

    await eventually(async () => expect((await catalog.get(keyId)).key.primaryVersion).toBe(2), 1_000);
    expect(reads).not.toHaveBeenCalled();
    await eventually(async () => expect((await catalog.all()).map((s) => s.key.keyId)).toEqual([keyId, otherKey]), 1_000);
  });
});
