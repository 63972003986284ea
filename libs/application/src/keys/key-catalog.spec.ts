import { UNRESTRICTED_ACCESS } from '../access/authorizer';
import { DAY_MS, keyDecider, keyEventCodec, keyStreamId } from '@kms/domain';
import type { EventStore, StoredEvent, SubscriptionHandler } from '@kms/event-store';
import { type ApplicationFixture, applicationFixture, eventually, keyInput, kmsErrorOf, TEST_CHANGE } from '../testing/application-fixture';
import { loadAggregate } from '../changes/handle-command';
import { InMemoryKeySnapshots } from './in-memory-key-snapshots';
import { KeyCatalog } from './key-catalog';

describe('KeyCatalog', () => {
  let app: ApplicationFixture;

  beforeEach(() => {
    app = applicationFixture();
  });

  afterEach(() => app.store.close());

  async function storedEvents(keyId: string): Promise<StoredEvent[]> {
    return (await app.store.readStream(keyStreamId(keyId))).events;
  }

  describe('writes of this process', () => {
    it('are listed at once, without a subscription', async () => {
      const key = await app.lifecycle.createKey(keyInput(), TEST_CHANGE);
      expect((await app.catalog.list({})).map((s) => s.key.keyId)).toEqual([key.keyId]);
    });

    it('serve reads from memory: get after create and rotate does not read the store', async () => {
      const key = await app.lifecycle.createKey(keyInput(), TEST_CHANGE);
      await app.lifecycle.rotateKey(key.keyId, 'MANUAL', TEST_CHANGE);
      const reads = jest.spyOn(app.store, 'readStream');

      const state = await app.catalog.get(key.keyId);

      expect(state.key.primaryVersion).toBe(2);
      expect(reads).not.toHaveBeenCalled();
    });

    it('a key unknown to the catalog is loaded from the store; one that does not exist is KEY_NOT_FOUND on key_id', async () => {
      const key = await app.lifecycle.createKey(keyInput(), TEST_CHANGE);
      const cold = new KeyCatalog(app.store);
      expect((await cold.get(key.keyId)).key.name).toBe(key.name);
      expect((await cold.list({})).map((s) => s.key.keyId)).toEqual([key.keyId]);

      const err = await kmsErrorOf(cold.get('00000000-0000-4000-8000-000000000000'));
      expect([err.code, err.field]).toEqual(['KEY_NOT_FOUND', 'key_id']);
    });
  });

  describe('another instance on the same store', () => {
    it('sees keys written before it started once start() resolves, and later writes through the subscription', async () => {
      const before = await app.lifecycle.createKey(keyInput({ name: 'before' }), TEST_CHANGE);
      const other = applicationFixture({ store: app.store, backend: app.backend, clock: app.clock });

      await other.catalog.start(app.store);
      expect((await other.catalog.list({})).map((s) => s.key.name)).toEqual(['before']);

      app.clock.advance(1_000);
      const after = await app.lifecycle.createKey(keyInput({ name: 'after' }), TEST_CHANGE);
      await app.lifecycle.rotateKey(before.keyId, 'MANUAL', TEST_CHANGE);
      await eventually(async () => {
        expect((await other.catalog.list({})).map((s) => [s.key.name, s.key.primaryVersion])).toEqual([
          ['before', 2],
          ['after', 1],
        ]);
      });

      // The other instance encrypts under the new primary, and this one decrypts it.
      const sealed = await other.crypto.encrypt(UNRESTRICTED_ACCESS, before.keyId, Buffer.from('cross-instance'), Buffer.alloc(0));
      expect(sealed.keyVersion).toBe(2);
      expect((await app.crypto.decrypt(UNRESTRICTED_ACCESS, sealed.ciphertext, Buffer.alloc(0))).plaintext.toString()).toBe('cross-instance');
      expect((await other.catalog.all()).map((s) => s.key.keyId).sort()).toEqual([before.keyId, after.keyId].sort());
      await other.catalog.stop();
    });

    it('sees a version disabled by another instance, so it stops encrypting with it', async () => {
      const key = await app.lifecycle.createKey(keyInput(), TEST_CHANGE);
      const other = applicationFixture({ store: app.store, backend: app.backend, clock: app.clock });
      await other.catalog.start(app.store);
      await other.crypto.encrypt(UNRESTRICTED_ACCESS, key.keyId, Buffer.from('ok'), Buffer.alloc(0));

      await app.lifecycle.disableKeyVersion(key.keyId, 1, TEST_CHANGE);

      await eventually(async () => {
        expect((await kmsErrorOf(other.crypto.encrypt(UNRESTRICTED_ACCESS, key.keyId, Buffer.from('no'), Buffer.alloc(0)))).code).toBe('KEY_DISABLED');
      });
      await other.catalog.stop();
    });
  });

  describe('apply', () => {
    it('updates a key it holds and ignores an event it has already applied, without reading the store', async () => {
      const key = await app.lifecycle.createKey(keyInput(), TEST_CHANGE);
      await app.lifecycle.rotateKey(key.keyId, 'MANUAL', TEST_CHANGE);
      const events = await storedEvents(key.keyId);
      const catalog = new KeyCatalog(app.store);
      await catalog.get(key.keyId);
      const reads = jest.spyOn(app.store, 'readStream');

      for (const e of events) catalog.apply(e);
      catalog.apply(events[3]);

      const state = await catalog.get(key.keyId);
      expect(state.key.versions.map((v) => v.version)).toEqual([1, 2]);
      expect(state.key.primaryVersion).toBe(2);
      expect(reads).not.toHaveBeenCalled();
    });

    it('given a gap in a stream it holds, then it drops the stale entry and reloads the key from the store', async () => {
      const key = await app.lifecycle.createKey(keyInput(), TEST_CHANGE);
      const events = await storedEvents(key.keyId);
      const catalog = new KeyCatalog(app.store);
      expect((await catalog.get(key.keyId)).key.primaryVersion).toBe(1);
      await app.lifecycle.rotateKey(key.keyId, 'MANUAL', TEST_CHANGE);
      await app.lifecycle.disableKeyVersion(key.keyId, 1, TEST_CHANGE);
      const later = (await storedEvents(key.keyId)).slice(events.length);

      // The rotation's events never arrived; the disable does.
      catalog.apply(later[later.length - 1] as StoredEvent);

      const reads = jest.spyOn(app.store, 'readStream');
      await eventually(async () => {
        reads.mockClear();
        const state = await catalog.get(key.keyId);
        expect(state.key.primaryVersion).toBe(2);
        expect(state.key.versions.map((v) => v.state)).toEqual(['DISABLED', 'ENABLED']);
        expect(reads).not.toHaveBeenCalled(); // held again
      });
    });

    it('skips keys it does not hold (they are read when used), and streams that are not keys', async () => {
      const key = await app.lifecycle.createKey(keyInput({ name: 'reserved' }), TEST_CHANGE);
      const catalog = new KeyCatalog(app.store);
      const seen: StoredEvent[] = [];
      const sub = app.store.subscribeToAll({}, { onEvent: (e) => void seen.push(e) });
      await eventually(() => expect(seen).toHaveLength(4));
      await sub.stop();
      const reads = jest.spyOn(app.store, 'readStream');

      expect(seen[0].type).toBe('KeyNameReserved');
      for (const e of seen) catalog.apply(e);

      expect(reads).not.toHaveBeenCalled();
      expect(await catalog.all()).toEqual([]);
      expect((await catalog.get(key.keyId)).key.name).toBe('reserved');
      expect(reads).toHaveBeenCalledTimes(1);
    });

    it('given a read of a key racing a newer event, then it does not keep the older state it read', async () => {
      const key = await app.lifecycle.createKey(keyInput(), TEST_CHANGE);
      const catalog = new KeyCatalog(app.store);
      const stale = await app.store.readStream(keyStreamId(key.keyId));
      await app.lifecycle.rotateKey(key.keyId, 'MANUAL', TEST_CHANGE);
      const rotation = (await storedEvents(key.keyId)).at(-1) as StoredEvent;
      // The store answers the catalog's read with the stream as it was before the rotation, and the
      // rotation's event reaches the catalog while that read is under way.
      const reads = jest.spyOn(app.store, 'readStream').mockImplementationOnce(async () => {
        catalog.apply(rotation);
        return stale;
      });

      expect((await catalog.get(key.keyId)).key.primaryVersion).toBe(1);
      expect((await catalog.get(key.keyId)).key.primaryVersion).toBe(2);
      expect(reads).toHaveBeenCalledTimes(2);
    });
  });

  describe('while its follower fails', () => {
    it('reads keys from their streams, so a write it was not delivered still counts; serves them from memory again once it recovers', async () => {
      const key = await app.lifecycle.createKey(keyInput(), TEST_CHANGE);
      const other = applicationFixture({ store: app.store, backend: app.backend, clock: app.clock });
      // The store as the catalog sees it: its subscriptions can be made to fail (the store unreachable
      // for subscribing, while stream reads still work).
      let broken = false;
      const live: SubscriptionHandler[] = [];
      const flaky: EventStore = {
        readStream: (id) => app.store.readStream(id),
        appendToStream: (id, events, options) => app.store.appendToStream(id, events, options),
        close: async () => undefined,
        subscribeToAll: (options, handler) => {
          if (broken) {
            queueMicrotask(() => handler.onError?.(new Error('store unreachable')));
            return { stop: async () => undefined };
          }
          live.push(handler);
          return app.store.subscribeToAll(options, handler);
        },
      };
      const catalog = new KeyCatalog(flaky);
      await catalog.start();
      await catalog.get(key.keyId);

      broken = true;
      for (const handler of live.splice(0)) handler.onError?.(new Error('store unreachable'));
      await other.lifecycle.disableKeyVersion(key.keyId, 1, TEST_CHANGE);
      const reads = jest.spyOn(flaky, 'readStream');
      // Memory may be stale now: nothing is answered from it without a read.
      expect(catalog.held(key.keyId)).toBeUndefined();
      expect((await catalog.get(key.keyId)).status).toBe('Disabled');
      expect(reads).toHaveBeenCalled();

      broken = false;
      await eventually(() => expect(catalog.status()).toMatchObject({ state: 'live', lastError: null }), 10_000);
      reads.mockClear();
      await eventually(async () => {
        expect((await catalog.get(key.keyId)).status).toBe('Disabled');
        expect(reads).not.toHaveBeenCalled();
      });
      expect(catalog.held(key.keyId)?.status).toBe('Disabled');
      await catalog.stop();
    });
  });

  describe('listChecked', () => {
    it('given a read-model row changed outside the KMS, then list shows the row but listChecked the key as its stream says', async () => {
      const snapshots = new InMemoryKeySnapshots();
      const catalog = new KeyCatalog(app.store, { snapshots });
      const key = await app.lifecycle.createKey(keyInput({ labels: { env: 'prod' } }), TEST_CHANGE);
      await catalog.start(app.store);
      const [row] = await snapshots.getMany([key.keyId]).then((m) => [...m.values()]);
      if (!row) throw new Error('no row');
      // A newer version than the stream, a grant nobody gave, a label the key does not have.
      await snapshots.save([{ version: row.version + 5, state: { ...row.state, key: { ...row.state.key, labels: { env: 'dev' }, policy: { grants: { intruder: ['ENCRYPT'] } } } } }]);
      const fresh = new KeyCatalog(app.store, { snapshots });

      expect((await fresh.list({ labels: { env: 'dev' } })).map((s) => s.key.policy.grants)).toEqual([{ intruder: ['ENCRYPT'] }]);
      expect(await fresh.listChecked({ labels: { env: 'dev' } })).toEqual([]);
      expect((await fresh.listChecked({})).map((s) => [s.key.keyId, s.key.labels, s.key.policy.grants])).toEqual([[key.keyId, { env: 'prod' }, {}]]);
      await catalog.stop();
    });
  });

  describe('bounded cache', () => {
    it('holds the most recently used keys only; an evicted key is read again from the store, as its stream says', async () => {
      const ids: string[] = [];
      for (const name of ['k1', 'k2', 'k3']) ids.push((await app.lifecycle.createKey(keyInput({ name }), TEST_CHANGE)).keyId);
      await app.lifecycle.rotateKey(ids[0] as string, 'MANUAL', TEST_CHANGE);
      const catalog = new KeyCatalog(app.store, { cacheSize: 2 });
      const reads = jest.spyOn(app.store, 'readStream');
      const get = async (i: number) => (await catalog.get(ids[i] as string)).key;

      await get(0);
      await get(1);
      await get(0); // k1 is now the most recently used: k2 goes when k3 comes
      await get(2);
      expect(reads).toHaveBeenCalledTimes(3);
      await get(0);
      await get(2);
      expect(reads).toHaveBeenCalledTimes(3);

      const again = await get(1);
      expect(reads).toHaveBeenCalledTimes(4);
      const fromStream = await loadAggregate(app.store, keyDecider, keyEventCodec, keyStreamId(ids[1] as string));
      expect({ status: 'Enabled', key: again }).toEqual(fromStream.state);
      expect((await get(0)).primaryVersion).toBe(2);
    });

    it('held answers a key in memory as get does, without a promise or a read, and counts as a use; a key not held is undefined', async () => {
      const ids: string[] = [];
      for (const name of ['k1', 'k2', 'k3']) ids.push((await app.lifecycle.createKey(keyInput({ name }), TEST_CHANGE)).keyId);
      const catalog = new KeyCatalog(app.store, { cacheSize: 2 });
      const [k1, k2, k3] = ids as [string, string, string];
      expect(catalog.held(k1)).toBeUndefined();
      await catalog.get(k1);
      await catalog.get(k2);
      const reads = jest.spyOn(app.store, 'readStream');

      expect(catalog.held(k1)).toEqual(await catalog.get(k1));
      expect(catalog.held(k1)).not.toBeInstanceOf(Promise);
      expect(catalog.held(k2)?.key.name).toBe('k2');
      expect(catalog.held(k1)?.key.name).toBe('k1'); // k1 is now the most recently used: k2 goes when k3 comes
      await catalog.get(k3);
      expect(reads).toHaveBeenCalledTimes(1);
      expect([catalog.held(k1)?.key.name, catalog.held(k2), catalog.held(k3)?.key.name]).toEqual(['k1', undefined, 'k3']);
      expect(catalog.held('00000000-0000-4000-8000-000000000000')).toBeUndefined();
    });

    it('refuses a size that is not a whole number of at least 1', () => {
      expect(() => new KeyCatalog(app.store, { cacheSize: 0 })).toThrow(RangeError);
      expect(() => new KeyCatalog(app.store, { cacheSize: 1.5 })).toThrow(RangeError);
    });
  });

  describe('list', () => {
    it('filters by tenant, purpose and labels (all given labels must match), ordered by creation time', async () => {
      const make = async (name: string, overrides: Parameters<typeof keyInput>[0]) => {
        app.clock.advance(DAY_MS);
        return (await app.lifecycle.createKey(keyInput({ name, ...overrides }), TEST_CHANGE)).keyId;
      };
      await make('a', { tenant: 'acme', purpose: 'DATA_PROTECTION', labels: { env: 'prod', team: 'pay' } });
      await make('b', { tenant: 'acme', purpose: 'SERVICE_ENVELOPE', labels: { env: 'prod' } });
      await make('c', { tenant: 'acme', purpose: 'DATA_PROTECTION', labels: { env: 'dev', team: 'pay' } });
      await make('d', { tenant: 'globex', purpose: 'DATA_PROTECTION', labels: { env: 'prod', team: 'pay' } });
      const names = async (filter: Parameters<KeyCatalog['list']>[0]) => (await app.catalog.list(filter)).map((s) => s.key.name);

      expect(await names({})).toEqual(['a', 'b', 'c', 'd']);
      expect(await names({ tenant: 'acme' })).toEqual(['a', 'b', 'c']);
      expect(await names({ tenant: 'globex' })).toEqual(['d']);
      expect(await names({ tenant: 'initech' })).toEqual([]);
      expect(await names({ purpose: 'SERVICE_ENVELOPE' })).toEqual(['b']);
      expect(await names({ labels: { env: 'prod' } })).toEqual(['a', 'b', 'd']);
      expect(await names({ labels: { env: 'prod', team: 'pay' } })).toEqual(['a', 'd']);
      expect(await names({ labels: { team: 'ops' } })).toEqual([]);
      expect(await names({ tenant: 'acme', purpose: 'DATA_PROTECTION', labels: { team: 'pay' } })).toEqual(['a', 'c']);
    });
  });
});
