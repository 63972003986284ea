import { randomUUID } from 'node:crypto';
import type { EventStore, NewEvent, StoredStreamReader } from '../event-store.port';

/** An adapter that also reads streams as stored, and how to release it. */
export interface StoredStreamReaderHarness {
  store: EventStore & StoredStreamReader;
  cleanup(): Promise<void>;
}

/**
 * What every StoredStreamReader shows on a store the KMS wrote itself: the stored stream is the
 * stream the checked read returns, event for event, in version order. (What it returns for rows
 * written behind the store's back is the adapter's own test: only it can write them.)
 */
export function storedStreamReaderContract(name: string, factory: () => Promise<StoredStreamReaderHarness>): void {
  describe(`${name} satisfies the StoredStreamReader contract`, () => {
    let harness: StoredStreamReaderHarness | undefined;
    const store = (): EventStore & StoredStreamReader => {
      if (!harness) throw new Error('the event store factory failed; see beforeAll');
      return harness.store;
    };
    const event = (type: string, n: number): NewEvent => ({ id: randomUUID(), type, data: { n, nested: { list: [n, 'x'] } }, metadata: { actor: 'alice' } });

    beforeAll(async () => {
      harness = await factory();
    });
    afterAll(async () => {
      await harness?.cleanup();
    });

    it('returns nothing for a stream that does not exist', async () => {
      expect(await store().readStoredStream(`key-${randomUUID()}`)).toEqual([]);
    });

    it('returns every event of the stream in version order, as the checked read does', async () => {
      const streamId = `key-${randomUUID()}`;
      const other = `key-${randomUUID()}`;
      await store().appendToStream(streamId, [event('KeyCreated', 0), event('KeyVersionCreated', 1)], { expectedVersion: 'no_stream' });
      await store().appendToStream(other, [event('KeyCreated', 9)], { expectedVersion: 'no_stream' });
      await store().appendToStream(streamId, [event('KeyVersionDisabled', 2)], { expectedVersion: 1 });

      const stored = await store().readStoredStream(streamId);
      expect(stored.map((e) => [e.streamVersion, e.type, e.data['n']])).toEqual([
        [0, 'KeyCreated', 0],
        [1, 'KeyVersionCreated', 1],
        [2, 'KeyVersionDisabled', 2],
      ]);
      expect(stored).toEqual((await store().readStream(streamId)).events);
    });

    it('hands out copies: changing what it returned changes nothing stored', async () => {
      const streamId = `key-${randomUUID()}`;
      await store().appendToStream(streamId, [event('KeyCreated', 0)], { expectedVersion: 'no_stream' });
      const [first] = await store().readStoredStream(streamId);
      if (!first) throw new Error('no event read back');
      first.data['n'] = 42;
      expect((await store().readStoredStream(streamId))[0]?.data['n']).toBe(0);
    });
  });
}
