import { randomUUID } from 'node:crypto';
import {
  WrongExpectedVersionError,
  type AppendResult,
  type EventStore,
  type EventSubscription,
  type ExpectedVersion,
  type NewEvent,
  type StoredEvent,
  type SubscriptionHandler,
} from '../event-store.port';
import { SEAL_METADATA_KEY } from '../seal/event-seal';

/** One adapter instance under test, and how to release it. */
export interface EventStoreHarness {
  store: EventStore;
  /** Closes the store and frees what the factory made (pool, schema, client). */
  cleanup(): Promise<void>;
}

export interface EventStoreContractOptions {
  /** How long a subscription may take to deliver what a test waits for. Default 10 s. */
  deliveryTimeoutMs?: number;
  /**
   * False when this run cannot subscribe from the store's very start, so the one test that does is
   * not part of it (a sealed store on a server shared with other suites refuses their events, as it
   * must): the adapter's unsealed run of the suite has that test. Default true.
   */
  subscribesFromStart?: boolean;
  /** The store seals what it appends: read-back metadata is what was written plus the seal. */
  sealed?: boolean;
}

/**
 * The behaviour every EventStore adapter must show (STYLE.md 4). Call it at the top level of an adapter's
 * spec file: `eventStoreContract('PostgresEventStore', async () => ({ store, cleanup }))`.
 * The factory runs once per suite; every test uses fresh stream ids, so the store may already hold
 * events, including ones written by other suites.
 */
