import { UNRESTRICTED_ACCESS } from '../access/authorizer';
import { DAY_MS, keyStreamId } from '@kms/domain';
import type { StoredEvent } from '@kms/event-store';
import { type ApplicationFixture, applicationFixture, eventually, keyInput, kmsErrorOf, TEST_CHANGE } from '../testing/application-fixture';
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
      expect(app.catalog.list({}).map((s) => s.key.keyId)).toEqual([key.keyId]);
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
      expect(cold.list({}).map((s) => s.key.keyId)).toEqual([key.keyId]);

      const err = await kmsErrorOf(cold.get('00000000-0000-4000-8000-000000000000'));
      expect([err.code, err.field]).toEqual(['KEY_NOT_FOUND', 'key_id']);
    });
  });

  describe('another instance on the same store', () => {
    it('sees keys written before it started once start() resolves, and later writes through the subscription', async () => {
      const before = await app.lifecycle.createKey(keyInput({ name: 'before' }), TEST_CHANGE);
      const other = applicationFixture({ store: app.store, backend: app.backend, clock: app.clock });

      await other.catalog.start(app.store);
      expect(other.catalog.list({}).map((s) => s.key.name)).toEqual(['before']);

      app.clock.advance(1_000);
      const after = await app.lifecycle.createKey(keyInput({ name: 'after' }), TEST_CHANGE);
      await app.lifecycle.rotateKey(before.keyId, 'MANUAL', TEST_CHANGE);
      await eventually(() => {
        expect(other.catalog.list({}).map((s) => [s.key.name, s.key.primaryVersion])).toEqual([
          ['before', 2],
          ['after', 1],
        ]);
      });

      // The other instance encrypts under the new primary, and this one decrypts it.
      const sealed = await other.crypto.encrypt(UNRESTRICTED_ACCESS, before.keyId, Buffer.from('cross-instance'), Buffer.alloc(0));
      expect(sealed.keyVersion).toBe(2);
      expect((await app.crypto.decrypt(UNRESTRICTED_ACCESS, sealed.ciphertext, Buffer.alloc(0))).plaintext.toString()).toBe('cross-instance');
      expect(other.catalog.all().map((s) => s.key.keyId).sort()).toEqual([before.keyId, after.keyId].sort());
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
    it('ignores an event it has already applied', async () => {
      const key = await app.lifecycle.createKey(keyInput(), TEST_CHANGE);
      await app.lifecycle.rotateKey(key.keyId, 'MANUAL', TEST_CHANGE);
      const events = await storedEvents(key.keyId);
      const catalog = new KeyCatalog(app.store);

      for (const e of events) catalog.apply(e);
      for (const e of events) catalog.apply(e);
      catalog.apply(events[3]);

      const [state] = catalog.list({});
      expect(state.key.versions.map((v) => v.version)).toEqual([1, 2]);
      expect(state.key.primaryVersion).toBe(2);
    });

    it('given a gap in a stream, then it drops the stale entry and reloads the key from the store', async () => {
      const key = await app.lifecycle.createKey(keyInput(), TEST_CHANGE);
      await app.lifecycle.rotateKey(key.keyId, 'MANUAL', TEST_CHANGE);
      await app.lifecycle.disableKeyVersion(key.keyId, 1, TEST_CHANGE);
      const events = await storedEvents(key.keyId);
      const catalog = new KeyCatalog(app.store);
      for (const e of events.slice(0, 3)) catalog.apply(e);
      expect(catalog.list({})[0].key.primaryVersion).toBe(1);

      // Versions 3 and 4 never arrived; 5 does.
      catalog.apply(events[5]);

      expect(catalog.list({})).toEqual([]);
      await eventually(() => {
        const [state] = catalog.list({});
        expect(state.key.primaryVersion).toBe(2);
        expect(state.key.versions.map((v) => v.state)).toEqual(['DISABLED', 'ENABLED']);
      });
    });

    it('given a key first seen in the middle of its stream, then it loads the whole key', async () => {
      const key = await app.lifecycle.createKey(keyInput(), TEST_CHANGE);
      await app.lifecycle.rotateKey(key.keyId, 'MANUAL', TEST_CHANGE);
      const events = await storedEvents(key.keyId);
      const catalog = new KeyCatalog(app.store);

      catalog.apply(events[4]);

      await eventually(() => expect(catalog.list({}).map((s) => s.key.versions.length)).toEqual([2]));
    });

    it('ignores streams that are not keys (name reservations)', async () => {
      const key = await app.lifecycle.createKey(keyInput({ name: 'reserved' }), TEST_CHANGE);
      const catalog = new KeyCatalog(app.store);
      const seen: StoredEvent[] = [];
      const sub = app.store.subscribeToAll({}, { onEvent: (e) => void seen.push(e) });
      await eventually(() => expect(seen).toHaveLength(4));
      await sub.stop();

      expect(seen[0].type).toBe('KeyNameReserved');
      for (const e of seen) catalog.apply(e);

      expect(catalog.all().map((s) => s.key.keyId)).toEqual([key.keyId]);
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
      const names = (filter: Parameters<KeyCatalog['list']>[0]) => app.catalog.list(filter).map((s) => s.key.name);

      expect(names({})).toEqual(['a', 'b', 'c', 'd']);
      expect(names({ tenant: 'acme' })).toEqual(['a', 'b', 'c']);
      expect(names({ tenant: 'globex' })).toEqual(['d']);
      expect(names({ tenant: 'initech' })).toEqual([]);
      expect(names({ purpose: 'SERVICE_ENVELOPE' })).toEqual(['b']);
      expect(names({ labels: { env: 'prod' } })).toEqual(['a', 'b', 'd']);
      expect(names({ labels: { env: 'prod', team: 'pay' } })).toEqual(['a', 'd']);
      expect(names({ labels: { team: 'ops' } })).toEqual([]);
      expect(names({ tenant: 'acme', purpose: 'DATA_PROTECTION', labels: { team: 'pay' } })).toEqual(['a', 'c']);
    });
  });
});
