import { randomUUID } from 'node:crypto';
import type { EventStore, NewEvent, StoredEvent, StreamsByPrefixReader } from '../event-store.port';

/** An adapter that also reads streams by prefix, and how to release it. */
export interface StreamsByPrefixReaderHarness {
  store: EventStore & StreamsByPrefixReader;
  cleanup(): Promise<void>;
}

/** Every page from the first, with the `next` each gave. */
async function allPages(store: StreamsByPrefixReader, prefix: string, through: bigint, limit: number): Promise<Array<{ streams: StoredEvent[][]; next?: string }>> {
  const pages: Array<{ streams: StoredEvent[][]; next?: string }> = [];
  let after: string | undefined;
  for (;;) {
    const page = await store.readStreamsByPrefix(prefix, { through, limit, ...(after === undefined ? {} : { afterStreamId: after }) });
    pages.push(page);
    if (page.next === undefined) return pages;
    if (pages.length > 1000) throw new Error('the pages never end');
    after = page.next;
  }
}

/**
 * What every StreamsByPrefixReader does: whole streams, each once, in code-point order of their ids,
 * cut at a position, paged. Each test uses streams of its own prefix, so the store may be shared.
 */
export function streamsByPrefixReaderContract(name: string, factory: () => Promise<StreamsByPrefixReaderHarness>): void {
  describe(`${name} satisfies the StreamsByPrefixReader contract`, () => {
    let harness: StreamsByPrefixReaderHarness | undefined;
    const store = (): EventStore & StreamsByPrefixReader => {
      if (!harness) throw new Error('the event store factory failed; see beforeAll');
      return harness.store;
    };
    const event = (n: number): NewEvent => ({ id: randomUUID(), type: 'Counted', data: { n }, metadata: { actor: 'alice' } });
    const events = (count: number): NewEvent[] => Array.from({ length: count }, (_, i) => event(i));
    const prefixOf = (): string => `scan${randomUUID().slice(0, 8)}-`;
    const ids = (streams: StoredEvent[][]): string[] => streams.map((s) => (s[0] as StoredEvent).streamId);

    beforeAll(async () => {
      harness = await factory();
    });
    afterAll(async () => {
      await harness?.cleanup();
    });

    it('gives the position of the last event appended as the head', async () => {
      const { lastGlobalPosition } = await store().appendToStream(`${prefixOf()}a`, events(2), { expectedVersion: 'no_stream' });
      expect(await store().headPosition()).toBe(lastGlobalPosition);
    });

    it('returns every stream of the prefix once, whole and in version order, ordered by id in code-point order, page by page', async () => {
      const prefix = prefixOf();
      // Code-point order puts U+FFFF before U+10000; UTF-16 code-unit order would not.
      const sizes: Array<[string, number]> = [
        [`${prefix}\u{10000}`, 2],
        [`${prefix}b`, 4],
        [`${prefix}\uffff`, 1],
        [`${prefix}a`, 1],
        [`${prefix}a0`, 3],
      ];
      for (const [id, count] of sizes) await store().appendToStream(id, events(count), { expectedVersion: 'no_stream' });
      // Streams just outside the prefix, on both sides.
      await store().appendToStream(`${prefix.slice(0, -1)},x`, events(1), { expectedVersion: 'no_stream' });
      await store().appendToStream(`${prefix.slice(0, -1)}.x`, events(1), { expectedVersion: 'no_stream' });
      // A later append to the first stream: versions interleave with other streams' positions.
      await store().appendToStream(`${prefix}a`, events(2), { expectedVersion: 0 });
      const head = await store().headPosition();

      for (const limit of [1, 2, 3, 100]) {
        const pages = await allPages(store(), prefix, head, limit);
        const streams = pages.flatMap((p) => p.streams);
        expect(ids(streams)).toEqual([`${prefix}a`, `${prefix}a0`, `${prefix}b`, `${prefix}\uffff`, `${prefix}\u{10000}`]);
        expect(streams.map((s) => s.map((e) => e.streamVersion))).toEqual([[0, 1, 2], [0, 1, 2], [0, 1, 2, 3], [0], [0, 1]]);
        for (const stream of streams) for (const e of stream) expect(e.type).toBe('Counted');
        // Every page but the last names where the next starts: its own last stream.
        for (const page of pages.slice(0, -1)) expect(page.next).toBe(ids(page.streams).at(-1));
        expect(pages.at(-1)?.next).toBeUndefined();
        // A page ends with a whole stream, so it holds at least one; a stream longer than the limit comes whole.
        for (const page of pages.slice(0, -1)) expect(page.streams.length).toBeGreaterThan(0);
        if (limit === 100) expect(pages).toHaveLength(1);
      }
    });

    it('cuts every stream at the given position and leaves out streams that begin after it', async () => {
      const prefix = prefixOf();
      await store().appendToStream(`${prefix}a`, events(2), { expectedVersion: 'no_stream' });
      await store().appendToStream(`${prefix}b`, events(1), { expectedVersion: 'no_stream' });
      const through = await store().headPosition();
      await store().appendToStream(`${prefix}a`, events(3), { expectedVersion: 1 });
      await store().appendToStream(`${prefix}c`, events(1), { expectedVersion: 'no_stream' });

      for (const limit of [1, 2, 10]) {
        const streams = (await allPages(store(), prefix, through, limit)).flatMap((p) => p.streams);
        expect(ids(streams)).toEqual([`${prefix}a`, `${prefix}b`]);
        expect(streams.map((s) => s.length)).toEqual([2, 1]);
        for (const e of streams.flat()) expect(e.globalPosition <= through).toBe(true);
      }
    });

    it('starts after the given stream id, and returns nothing (and no next page) past the last one', async () => {
      const prefix = prefixOf();
      for (const id of ['a', 'b', 'c']) await store().appendToStream(`${prefix}${id}`, events(1), { expectedVersion: 'no_stream' });
      const head = await store().headPosition();

      const rest = await store().readStreamsByPrefix(prefix, { through: head, limit: 10, afterStreamId: `${prefix}a` });
      expect(ids(rest.streams)).toEqual([`${prefix}b`, `${prefix}c`]);
      expect(rest.next).toBeUndefined();
      // A stream id that is not stored is a place in the order all the same.
      expect(ids((await store().readStreamsByPrefix(prefix, { through: head, limit: 10, afterStreamId: `${prefix}bb` })).streams)).toEqual([`${prefix}c`]);
      expect(await store().readStreamsByPrefix(prefix, { through: head, limit: 10, afterStreamId: `${prefix}c` })).toEqual({ streams: [] });
      expect(await store().readStreamsByPrefix(prefixOf(), { through: head, limit: 10 })).toEqual({ streams: [] });
    });

    it('refuses an empty prefix and a limit below one, naming them', async () => {
      await expect(store().readStreamsByPrefix('', { through: 1n, limit: 10 })).rejects.toThrow(RangeError);
      await expect(store().readStreamsByPrefix('', { through: 1n, limit: 10 })).rejects.toThrow(/prefix/);
      for (const limit of [0, -1, 1.5, Number.NaN]) await expect(store().readStreamsByPrefix('key-', { through: 1n, limit })).rejects.toThrow(/limit/);
    });
  });
}
