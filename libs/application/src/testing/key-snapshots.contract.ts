import { randomUUID } from 'node:crypto';
import { type ExistingKeyState, type KeyCommand, keyDecider, type KeyPurpose, type KeyState } from '@kms/domain';
import type { KeySnapshot, KeySnapshotStore } from '../keys/key-snapshots.port';

/** What a snapshot row is made of in these tests: a key created, then rotated `rotations` times. */
export interface SnapshotSpec {
  tenant?: string;
  purpose?: KeyPurpose;
  labels?: Record<string, string>;
  createdAt?: string;
  keyId?: string;
  rotations?: number;
}

/**
 * A key's snapshot as the key decider folds it (CreateKey, then RotateKey `rotations` times), at the
 * stream version of its last event.
 */
export function keySnapshot(spec: SnapshotSpec = {}): KeySnapshot {
  const keyId = spec.keyId ?? randomUUID();
  const now = new Date(spec.createdAt ?? '2026-12-05T10:00:00.000Z');
  const metadata = { now, actor: 'alice@example.com', correlationId: keyId };
  const commands: KeyCommand[] = [
    {
      type: 'CreateKey',
      data: { keyId, tenant: spec.tenant ?? 'acme', name: `k-${keyId}`, purpose: spec.purpose ?? 'DATA_PROTECTION', algorithm: 'AES_256_GCM', protectionLevel: 'SOFTWARE', labels: spec.labels ?? {}, owner: 'team-a', material: { version: 1, materialRef: `m-${keyId}-1` } },
      metadata,
    },
  ];
  for (let v = 2; v <= (spec.rotations ?? 0) + 1; v++) commands.push({ type: 'RotateKey', data: { rotationReason: 'MANUAL', material: { version: v, materialRef: `m-${keyId}-${v}` } }, metadata });
  let state: KeyState = keyDecider.initialState();
  let version = -1;
  for (const command of commands) {
    for (const event of keyDecider.decide(command, state)) {
      state = keyDecider.evolve(state, event);
      version++;
    }
  }
  return { state: state as ExistingKeyState, version };
}

const ids = (rows: readonly KeySnapshot[]): string[] => rows.map((r) => r.state.key.keyId);

/**
 * The behaviour every KeySnapshotStore adapter must show (STYLE.md 4): rows read back as written, a
 * row is only replaced by a newer version of its key (replays and concurrent writers are harmless),
 * the checkpoint only moves forward, and listings filter and order as ListKeys promises. The factory
 * gives an empty store for each test.
 */
