import { randomUUID } from 'node:crypto';
import type { CheckpointStore } from '../checkpoint/checkpoint-store.port';

/** One adapter instance under test, and how to release it. */
export interface CheckpointStoreHarness {
  store: CheckpointStore;
  /** Frees what the factory made (pool, schema). */
  cleanup(): Promise<void>;
}

/**
 * The behaviour every CheckpointStore adapter must show (STYLE.md 4). Call it at the top level of the
 * adapter's spec: `checkpointStoreContract('PostgresNoticeStore', async () => ({ store, cleanup }))`.
 * The factory runs once per suite; every test uses fresh names.
 */
export function checkpointStoreContract(name: string, factory: () => Promise<CheckpointStoreHarness>): void {
  describe(`${name} satisfies the CheckpointStore contract`, () => {
    let harness: CheckpointStoreHarness | undefined;
    const store = (): CheckpointStore => {
      if (!harness) throw new Error('the checkpoint store factory failed; see beforeAll');
      return harness.store;
    };
    const fresh = (): string => `follower-${randomUUID()}`;

    beforeAll(async () => {
      harness = await factory();
    });

    afterAll(async () => {
      await harness?.cleanup();
    });

    it('answers 0 for a name nothing was committed under', async () => {
      expect(await store().loadCheckpoint(fresh())).toBe(0n);
    });

    it('returns the position committed last', async () => {
      const name = fresh();
      await store().commit(name, 7n);
      expect(await store().loadCheckpoint(name)).toBe(7n);
      await store().commit(name, 12n);
      expect(await store().loadCheckpoint(name)).toBe(12n);
    });

    it('never moves a position backwards', async () => {
      const name = fresh();
      await store().commit(name, 10n);
      await store().commit(name, 3n);
      expect(await store().loadCheckpoint(name)).toBe(10n);
    });

    it('keeps each name apart', async () => {
      const [a, b] = [fresh(), fresh()];
      await store().commit(a, 5n);
      await store().commit(b, 9n);
      expect([await store().loadCheckpoint(a), await store().loadCheckpoint(b)]).toEqual([5n, 9n]);
    });

    it('given concurrent commits, then the highest position stays', async () => {
      const name = fresh();
      const positions = [4n, 40n, 17n, 39n, 2n, 33n];
      await Promise.all(positions.map((p) => store().commit(name, p)));
      expect(await store().loadCheckpoint(name)).toBe(40n);
    });

    it('keeps a position beyond 2^53 exactly (a bigint, not a float)', async () => {
      const name = fresh();
      const big = 2n ** 62n + 1n;
      await store().commit(name, big);
      expect(await store().loadCheckpoint(name)).toBe(big);
    });

    it('refuses a negative position and keeps the stored one', async () => {
      const name = fresh();
      await store().commit(name, 8n);
      await expect(store().commit(name, -1n)).rejects.toThrow();
      expect(await store().loadCheckpoint(name)).toBe(8n);
    });
  });
}
