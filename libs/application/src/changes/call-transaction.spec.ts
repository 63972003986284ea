import { randomUUID } from 'node:crypto';
import { InMemoryEventStore, type NewEvent, WrongExpectedVersionError } from '@kms/event-store';
import { afterCommit, CallScopedEventStore, CallTransaction, committedView, currentTransaction, onAbort, withTransaction } from './call-transaction';

function event(type = 'Something'): NewEvent {
  return { id: randomUUID(), type, data: { n: type }, metadata: {} };
}

/** A store holding `count` events on `streamId` (versions 0..count-1). */
async function storeWith(streamId: string, count: number): Promise<InMemoryEventStore> {
  const store = new InMemoryEventStore();
  for (let i = 0; i < count; i++) await store.appendToStream(streamId, [event(`Stored${i}`)], { expectedVersion: i === 0 ? 'no_stream' : i - 1 });
  return store;
}

async function errorOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection, but the call succeeded');
}

describe('CallTransaction', () => {
  describe('reads inside the transaction', () => {
    it('given two stored events and one buffered write, then a read sees all three with versions continuing from the store', async () => {
      const store = await storeWith('key-1', 2);
      const tx = new CallTransaction(store);

      const appended = await tx.appendToStream('key-1', [event('Buffered')], { expectedVersion: 1 });
      const read = await tx.readStream('key-1');

      expect(appended.nextExpectedVersion).toBe(2);
      expect(read.currentVersion).toBe(2);
      expect(read.events.map((e) => [e.type, e.streamVersion])).toEqual([
        ['Stored0', 0],
        ['Stored1', 1],
        ['Buffered', 2],
      ]);
      expect(read.events[2]?.streamId).toBe('key-1');
    });

    it('given a buffered write to a new stream, then the read shows it at version 0 while the store still has no stream', async () => {
      const store = new InMemoryEventStore();
      const tx = new CallTransaction(store);

      await tx.appendToStream('key-new', [event('Created'), event('Enabled')], { expectedVersion: 'no_stream' });

      expect((await tx.readStream('key-new')).events.map((e) => [e.type, e.streamVersion])).toEqual([
        ['Created', 0],
        ['Enabled', 1],
      ]);
      expect((await store.readStream('key-new')).currentVersion).toBe(-1);
    });

    it('a stream the call did not write is read straight from the store', async () => {
      const store = await storeWith('key-1', 1);
      const tx = new CallTransaction(store);
      await tx.appendToStream('key-other', [event()], { expectedVersion: 'no_stream' });

      expect(await tx.readStream('key-1')).toEqual(await store.readStream('key-1'));
    });
  });

  describe('expected versions', () => {
    it('given a buffered write, when a second write names a wrong expected version, then WrongExpectedVersionError at once and nothing more is buffered', async () => {
      const tx = new CallTransaction(await storeWith('key-1', 1));
      await tx.appendToStream('key-1', [event('First')], { expectedVersion: 0 });

      const err = await errorOf(tx.appendToStream('key-1', [event('Second')], { expectedVersion: 0 }));

      expect(err).toBeInstanceOf(WrongExpectedVersionError);
      expect(err).toMatchObject({ streamId: 'key-1', expected: 0, actual: 1 });
      expect(tx.writes()[0]?.events.map((e) => e.type)).toEqual(['First']);
    });

    it('given a buffered write, when the next write names the version after it, then both are buffered in order', async () => {
      const tx = new CallTransaction(await storeWith('key-1', 1));
      const first = await tx.appendToStream('key-1', [event('First')], { expectedVersion: 0 });
      await tx.appendToStream('key-1', [event('Second')], { expectedVersion: first.nextExpectedVersion });

      expect(tx.writes()).toEqual([{ streamId: 'key-1', expectedVersion: 0, events: [expect.objectContaining({ type: 'First' }), expect.objectContaining({ type: 'Second' })] }]);
    });

    it("given a stream that exists in the store, when the call writes it with 'no_stream', then WrongExpectedVersionError at once (checked against the store)", async () => {
      const tx = new CallTransaction(await storeWith('name-acme-billing', 1));

      const err = await errorOf(tx.appendToStream('name-acme-billing', [event()], { expectedVersion: 'no_stream' }));

      expect(err).toBeInstanceOf(WrongExpectedVersionError);
      expect(err).toMatchObject({ streamId: 'name-acme-billing', expected: 'no_stream', actual: 0 });
      expect(tx.hasWrites()).toBe(false);
    });

    it("given a stream that does not exist, when the call writes it with 'stream_exists', then WrongExpectedVersionError at once", async () => {
      const tx = new CallTransaction(new InMemoryEventStore());
      await expect(tx.appendToStream('key-missing', [event()], { expectedVersion: 'stream_exists' })).rejects.toBeInstanceOf(WrongExpectedVersionError);
    });

    it("given a buffered write to a new stream, when the call writes it again with 'no_stream', then WrongExpectedVersionError (its own write made it exist)", async () => {
      const tx = new CallTransaction(new InMemoryEventStore());
      await tx.appendToStream('key-1', [event()], { expectedVersion: 'no_stream' });
      await expect(tx.appendToStream('key-1', [event()], { expectedVersion: 'no_stream' })).rejects.toBeInstanceOf(WrongExpectedVersionError);
    });

    it('refuses an empty write', async () => {
      const tx = new CallTransaction(new InMemoryEventStore());
      await expect(tx.appendToStream('key-1', [], { expectedVersion: 'any' })).rejects.toBeInstanceOf(RangeError);
      expect(tx.hasWrites()).toBe(false);
    });
  });

  describe('writes()', () => {
    it('lists streams in first-write order, each with the expected version its first write saw and all its events', async () => {
      const store = await storeWith('key-b', 3);
      const tx = new CallTransaction(store);

      await tx.appendToStream('name-a', [event('A1')], { expectedVersion: 'no_stream' });
      await tx.appendToStream('key-b', [event('B1')], { expectedVersion: 2 });
      await tx.appendToStream('name-a', [event('A2')], { expectedVersion: 0 });
      await tx.appendToStream('key-c', [event('C1')], { expectedVersion: 'any' });
      await tx.appendToStream('key-b', [event('B2')], { expectedVersion: 3 });

      expect(tx.writes().map((w) => [w.streamId, w.expectedVersion, w.events.map((e) => e.type)])).toEqual([
        ['name-a', 'no_stream', ['A1', 'A2']],
        ['key-b', 2, ['B1', 'B2']],
        ['key-c', 'any', ['C1']],
      ]);
    });

    it("given 'stream_exists' on a stream at version 2, then the write expects exactly version 2 at commit", async () => {
      const tx = new CallTransaction(await storeWith('key-1', 3));
      await tx.appendToStream('key-1', [event()], { expectedVersion: 'stream_exists' });
      expect(tx.writes()[0]?.expectedVersion).toBe(2);
    });

    it('nothing reaches the store or its subscribers from the transaction itself (the committer writes)', async () => {
      const store = await storeWith('key-1', 1);
      const seen: string[] = [];
      const subscription = store.subscribeToAll({}, { onEvent: (e) => void seen.push(e.type) });
      const tx = new CallTransaction(store);

      await tx.appendToStream('key-1', [event('Buffered')], { expectedVersion: 0 });
      await tx.appendToStream('key-2', [event('Buffered')], { expectedVersion: 'no_stream' });
      await tx.committed();
      await new Promise((resolve) => setImmediate(resolve));

      expect((await store.readStream('key-1')).events.map((e) => e.type)).toEqual(['Stored0']);
      expect((await store.readStream('key-2')).currentVersion).toBe(-1);
      expect(seen).toEqual(['Stored0']);
      await subscription.stop();
    });
  });

  describe('hooks and settling', () => {
    it('afterCommit hooks run only after committed(), in order, and never on abort', async () => {
      const committedTx = new CallTransaction(new InMemoryEventStore());
      const ran: string[] = [];
      committedTx.afterCommit(() => void ran.push('first'));
      committedTx.afterCommit(async () => {
        await Promise.resolve();
        ran.push('second');
      });
      expect(ran).toEqual([]);

      await committedTx.committed();
      expect(ran).toEqual(['first', 'second']);

      const abortedTx = new CallTransaction(new InMemoryEventStore());
      abortedTx.afterCommit(() => void ran.push('after abort'));
      await abortedTx.aborted();
      expect(ran).toEqual(['first', 'second']);
    });

    it('onAbort hooks run on aborted() and not on committed()', async () => {
      const ran: string[] = [];
      const aborted = new CallTransaction(new InMemoryEventStore());
      aborted.onAbort(() => void ran.push('discard material'));
      const committed = new CallTransaction(new InMemoryEventStore());
      committed.onAbort(() => void ran.push('must not run'));

      await committed.committed();
      expect(ran).toEqual([]);
      await aborted.aborted();
      expect(ran).toEqual(['discard material']);
    });

    it('a failing hook does not stop the others nor fail the commit', async () => {
      const tx = new CallTransaction(new InMemoryEventStore());
      const ran: string[] = [];
      tx.afterCommit(() => {
        throw new Error('cache down');
      });
      tx.afterCommit(() => void ran.push('notified'));

      await expect(tx.committed()).resolves.toBeUndefined();
      expect(ran).toEqual(['notified']);
    });

    it('finishedWithoutWrites runs the afterCommit hooks', async () => {
      const tx = new CallTransaction(new InMemoryEventStore());
      const ran: string[] = [];
      tx.afterCommit(() => void ran.push('cache put'));
      await tx.finishedWithoutWrites();
      expect(ran).toEqual(['cache put']);
    });

    it.each([
      ['committed', (tx: CallTransaction) => tx.committed()],
      ['aborted', (tx: CallTransaction) => tx.aborted()],
    ])('settled stays pending while open and resolves once %s', async (_, finish) => {
      const tx = new CallTransaction(new InMemoryEventStore());
      let settled = false;
      void tx.settled.then(() => (settled = true));
      await new Promise((resolve) => setImmediate(resolve));
      expect(settled).toBe(false);
      expect(tx.open).toBe(true);

      await finish(tx);
      await tx.settled;

      expect(settled).toBe(true);
      expect(tx.open).toBe(false);
    });
  });

  describe('the call-scoped functions', () => {
    it('afterCommit outside a transaction runs the hook at once', async () => {
      const ran: string[] = [];
      await afterCommit(() => void ran.push('now'));
      expect(ran).toEqual(['now']);
    });

    it('afterCommit inside a transaction waits for its commit; onAbort waits for its abort', async () => {
      const ran: string[] = [];
      const tx = new CallTransaction(new InMemoryEventStore());

      await withTransaction(tx, async () => {
        await afterCommit(() => void ran.push('after commit'));
        onAbort(() => void ran.push('on abort'));
      });
      expect(ran).toEqual([]);

      await tx.committed();
      expect(ran).toEqual(['after commit']);
    });

    it('onAbort outside a transaction does nothing', async () => {
      const ran: string[] = [];
      onAbort(() => void ran.push('never'));
      await new Promise((resolve) => setImmediate(resolve));
      expect(ran).toEqual([]);
    });

    it('currentTransaction is the open transaction of this call only, and none once it is settled', async () => {
      const tx = new CallTransaction(new InMemoryEventStore());
      expect(currentTransaction()).toBeUndefined();

      const inside = await withTransaction(tx, async () => currentTransaction());
      expect(inside).toBe(tx);

      await tx.aborted();
      expect(await withTransaction(tx, async () => currentTransaction())).toBeUndefined();
    });

    it('concurrent calls each see their own transaction', async () => {
      const a = new CallTransaction(new InMemoryEventStore());
      const b = new CallTransaction(new InMemoryEventStore());
      const seen = await Promise.all([
        withTransaction(a, async () => {
          await new Promise((resolve) => setTimeout(resolve, 5));
          return currentTransaction();
        }),
        withTransaction(b, async () => currentTransaction()),
      ]);
      expect(seen[0]).toBe(a);
      expect(seen[1]).toBe(b);
    });

    it('committedView is false only for a stream the current call has written', async () => {
      const tx = new CallTransaction(await storeWith('key-1', 1));

      const views = await withTransaction(tx, async () => {
        const before = committedView('key-1');
        await tx.appendToStream('key-1', [event()], { expectedVersion: 0 });
        return { before, written: committedView('key-1'), other: committedView('key-2') };
      });

      expect(views).toEqual({ before: true, written: false, other: true });
      expect(committedView('key-1')).toBe(true);
      await tx.committed();
      expect(await withTransaction(tx, async () => committedView('key-1'))).toBe(true);
    });
  });
});

