import { randomUUID } from 'node:crypto';
import { keyStreamId } from '@kms/domain';
import { type EventStore, InMemoryEventStore } from '@kms/event-store';
import { eventually } from '../testing/application-fixture';
import { appendKeyCommand } from '../testing/key-commands';
import { InMemoryKeySnapshots } from './in-memory-key-snapshots';
import { KeyCatalog } from './key-catalog';
import { buildKeySnapshots, followKeySnapshots, type KeySnapshotBuild } from './key-snapshot.follower';
import type { KeySnapshot, KeySnapshotStore } from './key-snapshots.port';

let clock = Date.parse('2026-12-05T10:00:00.000Z');
const meta = () => ({ now: new Date((clock += 1000)), actor: 'alice@example.com', correlationId: randomUUID() });

const run = appendKeyCommand;

async function createKey(store: EventStore): Promise<string> {
  const keyId = randomUUID();
  await run(store, keyId, {
    type: 'CreateKey',
    data: { keyId, tenant: 'acme', name: `k-${keyId}`, purpose: 'DATA_PROTECTION', algorithm: 'AES_256_GCM', protectionLevel: 'SOFTWARE', labels: {}, owner: 'team-a', material: { version: 1, materialRef: `m-${keyId}-1` } },
    metadata: meta(),
  });
  return keyId;
}

async function rotate(store: EventStore, keyId: string, version: number): Promise<void> {
  await run(store, keyId, { type: 'RotateKey', data: { rotationReason: 'MANUAL', material: { version, materialRef: `m-${keyId}-${version}` } }, metadata: meta() });
}

/** Keys created first, then rotated round by round, as history spreads a key's events out; plus streams that are not keys. */
async function history(store: EventStore, keys: number, rotations: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < keys; i++) ids.push(await createKey(store));
  for (let r = 2; r <= rotations + 1; r++) for (const id of ids) await rotate(store, id, r);
  await store.appendToStream(`identity-${randomUUID()}`, [{ id: randomUUID(), type: 'IdentityRegistered', data: {}, metadata: {} }], { expectedVersion: 'no_stream' });
  return ids;
}

/** The read model's saves, row by row. */
function counted(inner: KeySnapshotStore): { snapshots: KeySnapshotStore; rowsSaved: Map<string, number>; positions: Array<bigint | undefined> } {
  const rowsSaved = new Map<string, number>();
  const positions: Array<bigint | undefined> = [];
  return {
    rowsSaved,
    positions,
    snapshots: {
      checkpoint: () => inner.checkpoint(),
      getMany: (ids) => inner.getMany(ids),
      list: (filter, page) => inner.list(filter, page),
      save: async (rows: readonly KeySnapshot[], position?: bigint) => {
        for (const r of rows) rowsSaved.set(r.state.key.keyId, (rowsSaved.get(r.state.key.keyId) ?? 0) + 1);
        positions.push(position);
        await inner.save(rows, position);
      },
    },
  };
}

/** The same store without StreamsByPrefixReader: what an EventStoreDB store offers. */
function withoutStreamReads(store: InMemoryEventStore): EventStore {
  return {
    readStream: (id) => store.readStream(id),
    appendToStream: (id, events, options) => store.appendToStream(id, events, options),
    subscribeToAll: (options, handler) => store.subscribeToAll(options, handler),
    close: async () => undefined,
  };
}