export function eventStoreContract(name: string, factory: () => Promise<EventStoreHarness>, options: EventStoreContractOptions = {}): void {
  const deliveryTimeoutMs = options.deliveryTimeoutMs ?? 10_000;

  describe(`${name} satisfies the EventStore contract`, () => {
    let harness: EventStoreHarness | undefined;
    const open: EventSubscription[] = [];

    function store(): EventStore {
      if (!harness) throw new Error('the event store factory failed; see beforeAll');
      return harness.store;
    }

    function subscribe(fromPosition: bigint | undefined, recorder: Recorder): EventSubscription {
      const subscription = store().subscribeToAll(fromPosition === undefined ? {} : { fromPosition }, recorder);
      open.push(subscription);
      return subscription;
    }

    function subscribeTo(streamPrefixes: readonly string[], fromPosition: bigint | undefined, recorder: Recorder): EventSubscription {
      const subscription = store().subscribeToAll({ streamPrefixes, ...(fromPosition === undefined ? {} : { fromPosition }) }, recorder);
      open.push(subscription);
      return subscription;
    }

    /** Append one event to each stream, in this order; the ids of the events. */
    async function appendEach(streamIds: readonly string[]): Promise<string[]> {
      const ids: string[] = [];
      for (const streamId of streamIds) {
        const event = keyEvent('KeyUsed');
        await append(streamId, [event], 'any');
        ids.push(event.id);
      }
      return ids;
    }

    async function append(streamId: string, events: NewEvent[], expectedVersion: ExpectedVersion): Promise<AppendResult> {
      return store().appendToStream(streamId, events, { expectedVersion });
    }

    beforeAll(async () => {
      harness = await factory();
    });

    afterEach(async () => {
      await Promise.all(open.splice(0).map((s) => s.stop()));
    });

    afterAll(async () => {
      await harness?.cleanup();
    });

    describe('appendToStream', () => {
      it("creates a stream with 'no_stream' and reports the last version and position", async () => {
        const streamId = newStreamId();
        const events = [keyEvent('KeyCreated'), keyEvent('KeyVersionCreated')];

        const result = await append(streamId, events, 'no_stream');

        expect(result.nextExpectedVersion).toBe(1);
        const read = await store().readStream(streamId);
        expect(read.currentVersion).toBe(1);
        expect(read.events.map((e) => e.id)).toEqual(events.map((e) => e.id));
        expect(result.lastGlobalPosition).toBe(read.events[1]?.globalPosition);
      });

      it('appends when the expected version is exactly the current version', async () => {
        const streamId = newStreamId();
        const first = await append(streamId, [keyEvent('KeyCreated')], 'no_stream');

        const second = await append(streamId, [keyEvent('KeyVersionCreated'), keyEvent('PrimaryVersionChanged')], first.nextExpectedVersion);
        const third = await append(streamId, [keyEvent('KeyDisabled')], second.nextExpectedVersion);

        expect([first.nextExpectedVersion, second.nextExpectedVersion, third.nextExpectedVersion]).toEqual([0, 2, 3]);
        expect((await store().readStream(streamId)).currentVersion).toBe(3);
      });

      it('rejects a stale or future expected version with the actual version and writes nothing', async () => {
        const streamId = newStreamId();
        await append(streamId, [keyEvent('KeyCreated'), keyEvent('KeyVersionCreated'), keyEvent('KeyEnabled')], 'no_stream');

        for (const expected of [1, 5]) {
          const error = await rejectionOf(append(streamId, [keyEvent('KeyDisabled')], expected));
          expect(error).toBeInstanceOf(WrongExpectedVersionError);
          expect(error).toMatchObject({ streamId, expected, actual: 2 });
        }
        expect((await store().readStream(streamId)).events).toHaveLength(3);
      });

      it("rejects 'no_stream' when the stream exists", async () => {
        const streamId = newStreamId();
        await append(streamId, [keyEvent('KeyCreated'), keyEvent('KeyVersionCreated')], 'no_stream');

        const error = await rejectionOf(append(streamId, [keyEvent('KeyCreated')], 'no_stream'));

        expect(error).toBeInstanceOf(WrongExpectedVersionError);
        expect(error).toMatchObject({ streamId, expected: 'no_stream', actual: 1 });
        expect((await store().readStream(streamId)).events).toHaveLength(2);
      });

      it("rejects 'stream_exists' when the stream is missing, and accepts it once it exists", async () => {
        const streamId = newStreamId();

        const error = await rejectionOf(append(streamId, [keyEvent('KeyDisabled')], 'stream_exists'));
        expect(error).toBeInstanceOf(WrongExpectedVersionError);
        expect(error).toMatchObject({ streamId, expected: 'stream_exists', actual: -1 });
        expect((await store().readStream(streamId)).currentVersion).toBe(-1);

        await append(streamId, [keyEvent('KeyCreated')], 'no_stream');
        const result = await append(streamId, [keyEvent('KeyDisabled')], 'stream_exists');
        expect(result.nextExpectedVersion).toBe(1);
      });

      it("appends with 'any' whether or not the stream exists", async () => {
        const streamId = newStreamId();

        const created = await append(streamId, [keyEvent('KeyCreated')], 'any');
        const extended = await append(streamId, [keyEvent('KeyDisabled'), keyEvent('KeyEnabled')], 'any');

        expect([created.nextExpectedVersion, extended.nextExpectedVersion]).toEqual([0, 2]);
        expect((await store().readStream(streamId)).events.map((e) => e.type)).toEqual(['KeyCreated', 'KeyDisabled', 'KeyEnabled']);
      });

      it('rejects an empty list of events', async () => {
        await expect(append(newStreamId(), [], 'any')).rejects.toThrow(RangeError);
      });

      it('lets exactly one of many concurrent appends with the same expected version win', async () => {
        const streamId = newStreamId();
        await append(streamId, [keyEvent('KeyCreated')], 'no_stream');
        const attempts = Array.from({ length: 10 }, () => [keyEvent('KeyVersionCreated'), keyEvent('PrimaryVersionChanged')]);

        const outcomes = await Promise.allSettled(attempts.map((events) => append(streamId, events, 0)));

        const winners = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
        expect(winners).toHaveLength(1);
        for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(WrongExpectedVersionError);
        const read = await store().readStream(streamId);
        expect(read.currentVersion).toBe(2);
        expect(read.events.slice(1).map((e) => e.id)).toEqual(attempts[winners[0] ?? -1]?.map((e) => e.id));
      });

      it("lets exactly one of many concurrent 'no_stream' appends create the stream", async () => {
        const streamId = newStreamId();

        const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => append(streamId, [keyEvent('KeyCreated')], 'no_stream')));

        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        expect((await store().readStream(streamId)).events).toHaveLength(1);
      });
    });

    describe('readStream', () => {
      it('returns events in order with versions 0..n-1 and the data and metadata as written', async () => {
        const streamId = newStreamId();
        const events: NewEvent[] = [
          keyEvent('KeyCreated', {
            keyId: streamId,
            labels: { team: 'payments', 'cost-centre': '42' },
            rotationPeriodDays: 90,
            nested: { list: [1, 'two', { three: true }], empty: {}, nothing: null },
            text: 'Grüße, 鍵, "quoted" \\ back\nslash',
          }),
          keyEvent('KeyVersionCreated', { keyId: streamId, version: 1, ratio: 0.25, negative: -7 }),
          keyEvent('KeyDisabled', {}),
        ];
        await append(streamId, events.slice(0, 2), 'no_stream');
        await append(streamId, events.slice(2), 1);

        const read = await store().readStream(streamId);

        expect(read.currentVersion).toBe(2);
        expect(read.events.map((e) => e.streamVersion)).toEqual([0, 1, 2]);
        read.events.forEach((stored, i) => {
          const written = events[i];
          expect(stored).toMatchObject({ streamId, id: written?.id, type: written?.type });
          expect(stored.data).toEqual(written?.data);
          const seal = { [SEAL_METADATA_KEY]: expect.objectContaining({ hash: expect.stringMatching(/^[0-9a-f]{64}$/) }) };
          expect(stored.metadata).toEqual(options.sealed ? { ...written?.metadata, ...seal } : written?.metadata);
          expect(stored.recordedAt).toBeInstanceOf(Date);
          expect(typeof stored.globalPosition).toBe('bigint');
        });
      });

      it('reports a missing stream as empty with version -1', async () => {
        expect(await store().readStream(newStreamId())).toEqual({ events: [], currentVersion: -1 });
      });

      it('gives strictly increasing global positions across streams in commit order', async () => {
        const a = newStreamId();
        const b = newStreamId();

        const a1 = await append(a, [keyEvent('KeyCreated'), keyEvent('KeyVersionCreated')], 'no_stream');
        const b1 = await append(b, [keyEvent('KeyCreated')], 'no_stream');
        const a2 = await append(a, [keyEvent('KeyDisabled')], a1.nextExpectedVersion);

        const [readA, readB] = await Promise.all([store().readStream(a), store().readStream(b)]);
        const inCommitOrder = [readA.events[0], readA.events[1], readB.events[0], readA.events[2]].map((e) => e?.globalPosition);
        expect(isStrictlyIncreasing(inCommitOrder)).toBe(true);
        expect([a1.lastGlobalPosition, b1.lastGlobalPosition, a2.lastGlobalPosition]).toEqual([inCommitOrder[1], inCommitOrder[2], inCommitOrder[3]]);
      });
    });

    describe('subscribeToAll', () => {
      if (options.subscribesFromStart !== false) {
        it('from the start delivers every event in global order, calls onCaughtUp once, then delivers live events', async () => {
          const [s1, s2, s3] = [newStreamId(), newStreamId(), newStreamId()];
          const historic = [keyEvent('KeyCreated'), keyEvent('KeyVersionCreated'), keyEvent('KeyCreated'), keyEvent('KeyDisabled')];
          await append(s1, historic.slice(0, 2), 'no_stream');
          await append(s2, historic.slice(2, 3), 'no_stream');
          await append(s1, historic.slice(3), 1);
          const recorder = new Recorder([s1, s2, s3]);

          subscribe(undefined, recorder);
          await recorder.until(() => recorder.caughtUpCalls > 0, 'onCaughtUp', deliveryTimeoutMs);
          expect(recorder.ownIdsAtCaughtUp).toEqual(historic.map((e) => e.id));

          const live = [keyEvent('KeyEnabled'), keyEvent('KeyCreated')];
          await append(s2, live.slice(0, 1), 0);
          await append(s3, live.slice(1), 'no_stream');
          await recorder.until(() => recorder.own().length === 6, 'the live events', deliveryTimeoutMs);

          expect(recorder.own().map((e) => e.id)).toEqual([...historic, ...live].map((e) => e.id));
          expect(isStrictlyIncreasing(recorder.events.map((e) => e.globalPosition))).toBe(true);
          expect(recorder.caughtUpCalls).toBe(1);
          expect(recorder.errors).toEqual([]);
        });
      }

      it('from a position delivers only events after it (exclusive)', async () => {
        const streamId = newStreamId();
        const events = [keyEvent('KeyCreated'), keyEvent('KeyVersionCreated'), keyEvent('PrimaryVersionChanged')];
        await append(streamId, events, 'no_stream');
        const from = (await store().readStream(streamId)).events[1]?.globalPosition ?? -1n;
        const recorder = new Recorder([streamId]);

        subscribe(from, recorder);
        const live = keyEvent('KeyDisabled');
        await append(streamId, [live], 2);
        await recorder.until(() => recorder.own().length === 2, 'the event after the position and the live one', deliveryTimeoutMs);

        expect(recorder.own().map((e) => e.id)).toEqual([events[2]?.id, live.id]);
        expect(recorder.events.every((e) => e.globalPosition > from)).toBe(true);
      });

      it('calls onCaughtUp once even when nothing follows the position', async () => {
        const streamId = newStreamId();
        const { lastGlobalPosition } = await append(streamId, [keyEvent('KeyCreated')], 'no_stream');
        const recorder = new Recorder([streamId]);

        subscribe(lastGlobalPosition, recorder);

        await recorder.until(() => recorder.caughtUpCalls > 0, 'onCaughtUp', deliveryTimeoutMs);
        expect(recorder.own()).toEqual([]);
        expect(recorder.caughtUpCalls).toBe(1);
      });

      it('stops delivering after stop() resolves', async () => {
        const streamId = newStreamId();
        const { lastGlobalPosition: start } = await append(streamId, [keyEvent('KeyCreated')], 'no_stream');
        const stopped = new Recorder([streamId]);
        const subscription = subscribe(start, stopped);
        const first = keyEvent('KeyDisabled');
        await append(streamId, [first], 0);
        await stopped.until(() => stopped.own().length === 1, 'the first live event', deliveryTimeoutMs);

        await subscription.stop();
        const second = keyEvent('KeyEnabled');
        await append(streamId, [second], 1);
        // A second subscription proves the event was deliverable before we look at the stopped one.
        const control = new Recorder([streamId]);
        subscribe(start, control);
        await control.until(() => control.own().length === 2, 'the control subscription', deliveryTimeoutMs);
        await delay(100);

        expect(stopped.own().map((e) => e.id)).toEqual([first.id]);
      });

      it('stop() waits for the running handler call to finish', async () => {
        const streamId = newStreamId();
        const { lastGlobalPosition: start } = await append(streamId, [keyEvent('KeyCreated')], 'no_stream');
        const gate = deferred();
        let handlerFinished = false;
        const recorder = new Recorder([streamId], async (event) => {
          if (event.streamId !== streamId) return;
          await gate.promise;
          handlerFinished = true;
        });
        const subscription = subscribe(start, recorder);
        await append(streamId, [keyEvent('KeyDisabled')], 0);
        await recorder.until(() => recorder.own().length === 1, 'the handler to start', deliveryTimeoutMs);

        let stopResolved = false;
        const stopping = subscription.stop().then(() => {
          stopResolved = true;
        });
        await delay(50);
        expect(stopResolved).toBe(false);

        gate.resolve();
        await stopping;
        expect(handlerFinished).toBe(true);
      });

      it('awaits each handler call before the next one', async () => {
        const [a, b] = [newStreamId(), newStreamId()];
        const { lastGlobalPosition: start } = await append(a, [keyEvent('KeyCreated')], 'no_stream');
        let running = 0;
        let maxRunning = 0;
        const recorder = new Recorder([a, b], async () => {
          running += 1;
          maxRunning = Math.max(maxRunning, running);
          await delay(5);
          running -= 1;
        });

        subscribe(start, recorder);
        await Promise.all([
          append(a, [keyEvent('KeyDisabled'), keyEvent('KeyEnabled'), keyEvent('KeyDisabled')], 0),
          append(b, [keyEvent('KeyCreated'), keyEvent('KeyVersionCreated'), keyEvent('KeyEnabled')], 'no_stream'),
        ]);
        await recorder.until(() => recorder.own().length === 6, 'six events', deliveryTimeoutMs);

        expect(maxRunning).toBe(1);
        expect(isStrictlyIncreasing(recorder.events.map((e) => e.globalPosition))).toBe(true);
      });

      it('stops and reports through onError when the handler throws', async () => {
        const streamId = newStreamId();
        const { lastGlobalPosition: start } = await append(streamId, [keyEvent('KeyCreated')], 'no_stream');
        const failing = new Recorder([streamId], (event) => {
          if (event.type === 'ProjectionBroke') throw new Error('projection failed');
        });
        subscribe(start, failing);

        await append(streamId, [keyEvent('KeyDisabled')], 0);
        await append(streamId, [keyEvent('ProjectionBroke')], 1);
        await append(streamId, [keyEvent('KeyEnabled')], 2);
        await failing.until(() => failing.errors.length > 0, 'onError', deliveryTimeoutMs);
        const control = new Recorder([streamId]);
        subscribe(start, control);
        await control.until(() => control.own().length === 3, 'the control subscription', deliveryTimeoutMs);
        await delay(100);

        expect(failing.errors.map((e) => e.message)).toEqual(['projection failed']);
        expect(failing.own().map((e) => e.type)).toEqual(['KeyDisabled', 'ProjectionBroke']);
      });

      it('sees every event exactly once and in order while many streams are appended concurrently', async () => {
        const { lastGlobalPosition: start } = await append(newStreamId(), [keyEvent('KeyCreated')], 'no_stream');
        const streams = Array.from({ length: 20 }, () => newStreamId());
        const recorder = new Recorder(streams);
        subscribe(start, recorder);

        // Many small transactions racing each other is what exposes positions that become visible out of order.
        await Promise.all(
          streams.map(async (streamId) => {
            let expected: ExpectedVersion = 'no_stream';
            for (let i = 0; i < 5; i += 1) {
              expected = (await append(streamId, [keyEvent('KeyUsed'), keyEvent('KeyUsed')], expected)).nextExpectedVersion;
            }
          }),
        );
        const written = await Promise.all(streams.map((s) => store().readStream(s)));
        const expectedIds = new Set(written.flatMap((r) => r.events.map((e) => e.id)));
        await recorder.until(
          () => recorder.own().length >= expectedIds.size,
          () => `all ${expectedIds.size} events (got ${recorder.own().length})`,
          deliveryTimeoutMs,
        );

        const ownIds = recorder.own().map((e) => e.id);
        expect(new Set(ownIds)).toEqual(expectedIds);
        expect(ownIds).toHaveLength(expectedIds.size);
        expect(isStrictlyIncreasing(recorder.events.map((e) => e.globalPosition))).toBe(true);
        for (const streamId of streams) {
          expect(recorder.own().filter((e) => e.streamId === streamId).map((e) => e.streamVersion)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        }
      });
    });

    describe('subscribeToAll with streamPrefixes', () => {
      it('from the start delivers only the matching streams, in global order, calls onCaughtUp once, then delivers live ones', async () => {
        const root = uniqueRoot();
        const [identity, approval, key, identityName] = [`${root}identity-1`, `${root}approval-1`, `${root}key-1`, `${root}identityname-1`];
        const historic = await appendEach([identity, key, approval, identityName, identity, approval]);
        const recorder = new Recorder([identity, approval]);

        subscribeTo([`${root}identity-`, `${root}approval-`], undefined, recorder);
        await recorder.until(() => recorder.caughtUpCalls > 0, 'onCaughtUp', deliveryTimeoutMs);
        expect(recorder.ownIdsAtCaughtUp).toEqual([historic[0], historic[2], historic[4], historic[5]]);

        const live = await appendEach([key, approval, identityName, identity]);
        await recorder.until(() => recorder.own().length === 6, 'the live events', deliveryTimeoutMs);

        // Nothing else was delivered, not even other suites' events: only what the prefixes match.
        expect(recorder.events.map((e) => e.id)).toEqual([historic[0], historic[2], historic[4], historic[5], live[1], live[3]]);
        expect(isStrictlyIncreasing(recorder.events.map((e) => e.globalPosition))).toBe(true);
        expect(recorder.caughtUpCalls).toBe(1);
        expect(recorder.errors).toEqual([]);
      });

      it('from a position delivers only the matching events after it (exclusive)', async () => {
        const root = uniqueRoot();
        const [a, b] = [`${root}a-1`, `${root}b-1`];
        await appendEach([a]);
        const from = (await store().readStream(a)).events[0]?.globalPosition ?? -1n;
        const ids = await appendEach([b, a, b, a]);
        const recorder = new Recorder([a, b]);

        subscribeTo([`${root}a-`], from, recorder);
        await recorder.until(() => recorder.caughtUpCalls > 0, 'onCaughtUp', deliveryTimeoutMs);
        const live = await appendEach([b, a]);
        await recorder.until(() => recorder.own().length === 3, 'the live event', deliveryTimeoutMs);

        expect(recorder.events.map((e) => e.id)).toEqual([ids[1], ids[3], live[1]]);
        expect(recorder.events.every((e) => e.globalPosition > from)).toBe(true);
      });

      it('calls onCaughtUp once when no stream matches, and delivers a matching event appended later', async () => {
        const root = uniqueRoot();
        await appendEach([`${root}other-1`, `${root}othe-1`]);
        const recorder = new Recorder([`${root}other-2`]);

        subscribeTo([`${root}other-2`], undefined, recorder);
        await recorder.until(() => recorder.caughtUpCalls > 0, 'onCaughtUp', deliveryTimeoutMs);
        expect(recorder.events).toEqual([]);

        const [later] = await appendEach([`${root}other-2`]);
        await recorder.until(() => recorder.own().length === 1, 'the matching live event', deliveryTimeoutMs);
        expect(recorder.events.map((e) => e.id)).toEqual([later]);
        expect(recorder.caughtUpCalls).toBe(1);
      });

      it("matches whole prefixes: 'key-' is not 'keyname-', 'identity-' is not 'identityname-'", async () => {
        const { lastGlobalPosition: from } = await append(newStreamId(), [keyEvent('KeyCreated')], 'no_stream');
        const id = randomUUID();
        const streams = [`keyname-${id}`, `key-${id}`, `identityname-${id}`, `identity-${id}`, `keyname${id}`, `identity${id}`];
        const ids = await appendEach(streams);
        const recorder = new Recorder(streams);

        // Other suites may append key- and identity- streams meanwhile: only this test's streams are compared.
        subscribeTo(['key-', 'identity-'], from, recorder);
        await recorder.until(() => recorder.own().length >= 2 && recorder.caughtUpCalls > 0, 'the key- and identity- events', deliveryTimeoutMs);

        expect(recorder.own().map((e) => e.id)).toEqual([ids[1], ids[3]]);
        expect(recorder.events.every((e) => e.streamId.startsWith('key-') || e.streamId.startsWith('identity-'))).toBe(true);
      });

      it('takes prefixes literally: %, _ and \\ are plain characters, case and non-ASCII count', async () => {
        const root = uniqueRoot();
        const prefix = `${root}50%_off\\-`;
        const matching = [`${prefix}1`, `${prefix}%`];
        const others = [`${root}50%Xoff\\-2`, `${root}50abc_off\\-3`, `${root}50%_offX-4`, `${root}50%_off\\`, `${root}50%_OFF\\-5`];
        const unicode = [`${root}鍵-1`, `${root}鍵name-1`, `${root}\u{10FFFF}-1`, `${root}\u{10FFFE}-1`, `${root}é-1`, `${root}e\u0301-1`];
        const ids = await appendEach([...others.slice(0, 2), matching[0] as string, ...others.slice(2), matching[1] as string, ...unicode]);
        const recorder = new Recorder([...matching, ...others, ...unicode]);

        subscribeTo([prefix, `${root}鍵-`, `${root}\u{10FFFF}`, `${root}é`], undefined, recorder);
        await recorder.until(() => recorder.caughtUpCalls > 0, 'onCaughtUp', deliveryTimeoutMs);

        expect(recorder.events.map((e) => e.streamId)).toEqual([matching[0], matching[1], unicode[0], unicode[2], unicode[4]]);
        expect(recorder.events.map((e) => e.id)).toEqual([ids[2], ids[6], ids[7], ids[9], ids[11]]);
      });

      it('refuses an empty list and an empty prefix with a RangeError naming streamPrefixes', () => {
        const handler = new Recorder([]);
        for (const streamPrefixes of [[], [''], ['key-', '']]) {
          expect(() => open.push(store().subscribeToAll({ streamPrefixes }, handler))).toThrow(RangeError);
          expect(() => open.push(store().subscribeToAll({ streamPrefixes }, handler))).toThrow(/streamPrefixes/);
        }
      });
    });
  });
}

