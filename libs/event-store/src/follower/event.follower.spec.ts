import { randomUUID } from 'node:crypto';
import type { EventStore, NewEvent } from '../event-store.port';
import { InMemoryEventStore } from '../in-memory-event-store';
import { type EventFollower, followEvents, type FollowerErrorInfo, type FollowOptions } from './event.follower';

const event = (type: string): NewEvent => ({ id: randomUUID(), type, data: {}, metadata: {} });

/** Append `n` events, one stream each, and return their global positions. */
async function append(store: EventStore, n: number): Promise<bigint[]> {
  const out: bigint[] = [];
  for (let i = 0; i < n; i++) out.push((await store.appendToStream(`s-${randomUUID()}`, [event(`E${i}`)], { expectedVersion: 'no_stream' })).lastGlobalPosition);
  return out;
}

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** The store, recording the position (and prefixes) each subscription started from. */
function recordingStore(store: EventStore): { store: EventStore; from: Array<bigint | undefined>; prefixes: Array<readonly string[] | undefined> } {
  const from: Array<bigint | undefined> = [];
  const prefixes: Array<readonly string[] | undefined> = [];
  return {
    from,
    prefixes,
    store: {
      readStream: (id) => store.readStream(id),
      appendToStream: (id, events, options) => store.appendToStream(id, events, options),
      close: () => store.close(),
      subscribeToAll: (options, handler) => {
        from.push(options.fromPosition);
        prefixes.push(options.streamPrefixes);
        return store.subscribeToAll(options, handler);
      },
    },
  };
}

const followers: EventFollower[] = [];
afterEach(async () => {
  await Promise.all(followers.splice(0).map((f) => f.stop()));
});

/** Options without a name (distributed over the union, so each handler shape keeps its own type). */
type Unnamed<T> = T extends unknown ? Omit<T, 'name'> : never;

function follow(store: EventStore, options: Unnamed<FollowOptions>): EventFollower {
  const follower = followEvents(store, { name: 'test', retry: { initialMs: 5, maxMs: 20 }, ...options });
  followers.push(follower);
  return follower;
}