describe('the key read model built from the key streams at a first start', () => {
  let store: InMemoryEventStore;
  const followers: Array<{ stop(): Promise<void> }> = [];

  beforeEach(() => {
    store = new InMemoryEventStore();
  });

  afterEach(async () => {
    await Promise.all(followers.splice(0).map((f) => f.stop()));
    await store.close();
  });

  it('writes each key once, the rows following the store from its start gives, and saves the head as the checkpoint last', async () => {
    const keyIds = await history(store, 12, 3);
    const head = await store.headPosition();
    const built = counted(new InMemoryKeySnapshots());
    const builds: KeySnapshotBuild[] = [];
    const follower = followKeySnapshots(store, built.snapshots, { buildPageEvents: 5, onBuilt: (b) => builds.push(b) });
    followers.push(follower);
    await follower.caughtUp();

    // The same history folded by the follower from the store's start, batch by batch.
    const followed = counted(new InMemoryKeySnapshots());
    const old = followKeySnapshots(withoutStreamReads(store), followed.snapshots);
    followers.push(old);
    await old.caughtUp();

    expect(await built.snapshots.getMany(keyIds)).toEqual(await followed.snapshots.getMany(keyIds));
    for (const id of keyIds) expect((await built.snapshots.getMany([id])).get(id)?.version).toBe((await store.readStream(keyStreamId(id))).currentVersion);
    expect([...built.rowsSaved.values()]).toEqual(keyIds.map(() => 1));
    // Pages of about 5 events save rows only; the head is saved last, alone.
    expect(built.positions.at(-1)).toBe(head);
    expect(built.positions.slice(0, -1).every((p) => p === undefined)).toBe(true);
    expect(built.positions.length).toBeGreaterThan(2);
    const keyEvents = (await Promise.all(keyIds.map((id) => store.readStream(keyStreamId(id))))).reduce((n, s) => n + s.events.length, 0);
    expect(builds).toEqual([{ through: head, keys: 12, events: keyEvents, ms: expect.any(Number) }]);
    expect(follower.status().position).toBe(head);
  });

  it('follows the store from the head it built through: later writes reach the rows', async () => {
    const [keyId] = await history(store, 2, 1);
    const snapshots = new InMemoryKeySnapshots();
    const follower = followKeySnapshots(store, snapshots);
    followers.push(follower);
    await follower.caughtUp();

    await rotate(store, keyId as string, 3);
    const added = await createKey(store);

    await eventually(async () => {
      const rows = await snapshots.getMany([keyId as string, added]);
      expect(rows.get(keyId as string)?.state.key.primaryVersion).toBe(3);
      expect(rows.get(added)?.version).toBeGreaterThanOrEqual(0);
    });
    expect(await snapshots.checkpoint()).toBe(await store.headPosition());
  });

  it('passes over events of other types in a key stream, as the follower does', async () => {
    const [keyId] = await history(store, 1, 1);
    const { currentVersion } = await store.readStream(keyStreamId(keyId as string));
    await store.appendToStream(keyStreamId(keyId as string), [{ id: randomUUID(), type: 'SomethingElse', data: {}, metadata: {} }], { expectedVersion: 'any' });
    const snapshots = new InMemoryKeySnapshots();
    await buildKeySnapshots(store, snapshots);
    const row = (await snapshots.getMany([keyId as string])).get(keyId as string);
    expect(row?.state.key.primaryVersion).toBe(2);
    expect(row?.version).toBe(currentVersion);
  });

  it('keeps a key the catalog holds current with the events it builds from, in stream order', async () => {
    const [keyId] = await history(store, 3, 1);
    const catalog = new KeyCatalog(store);
    // Held before the catalog starts, then written behind its back: only the build can tell it.
    expect((await catalog.get(keyId as string)).key.primaryVersion).toBe(2);
    await rotate(store, keyId as string, 3);
    const reads = jest.spyOn(store, 'readStream');
    followers.push(catalog);
    await catalog.start();

    expect((await catalog.get(keyId as string)).key.primaryVersion).toBe(3);
    expect(reads).not.toHaveBeenCalled();
  });

  it('given a read model that keeps no build progress, then a build that failed half-way starts over, with no checkpoint saved before it completes', async () => {
    const keyIds = await history(store, 6, 2);
    const inner = new InMemoryKeySnapshots();
    let failed = false;
    const checkpointsSeenDuringBuild: Array<bigint | undefined> = [];
    const flaky: KeySnapshotStore = {
      checkpoint: () => inner.checkpoint(),
      getMany: (ids) => inner.getMany(ids),
      list: (filter, page) => inner.list(filter, page),
      save: async (rows, position) => {
        if (position === undefined) checkpointsSeenDuringBuild.push(await inner.checkpoint());
        // The second page fails, once: the first page's rows are saved, the checkpoint is not.
        if (!failed && checkpointsSeenDuringBuild.length === 2) {
          failed = true;
          throw new Error('the read model is unreachable');
        }
        await inner.save(rows, position);
      },
    };
    const errors: string[] = [];
    const follower = followKeySnapshots(store, flaky, { buildPageEvents: 4, onError: (e) => errors.push(e.message) });
    followers.push(follower);
    await follower.caughtUp();

    expect(failed).toBe(true);
    expect(errors).toEqual(['the read model is unreachable']);
    expect(checkpointsSeenDuringBuild.every((c) => c === undefined)).toBe(true);
    expect(await inner.checkpoint()).toBe(await store.headPosition());
    const rows = await inner.getMany(keyIds);
    const versions = await Promise.all(keyIds.map(async (id) => (await store.readStream(keyStreamId(id))).currentVersion));
    expect(keyIds.map((id) => rows.get(id)?.version)).toEqual(versions);
  });

  it('resumes a build cut short after the last page it saved, through the same position, instead of starting over', async () => {
    const keyIds = await history(store, 8, 1);
    const head = await store.headPosition();
    const inner = new InMemoryKeySnapshots();
    let pagesSaved = 0;
    let failed = false;
    const interrupted: KeySnapshotStore = {
      checkpoint: () => inner.checkpoint(),
      getMany: (ids) => inner.getMany(ids),
      list: (filter, page) => inner.list(filter, page),
      save: (rows, position) => inner.save(rows, position),
      buildProgress: () => inner.buildProgress(),
      saveBuild: async (rows, state) => {
        // The third page is cut short, once (a crash, a restart by the orchestrator).
        if ('progress' in state && ++pagesSaved === 3 && !failed) {
          failed = true;
          throw new Error('killed');
        }
        await inner.saveBuild(rows, state);
      },
    };
    const reads: Array<{ after: string | undefined; streams: string[] }> = [];
    const read = store.readStreamsByPrefix.bind(store);
    jest.spyOn(store, 'readStreamsByPrefix').mockImplementation(async (prefix, options) => {
      const page = await read(prefix, options);
      reads.push({ after: options.afterStreamId, streams: page.streams.map((st) => st[0]?.streamId as string) });
      return page;
    });
    // Appended after the first attempt read the head: the resumed build keeps the first attempt's position.
    const builds: KeySnapshotBuild[] = [];
    const follower = followKeySnapshots(store, interrupted, { buildPageEvents: 1, onBuilt: (b) => builds.push(b), onError: () => void createKey(store) });
    followers.push(follower);
    await follower.caughtUp();

    expect(failed).toBe(true);
    // Pages of one key stream each: two saved, the third cut short, then the build goes on after the second.
    const saved = reads.slice(0, 2).flatMap((r) => r.streams);
    expect(reads[3]?.after).toBe(saved[1]);
    const streamsRead = reads.flatMap((r) => r.streams);
    expect(streamsRead).toHaveLength(keyIds.length + 1);
    expect(new Set(streamsRead).size).toBe(keyIds.length);
    expect(builds).toEqual([expect.objectContaining({ through: head, resumedAfter: saved[1], keys: keyIds.length - 2 })]);
    expect(await inner.buildProgress()).toBeUndefined();
    await eventually(async () => expect(await inner.checkpoint()).toBe(await store.headPosition()));
    const rows = await inner.getMany(keyIds);
    const versions = await Promise.all(keyIds.map(async (id) => (await store.readStream(keyStreamId(id))).currentVersion));
    expect(keyIds.map((id) => rows.get(id)?.version)).toEqual(versions);
  });

  it('follows the store from its start when the store cannot read streams by prefix', async () => {
    const keyIds = await history(store, 3, 1);
    const reads: string[] = [];
    const plain = withoutStreamReads(store);
    const subscribe = plain.subscribeToAll.bind(plain);
    plain.subscribeToAll = (options, handler) => {
      reads.push(String(options.fromPosition));
      return subscribe(options, handler);
    };
    const snapshots = new InMemoryKeySnapshots();
    const follower = followKeySnapshots(plain, snapshots);
    followers.push(follower);
    await follower.caughtUp();

    expect(reads).toEqual(['undefined']);
    expect((await snapshots.getMany(keyIds)).size).toBe(3);
  });
});