/** A root no other test or suite uses, so a prefix under it matches this test's streams only. */
function uniqueRoot(): string {
  return `t${randomUUID().slice(0, 8)}`;
}

/** Records what a subscription delivers; `own()` keeps only this test's streams. */
class Recorder implements SubscriptionHandler {
  readonly events: StoredEvent[] = [];
  readonly errors: Error[] = [];
  caughtUpCalls = 0;
  ownIdsAtCaughtUp: string[] | undefined;
  private readonly streams: Set<string>;

  constructor(
    streams: string[],
    private readonly react: (event: StoredEvent) => Promise<void> | void = () => undefined,
  ) {
    this.streams = new Set(streams);
  }

  own(): StoredEvent[] {
    return this.events.filter((e) => this.streams.has(e.streamId));
  }

  async onEvent(event: StoredEvent): Promise<void> {
    this.events.push(event);
    await this.react(event);
  }

  onError(error: Error): void {
    this.errors.push(error);
  }

  onCaughtUp(): void {
    this.caughtUpCalls += 1;
    this.ownIdsAtCaughtUp ??= this.own().map((e) => e.id);
  }

  async until(condition: () => boolean, what: string | (() => string), timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      // A handler that failed stopped the subscription: waiting longer cannot help.
      if (this.errors.length > 0) throw this.errors[0];
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
      await delay(10);
    }
  }
}

function newStreamId(): string {
  return `key-${randomUUID()}`;
}

function keyEvent(type: string, data: Record<string, unknown> = { keyId: randomUUID() }): NewEvent {
  return { id: randomUUID(), type, data, metadata: { actor: 'contract-test', correlationId: randomUUID(), occurredAt: '2026-01-01T00:00:00.000Z' } };
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

function isStrictlyIncreasing(positions: Array<bigint | undefined>): boolean {
  let previous: bigint | undefined;
  for (const position of positions) {
    if (position === undefined || (previous !== undefined && position <= previous)) return false;
    previous = position;
  }
  return true;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