export function keySnapshotStoreContract(name: string, factory: () => Promise<KeySnapshotStore>): void {
  describe(`${name} satisfies the KeySnapshotStore contract`, () => {
    let store: KeySnapshotStore;
    beforeEach(async () => {
      store = await factory();
    });

    it('starts empty, without a checkpoint', async () => {
      expect(await store.checkpoint()).toBeUndefined();
      expect(await store.list({})).toEqual([]);
      expect((await store.getMany([randomUUID()])).size).toBe(0);
      expect((await store.getMany([])).size).toBe(0);
    });

    it('reads rows back as written, and moves the checkpoint with them', async () => {
      const a = keySnapshot({ labels: { env: 'prod' }, rotations: 2 });
      const b = keySnapshot();
      await store.save([a, b], 42n);

      const got = await store.getMany([a.state.key.keyId, b.state.key.keyId, randomUUID()]);
      expect(got.get(a.state.key.keyId)).toEqual(a);
      expect(got.get(b.state.key.keyId)).toEqual(b);
      expect(got.size).toBe(2);
      expect(await store.checkpoint()).toBe(42n);
    });

    it('replaces a row only with a newer version of its key: a replay or a late writer changes nothing', async () => {
      const keyId = randomUUID();
      const older = keySnapshot({ keyId, rotations: 1 });
      const newer = keySnapshot({ keyId, rotations: 3 });
      await store.save([older]);
      await store.save([newer]);
      await store.save([older]);
      await store.save([{ ...newer, state: { ...newer.state, status: 'Disabled' } }]); // same version: kept as first written

      expect((await store.getMany([keyId])).get(keyId)).toEqual(newer);
      expect(await store.list({})).toEqual([newer]);
    });

    it('given concurrent writers of several versions of the same keys, then each key ends at its newest version', async () => {
      const keys = [randomUUID(), randomUUID(), randomUUID()];
      const versions = [0, 1, 2, 3, 4];
      const writes = versions.flatMap((rotations) => [store.save(keys.map((keyId) => keySnapshot({ keyId, rotations }))), store.save([...keys].reverse().map((keyId) => keySnapshot({ keyId, rotations })))]);
      await Promise.all(writes);

      const got = await store.getMany(keys);
      for (const keyId of keys) expect(got.get(keyId)).toEqual(keySnapshot({ keyId, rotations: 4 }));
    });

    it('moves the checkpoint forward only; a save without a position leaves it', async () => {
      await store.save([], 10n);
      await store.save([keySnapshot()], 7n);
      expect(await store.checkpoint()).toBe(10n);
      await store.save([keySnapshot()]);
      expect(await store.checkpoint()).toBe(10n);
      await Promise.all([store.save([], 12n), store.save([], 11n), store.save([], 9_007_199_254_740_993n)]);
      expect(await store.checkpoint()).toBe(9_007_199_254_740_993n);
    });

    it('keeps a first build\'s progress with its rows, all or nothing, and clears it when the build is done', async () => {
      // Both or neither: a store that keeps no progress starts an interrupted build over.
      expect(typeof store.buildProgress === 'function').toBe(typeof store.saveBuild === 'function');
      if (!store.buildProgress || !store.saveBuild) return;
      expect(await store.buildProgress()).toBeUndefined();
      const a = keySnapshot({ keyId: '00000000-0000-4000-8000-00000000000a' });
      const b = keySnapshot({ keyId: '00000000-0000-4000-8000-00000000000b' });
      await store.saveBuild([a], { progress: { through: 9_007_199_254_740_993n, afterStreamId: `key-${a.state.key.keyId}` } });
      expect(await store.buildProgress()).toEqual({ through: 9_007_199_254_740_993n, afterStreamId: `key-${a.state.key.keyId}` });
      expect(await store.checkpoint()).toBeUndefined();
      await store.saveBuild([b], { progress: { through: 9_007_199_254_740_993n, afterStreamId: `key-${b.state.key.keyId}` } });
      expect(await store.buildProgress()).toEqual({ through: 9_007_199_254_740_993n, afterStreamId: `key-${b.state.key.keyId}` });
      expect((await store.getMany([a.state.key.keyId, b.state.key.keyId])).size).toBe(2);

      await store.saveBuild([], { done: 9_007_199_254_740_993n });
      expect(await store.buildProgress()).toBeUndefined();
      expect(await store.checkpoint()).toBe(9_007_199_254_740_993n);
      // Done moves the checkpoint forward only, like save.
      await store.saveBuild([], { done: 5n });
      expect(await store.checkpoint()).toBe(9_007_199_254_740_993n);
    });

    it('lists by tenant, purpose and labels (every given label), ordered by creation time then key id', async () => {
      const at = (minute: number) => `2026-12-05T10:${String(minute).padStart(2, '0')}:00.000Z`;
      const rows = {
        a: keySnapshot({ tenant: 'acme', purpose: 'DATA_PROTECTION', labels: { env: 'prod', team: 'pay' }, createdAt: at(1) }),
        b: keySnapshot({ tenant: 'acme', purpose: 'SERVICE_ENVELOPE', labels: { env: 'prod' }, createdAt: at(2) }),
        c: keySnapshot({ tenant: 'acme', purpose: 'DATA_PROTECTION', labels: { env: 'dev', team: 'pay' }, createdAt: at(3) }),
        d: keySnapshot({ tenant: 'globex', purpose: 'DATA_PROTECTION', labels: { env: 'prod', team: 'pay' }, createdAt: at(4) }),
        // Same creation time as d: ordered by key id.
        e: keySnapshot({ tenant: 'globex', keyId: 'ffffffff-0000-4000-8000-000000000000', createdAt: at(4) }),
        f: keySnapshot({ tenant: 'globex', keyId: '00000000-0000-4000-8000-000000000000', createdAt: at(4) }),
      };
      await store.save(Object.values(rows).reverse(), 1n);
      const names = async (filter: Parameters<KeySnapshotStore['list']>[0]) => {
        const byId = new Map(Object.entries(rows).map(([n, r]) => [r.state.key.keyId, n]));
        return ids(await store.list(filter)).map((id) => byId.get(id));
      };
      const dThenE = rows.d.state.key.keyId < rows.e.state.key.keyId ? ['f', 'd', 'e'] : ['f', 'e', 'd'];

      expect(await names({})).toEqual(['a', 'b', 'c', ...dThenE]);
      expect(await names({ tenant: 'acme' })).toEqual(['a', 'b', 'c']);
      expect(await names({ tenant: 'initech' })).toEqual([]);
      expect(await names({ purpose: 'SERVICE_ENVELOPE' })).toEqual(['b']);
      expect(await names({ labels: { env: 'prod' } })).toEqual(['a', 'b', 'd']);
      expect(await names({ labels: { env: 'prod', team: 'pay' } })).toEqual(['a', 'd']);
      expect(await names({ labels: {} })).toEqual(['a', 'b', 'c', ...dThenE]);
      expect(await names({ tenant: 'acme', purpose: 'DATA_PROTECTION', labels: { team: 'pay' } })).toEqual(['a', 'c']);
      expect((await store.list({ tenant: 'acme', labels: { env: 'prod' } }))[0]).toEqual(rows.a);
    });

    it('gives a page of a listing: `limit` rows after `offset`, in listing order', async () => {
      const at = (minute: number) => `2026-12-05T11:${String(minute).padStart(2, '0')}:00.000Z`;
      const made = [1, 2, 3, 4, 5].map((m) => keySnapshot({ tenant: 'paged', createdAt: at(m) }));
      await store.save([...made].reverse(), 1n);
      const page = async (offset: number, limit: number) => ids(await store.list({ tenant: 'paged' }, { offset, limit }));

      expect(await page(0, 2)).toEqual(ids(made.slice(0, 2)));
      expect(await page(2, 2)).toEqual(ids(made.slice(2, 4)));
      expect(await page(4, 2)).toEqual(ids(made.slice(4)));
      expect(await page(5, 2)).toEqual([]);
      expect(await page(0, 10)).toEqual(ids(made));
    });
  });
}
