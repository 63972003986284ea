import {
  checkStreamPrefixes,
  checkStreamsByPrefixRead,
  compareCodePoints,
  matchesStreamPrefixes,
  WrongExpectedVersionError,
  type AppendResult,
  type EventStore,
  type EventSubscription,
  type ExpectedVersion,
  type NewEvent,
  type ReadStreamResult,
  type StoredEvent,
  type SubscribeOptions,
  type StoredStreamReader,
  type StreamsByPrefixReader,
  type StreamsPage,
  type SubscriptionHandler,
  versionMatches,
} from './event-store.port';

/** Event store held in process memory: for tests and the single-process standalone mode. */
export class InMemoryEventStore implements EventStore, StoredStreamReader, StreamsByPrefixReader {
  private readonly log: StoredEvent[] = [];
  private readonly streams = new Map<string, StoredEvent[]>();
  private readonly subscriptions = new Set<InMemorySubscription>();

  async readStream(streamId: string): Promise<ReadStreamResult> {
    const events = this.streams.get(streamId) ?? [];
    return { events: events.map(copyEvent), currentVersion: events.length - 1 };
  }

  /** This store does not seal: the stream as stored is the stream as read. */
  async readStoredStream(streamId: string): Promise<StoredEvent[]> {
    return (this.streams.get(streamId) ?? []).map(copyEvent);
  }

  async headPosition(): Promise<bigint> {
    return BigInt(this.log.length);
  }

  async readStreamsByPrefix(prefix: string, options: { through: bigint; afterStreamId?: string; limit: number }): Promise<StreamsPage> {
    checkStreamsByPrefixRead(prefix, options.limit);
    const after = options.afterStreamId;
    const ids = [...this.streams.keys()]
      .filter((id) => id.startsWith(prefix) && (after === undefined || compareCodePoints(id, after) > 0))
      .sort(compareCodePoints);
    const streams: StoredEvent[][] = [];
    let events = 0;
    for (const id of ids) {
      if (streams.length > 0 && events >= options.limit) return { streams, next: (streams[streams.length - 1] as StoredEvent[])[0]?.streamId as string };
      const cut = (this.streams.get(id) ?? []).filter((e) => e.globalPosition <= options.through).map(copyEvent);
      if (cut.length === 0) continue;
      streams.push(cut);
      events += cut.length;
    }
    return { streams };
  }

  async appendToStream(streamId: string, events: NewEvent[], options: { expectedVersion: ExpectedVersion }): Promise<AppendResult> {
    if (events.length === 0) throw new RangeError('appendToStream needs at least one event');
    const stream = this.streams.get(streamId) ?? [];
    const actual = stream.length - 1;
    if (!versionMatches(options.expectedVersion, actual)) throw new WrongExpectedVersionError(streamId, options.expectedVersion, actual);

    // No await between the check and the write: this is what makes the append atomic here.
    const recordedAt = new Date();
    const stored = events.map(
      (event, i): StoredEvent => ({
        ...copyEvent(event),
        streamId,
        streamVersion: actual + 1 + i,
        globalPosition: BigInt(this.log.length + 1 + i),
        recordedAt,
      }),
    );
    this.log.push(...stored);
    this.streams.set(streamId, [...stream, ...stored]);
    for (const subscription of this.subscriptions) subscription.wake();

    const last = stored[stored.length - 1] as StoredEvent;
    return { nextExpectedVersion: last.streamVersion, lastGlobalPosition: last.globalPosition };
  }

  subscribeToAll(options: SubscribeOptions, handler: SubscriptionHandler): EventSubscription {
    const prefixes = checkStreamPrefixes(options.streamPrefixes);
    const subscription = new InMemorySubscription(this.log, clampPosition(options.fromPosition), prefixes, handler, (s) => this.subscriptions.delete(s));
    this.subscriptions.add(subscription);
    return subscription;
  }

  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
  }
}

function clampPosition(fromPosition: bigint | undefined): bigint {
  return fromPosition === undefined || fromPosition < 0n ? 0n : fromPosition;
}

/** A JSON round trip, so callers see the same copying and value rules as with a real store. */
function copyEvent<E extends NewEvent>(event: E): E {
  return { ...event, data: JSON.parse(JSON.stringify(event.data)), metadata: JSON.parse(JSON.stringify(event.metadata)) };
}

class InMemorySubscription implements EventSubscription {
  private stopped = false;
  private pendingWake = false;
  private waiter: (() => void) | undefined;
  private readonly done: Promise<void>;

  constructor(
    private readonly log: readonly StoredEvent[],
    private position: bigint,
    private readonly prefixes: readonly string[] | undefined,
    private readonly handler: SubscriptionHandler,
    private readonly onStopped: (s: InMemorySubscription) => void,
  ) {
    // Start on a later tick so the caller holds the subscription before the first delivery.
    this.done = Promise.resolve().then(() => this.run());
  }

  wake(): void {
    this.pendingWake = true;
    this.waiter?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.done;
  }

  private async run(): Promise<void> {
    let caughtUp = false;
    try {
      while (!this.stopped) {
        this.pendingWake = false;
        // Positions are 1-based indexes into the log.
        const next = this.log[Number(this.position)];
        if (next) {
          if (matchesStreamPrefixes(next.streamId, this.prefixes)) await this.handler.onEvent(copyEvent(next));
          this.position = next.globalPosition;
          continue;
        }
        if (!caughtUp) {
          caughtUp = true;
          this.handler.onCaughtUp?.();
        }
        await this.nextWake();
      }
    } catch (error) {
      this.stopped = true;
      this.handler.onError?.(error instanceof Error ? error : new Error(String(error)));
    } finally {
      this.onStopped(this);
    }
  }

  private nextWake(): Promise<void> {
    if (this.pendingWake || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiter = () => {
        this.waiter = undefined;
        resolve();
      };
    });
  }
}