describe('followEvents', () => {
  it('delivers every event in order from the start and resolves caughtUp() once they are handled', async () => {
    const store = new InMemoryEventStore();
    const positions = await append(store, 5);
    const seen: bigint[] = [];
    const follower = follow(store, { handle: (e) => void seen.push(e.globalPosition) });
    await follower.caughtUp();
    expect(seen).toEqual(positions);
    expect(follower.status()).toMatchObject({ state: 'live', caughtUp: true, position: positions[4], lastError: null, failures: 0 });

    const [live] = await append(store, 1);
    await until(() => seen.length === 6, 'the live event');
    expect(seen[5]).toBe(live);
  });

  it('starts after the position `from` gives (exclusive)', async () => {
    const store = new InMemoryEventStore();
    const positions = await append(store, 4);
    const seen: bigint[] = [];
    const follower = follow(store, { from: async () => positions[1], handle: (e) => void seen.push(e.globalPosition) });
    await follower.caughtUp();
    expect(seen).toEqual(positions.slice(2));
  });

  it('given a handler that throws on event N twice, then it backs off, resubscribes after N-1, delivers N again and goes on, the error showing meanwhile', async () => {
    const store = new InMemoryEventStore();
    const probe = recordingStore(store);
    const positions = await append(store, 5);
    const failOn = positions[2];
    let failuresLeft = 2;
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const attempts: bigint[] = [];
    const handled: bigint[] = [];
    const errors: Array<[string, FollowerErrorInfo]> = [];
    const follower = follow(probe.store, {
      handle: async (e) => {
        attempts.push(e.globalPosition);
        if (e.globalPosition === failOn && failuresLeft > 0) {
          failuresLeft--;
          // The second failure waits for the test, so it can read the status in between.
          if (failuresLeft === 0) await held;
          throw new Error(`cannot handle ${e.globalPosition}`);
        }
        handled.push(e.globalPosition);
      },
      onError: (error, info) => void errors.push([error.message, info]),
    });

    await until(() => errors.length === 1 && attempts.filter((p) => p === failOn).length === 2, 'the first failure and the second attempt');
    expect(follower.status()).toMatchObject({ state: 'retrying', lastError: `cannot handle ${failOn}`, failures: 1, position: positions[1], caughtUp: false });
    release();
    await follower.caughtUp();

    expect(handled).toEqual(positions);
    expect(attempts).toEqual([positions[0], positions[1], failOn, failOn, failOn, positions[3], positions[4]]);
    expect(errors).toEqual([
      [`cannot handle ${failOn}`, { stage: 'follow', attempt: 1 }],
      [`cannot handle ${failOn}`, { stage: 'follow', attempt: 2 }],
    ]);
    // Each resubscription starts after the last completed event: N is delivered again, N-1 is not.
    expect(probe.from).toEqual([undefined, positions[1], positions[1]]);
    expect(follower.status()).toMatchObject({ state: 'live', lastError: null, failures: 0, position: positions[4] });
  });

  it('waits longer after each failure in a row, up to maxMs', async () => {
    const store = new InMemoryEventStore();
    await append(store, 1);
    const at: number[] = [];
    follow(store, {
      retry: { initialMs: 20, maxMs: 80 },
      handle: () => {
        at.push(Date.now());
        throw new Error('always');
      },
    });
    await until(() => at.length === 6, 'six attempts');
    const gaps = at.slice(1).map((t, i) => t - (at[i] as number));
    // 20, 40, 80, 80, 80 ms (timers never fire early; a little scheduling slack is allowed above).
    expect(gaps[0]).toBeGreaterThanOrEqual(19);
    expect(gaps[1]).toBeGreaterThanOrEqual(39);
    expect(gaps[2]).toBeGreaterThanOrEqual(79);
    expect(gaps[4]).toBeGreaterThanOrEqual(79);
    expect(gaps[4]).toBeLessThan(80 * 4);
  });

  it('stop() during a long backoff returns promptly and rejects a pending caughtUp()', async () => {
    const store = new InMemoryEventStore();
    await append(store, 1);
    const errors: string[] = [];
    const follower = follow(store, {
      retry: { initialMs: 60_000, maxMs: 60_000 },
      handle: () => {
        throw new Error('broken');
      },
      onError: (e) => void errors.push(e.message),
    });
    await until(() => errors.length === 1, 'the first failure');
    const started = Date.now();
    await follower.stop();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(follower.status().state).toBe('stopped');
    await expect(follower.caughtUp()).rejects.toThrow('stopped before it caught up');
  });

  it('never delivers an event again once its handler completed, even if the store does', async () => {
    const store = new InMemoryEventStore();
    const positions = await append(store, 3);
    // A store that always replays from the start, whatever position it is asked for.
    const replaying: EventStore = { ...recordingStore(store).store, subscribeToAll: (_options, handler) => store.subscribeToAll({}, handler) };
    let failed = false;
    const handled: bigint[] = [];
    const follower = follow(replaying, {
      handle: (e) => {
        if (e.globalPosition === positions[2] && !failed) {
          failed = true;
          throw new Error('once');
        }
        handled.push(e.globalPosition);
      },
    });
    await follower.caughtUp();
    expect(handled).toEqual(positions);
  });

  it('with retry false, stops at the first failure and rejects caughtUp() with it (one-shot reads)', async () => {
    const store = new InMemoryEventStore();
    await append(store, 2);
    const follower = follow(store, {
      retry: false,
      handle: () => {
        throw new Error('bad event');
      },
    });
    await expect(follower.caughtUp()).rejects.toThrow('bad event');
    expect(follower.status()).toMatchObject({ state: 'failed', lastError: 'bad event' });
  });

  it('reads `from` again when it failed, and follows once it answers', async () => {
    const store = new InMemoryEventStore();
    const positions = await append(store, 3);
    let calls = 0;
    const seen: bigint[] = [];
    const follower = follow(store, {
      from: async () => {
        calls++;
        if (calls < 3) throw new Error('checkpoint table unreachable');
        return positions[0];
      },
      handle: (e) => void seen.push(e.globalPosition),
    });
    await follower.caughtUp();
    expect(calls).toBe(3);
    expect(seen).toEqual(positions.slice(1));
  });

  describe('batches', () => {
    it('hands over full batches, then the rest at catch-up, and a live event after lingerMs', async () => {
      const store = new InMemoryEventStore();
      const positions = await append(store, 7);
      const batches: Array<{ positions: bigint[]; atHead: boolean }> = [];
      const follower = follow(store, {
        batch: { size: 3, lingerMs: 10 },
        handleBatch: (events, context) => void batches.push({ positions: events.map((e) => e.globalPosition), atHead: context.atHead() }),
      });
      await follower.caughtUp();
      expect(batches).toEqual([
        { positions: positions.slice(0, 3), atHead: false },
        { positions: positions.slice(3, 6), atHead: false },
        { positions: positions.slice(6), atHead: true },
      ]);
      const [live] = await append(store, 1);
      await until(() => batches.length === 4, 'the live batch');
      expect(batches[3]).toEqual({ positions: [live], atHead: true });
      expect(follower.status().position).toBe(live);
    });

    it('given a failed batch, then it resubscribes after the last handled batch and hands the same events over again', async () => {
      const store = new InMemoryEventStore();
      const probe = recordingStore(store);
      const positions = await append(store, 6);
      let failed = false;
      const handled: bigint[][] = [];
      const follower = follow(probe.store, {
        batch: { size: 2, lingerMs: 5 },
        handleBatch: (events) => {
          const batch = events.map((e) => e.globalPosition);
          if (batch[0] === positions[2] && !failed) {
            failed = true;
            throw new Error('transaction rolled back');
          }
          handled.push(batch);
        },
      });
      await follower.caughtUp();
      expect(handled).toEqual([positions.slice(0, 2), positions.slice(2, 4), positions.slice(4, 6)]);
      expect(probe.from).toEqual([undefined, positions[1]]);
    });
  });

  describe('checkpoint', () => {
    it('saves after catch-up, at most every everyMs while events arrive, and on stop', async () => {
      const store = new InMemoryEventStore();
      const positions = await append(store, 3);
      const saves: bigint[] = [];
      const follower = follow(store, { handle: () => undefined, checkpoint: { everyMs: 50, save: async (p) => void saves.push(p) } });
      await follower.caughtUp();
      await until(() => saves.length === 1, 'the save after catch-up');
      expect(saves).toEqual([positions[2]]);

      const live = await append(store, 3);
      await until(() => follower.status().position === live[2], 'the live events');
      // Three events, one save once everyMs passed.
      await until(() => saves.length === 2, 'the periodic save');
      expect(saves[1]).toBe(live[2]);
      const [last] = await append(store, 1);
      await until(() => follower.status().position === last, 'the last event');
      await follower.stop();
      expect(saves).toEqual([positions[2], live[2], last]);
      expect(follower.status()).toMatchObject({ checkpoint: last, checkpointError: null });
    });

    it('given saves that fail, then the failure is reported in the status and the save is retried until it succeeds', async () => {
      const store = new InMemoryEventStore();
      const positions = await append(store, 2);
      let failuresLeft = 2;
      const saved: bigint[] = [];
      const errors: Array<[string, FollowerErrorInfo]> = [];
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const follower = follow(store, {
        handle: () => undefined,
        onError: (e, info) => void errors.push([e.message, info]),
        checkpoint: {
          save: async (p) => {
            if (failuresLeft > 0) {
              failuresLeft--;
              if (failuresLeft === 0) await held;
              throw new Error('checkpoint table locked');
            }
            saved.push(p);
          },
        },
      });
      await follower.caughtUp();
      await until(() => errors.length === 1, 'the first failed save');
      expect(follower.status()).toMatchObject({ checkpoint: null, checkpointError: 'checkpoint table locked', state: 'live', lastError: null });
      release();
      await until(() => saved.length === 1, 'the retried save');
      expect(saved).toEqual([positions[1]]);
      expect(errors).toEqual([
        ['checkpoint table locked', { stage: 'checkpoint', attempt: 1 }],
        ['checkpoint table locked', { stage: 'checkpoint', attempt: 2 }],
      ]);
      expect(follower.status()).toMatchObject({ checkpoint: positions[1], checkpointError: null });
    });

    it('takes a start position from `from` as already saved, and does not save it again', async () => {
      const store = new InMemoryEventStore();
      const positions = await append(store, 2);
      const saves: bigint[] = [];
      const follower = follow(store, { from: () => positions[1], handle: () => undefined, checkpoint: { save: async (p) => void saves.push(p) } });
      await follower.caughtUp();
      await follower.stop();
      expect(saves).toEqual([]);
      expect(follower.status().checkpoint).toBe(positions[1]);
    });
  });

  it('with streamPrefixes, follows only those streams, on every resubscription too', async () => {
    const store = new InMemoryEventStore();
    const probe = recordingStore(store);
    const write = async (streamId: string) => (await store.appendToStream(streamId, [event('E')], { expectedVersion: 'any' })).lastGlobalPosition;
    const [a1, , b1, , a2] = [await write('a-1'), await write('c-1'), await write('b-1'), await write('ab-1'), await write('a-2')];
    let failed = false;
    const seen: bigint[] = [];
    const follower = follow(probe.store, {
      streamPrefixes: ['a-', 'b-'],
      handle: (e) => {
        if (e.globalPosition === b1 && !failed) {
          failed = true;
          throw new Error('once');
        }
        seen.push(e.globalPosition);
      },
    });
    await follower.caughtUp();
    const [, b2] = [await write('c-2'), await write('b-2')];
    await until(() => seen.length === 4, 'the live event');

    expect(seen).toEqual([a1, b1, a2, b2]);
    // The resubscription after the failure starts after a-1, with the same prefixes.
    expect(probe.from).toEqual([undefined, a1]);
    expect(probe.prefixes).toEqual([['a-', 'b-'], ['a-', 'b-']]);
    expect(follower.status()).toMatchObject({ position: b2, caughtUp: true });
  });

  it('refuses an empty list of prefixes or an empty prefix at once', () => {
    const store = new InMemoryEventStore();
    expect(() => followEvents(store, { name: 'x', handle: () => undefined, streamPrefixes: [] })).toThrow(/streamPrefixes/);
    expect(() => followEvents(store, { name: 'x', handle: () => undefined, streamPrefixes: [''] })).toThrow(RangeError);
  });

  it('refuses a retry whose bounds make no sense', () => {
    const store = new InMemoryEventStore();
    expect(() => followEvents(store, { name: 'x', handle: () => undefined, retry: { initialMs: 0, maxMs: 10 } })).toThrow(RangeError);
    expect(() => followEvents(store, { name: 'x', handle: () => undefined, retry: { initialMs: 50, maxMs: 10 } })).toThrow(RangeError);
  });
});