describe('CallScopedEventStore', () => {
  it('inside an open transaction, writes are buffered in it and reads see them; the store is untouched', async () => {
    const store = await storeWith('key-1', 1);
    const scoped = new CallScopedEventStore(store);
    const tx = new CallTransaction(store);

    const read = await withTransaction(tx, async () => {
      await scoped.appendToStream('key-1', [event('Buffered')], { expectedVersion: 0 });
      return scoped.readStream('key-1');
    });

    expect(read.events.map((e) => e.type)).toEqual(['Stored0', 'Buffered']);
    expect(tx.writes().map((w) => w.streamId)).toEqual(['key-1']);
    expect((await store.readStream('key-1')).currentVersion).toBe(0);
    expect((await scoped.readStream('key-1')).currentVersion).toBe(0);
  });

  it('outside a transaction, writes go straight to the store', async () => {
    const store = new InMemoryEventStore();
    const scoped = new CallScopedEventStore(store);

    const appended = await scoped.appendToStream('key-1', [event('Direct')], { expectedVersion: 'no_stream' });

    expect(appended.lastGlobalPosition).toBe(1n);
    expect((await store.readStream('key-1')).events.map((e) => e.type)).toEqual(['Direct']);
  });

  it('once the transaction is settled, writes of the same call go straight to the store again', async () => {
    const store = new InMemoryEventStore();
    const scoped = new CallScopedEventStore(store);
    const tx = new CallTransaction(store);

    await withTransaction(tx, async () => {
      await tx.committed();
      await scoped.appendToStream('key-1', [event('Late')], { expectedVersion: 'no_stream' });
    });

    expect(tx.hasWrites()).toBe(false);
    expect((await store.readStream('key-1')).events.map((e) => e.type)).toEqual(['Late']);
  });

  it('subscriptions see only committed events', async () => {
    const store = new InMemoryEventStore();
    const scoped = new CallScopedEventStore(store);
    const seen: string[] = [];
    const subscription = scoped.subscribeToAll({}, { onEvent: (e) => void seen.push(e.type) });
    const tx = new CallTransaction(store);

    await withTransaction(tx, () => scoped.appendToStream('key-1', [event('Buffered')], { expectedVersion: 'no_stream' }));
    await scoped.appendToStream('key-2', [event('Direct')], { expectedVersion: 'no_stream' });
    await new Promise((resolve) => setTimeout(resolve, 10));

    expect(seen).toEqual(['Direct']);
    await subscription.stop();
  });
});
