import { type Decider, type EventCodec, idOfStream } from '@kms/domain';
import type { EventStore, StoredEvent } from '@kms/event-store';
import { committedView } from '../changes/call-transaction';
import { loadAggregate } from '../changes/handle-command';

/**
 * Current state of streams with a given prefix, folded in memory from a subscription (see followStore)
 * and from this process's own committed writes. Keys, identities and approvals are read on every call
 * (crypto, authentication) or listed, so they are served from memory; a stream not in memory is loaded
 * from the store. Only committed state is kept: inside a call that wrote a stream, reads of it go to
 * the call's transaction and are not cached.
 *
 * Unbounded (identities, approvals), it holds every stream the subscription delivered since the start.
 * With a `capacity` (keys), it holds the most recently used streams only (least recently used evicted):
 * the subscription then updates the streams held and skips the others, which a load reads from the store.
 */
export class AggregateCache<C, E, S> {
  /** Map order is recency order when bounded: a hit moves the entry to the end, the first is evicted. */
  private readonly entries = new Map<string, { state: S; version: number }>();
  /** Streams being read from the store, with the newest version the subscription delivered meanwhile. */
  private readonly reading = new Map<string, { reads: number; seen: number }>();

  constructor(
    private readonly store: EventStore,
    private readonly prefix: string,
    private readonly decider: Decider<C, E, S>,
    private readonly codec: EventCodec<E>,
    /** States that do not count as existing (e.g. a key not created): never cached. */
    private readonly exists: (state: S) => boolean = () => true,
    /** Most streams held; unbounded when absent. */
    private readonly capacity?: number,
  ) {
    if (capacity !== undefined && !(Number.isInteger(capacity) && capacity > 0)) throw new RangeError('capacity must be a whole number of at least 1');
  }

  /** The streams it folds, for followStore to subscribe to them only. */
  get streamPrefix(): string {
    return this.prefix;
  }

  /** Apply an event from the subscription. Idempotent by stream version. */
  apply(e: StoredEvent): void {
    const id = idOfStream(this.prefix, e.streamId);
    if (id === undefined || !this.codec.accepts(e.type)) return;
    const current = this.entries.get(id);
    const read = this.reading.get(id);
    if (read) read.seen = Math.max(read.seen, e.streamVersion);
    // Bounded: a stream not held is read from the store when it is used.
    if (!current && this.capacity !== undefined) return;
    const version = current?.version ?? -1;
    if (e.streamVersion <= version) return;
    if (e.streamVersion !== version + 1) {
      // Missed events (e.g. a write of this process raced the subscription): read the stream again.
      this.entries.delete(id);
      void this.read(id).catch(() => undefined); // the next load reads it again
      return;
    }
    const next = this.decider.evolve(current?.state ?? this.decider.initialState(), this.codec.parse(e));
    if (this.exists(next)) this.set(id, { state: next, version: e.streamVersion });
  }

  /** Record a state this process committed. */
  put(id: string, state: S, version: number): void {
    if (!this.exists(state)) return;
    const current = this.entries.get(id);
    if (!current || current.version < version) this.set(id, { state, version });
  }

  /** State and stream version, from memory or the store. */
  async load(id: string): Promise<{ state: S; version: number }> {
    return this.held(id) ?? this.read(id);
  }

  /**
   * State and stream version when memory holds them as a committed view (as `load` would answer
   * without reading the store), now the most recently used; undefined when `load` must read.
   */
  held(id: string): { state: S; version: number } | undefined {
    const hit = committedView(this.prefix + id) ? this.entries.get(id) : undefined;
    if (hit && this.capacity !== undefined) this.set(id, hit); // now the most recently used
    return hit;
  }

  /** The state held for a stream, if any, without reading the store or changing recency. */
  peek(id: string): { state: S; version: number } | undefined {
    return this.entries.get(id);
  }

  /** How many streams are held. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Fresh state from the store before a write (inside a call: with the call's own writes). The cache
   * keeps only committed state: the call's writes reach it after commit.
   */
  reload(id: string): Promise<{ state: S; version: number }> {
    return this.read(id);
  }

  private async read(id: string): Promise<{ state: S; version: number }> {
    const read = this.reading.get(id) ?? { reads: 0, seen: -1 };
    read.reads++;
    this.reading.set(id, read);
    let loaded: { state: S; version: number };
    try {
      loaded = await loadAggregate(this.store, this.decider, this.codec, this.prefix + id);
    } finally {
      if (--read.reads === 0) this.reading.delete(id);
    }
    const seen = read.seen;
    // An event the subscription delivered during the read, newer than what was read, was skipped (the
    // stream was not held): caching the older read would hide it until the stream's next event.
    if (loaded.version >= 0 && seen <= loaded.version && committedView(this.prefix + id)) this.put(id, loaded.state, loaded.version);
    return loaded;
  }

  private set(id: string, entry: { state: S; version: number }): void {
    if (this.capacity !== undefined) this.entries.delete(id);
    this.entries.set(id, entry);
    if (this.capacity !== undefined && this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  all(): S[] {
    return [...this.entries.values()].map((e) => e.state);
  }
}
