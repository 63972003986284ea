import { type Decider, type EventCodec, idOfStream } from '@kms/domain';
import type { EventStore, StoredEvent } from '@kms/event-store';
import { committedView } from '../changes/call-transaction';
import { loadAggregate } from '../changes/handle-command';

/**
 * Current state of every stream with a given prefix, folded in memory from a catch-up subscription
 * (see followStore) and from this process's own committed writes. Keys, identities and approvals
 * are read on every call (crypto, authentication) or listed, so they are served from memory; a
 * stream not in memory is loaded from the store. Only committed state is kept: inside a call that
 * wrote a stream, reads of it go to the call's transaction and are not cached.
 */
export class AggregateCache<C, E, S> {
  private readonly entries = new Map<string, { state: S; version: number }>();

  constructor(
    private readonly store: EventStore,
    private readonly prefix: string,
    private readonly decider: Decider<C, E, S>,
    private readonly codec: EventCodec<E>,
    /** States that do not count as existing (e.g. a key not created): never cached. */
    private readonly exists: (state: S) => boolean = () => true,
  ) {}

  /** Apply an event from the subscription. Idempotent by stream version. */
  apply(e: StoredEvent): void {
    const id = idOfStream(this.prefix, e.streamId);
    if (id === undefined || !this.codec.accepts(e.type)) return;
    const current = this.entries.get(id);
    const version = current?.version ?? -1;
    if (e.streamVersion <= version) return;
    if (e.streamVersion !== version + 1) {
      // Missed events (e.g. a write of this process raced the subscription): read the stream again.
      this.entries.delete(id);
      void this.read(id).catch(() => undefined); // the next load reads it again
      return;
    }
    const next = this.decider.evolve(current?.state ?? this.decider.initialState(), this.codec.parse(e));
    if (this.exists(next)) this.entries.set(id, { state: next, version: e.streamVersion });
  }

  /** Record a state this process committed. */
  put(id: string, state: S, version: number): void {
    if (!this.exists(state)) return;
    const current = this.entries.get(id);
    if (!current || current.version < version) this.entries.set(id, { state, version });
  }

  /** State and stream version, from memory or the store. */
  async load(id: string): Promise<{ state: S; version: number }> {
    const hit = committedView(this.prefix + id) ? this.entries.get(id) : undefined;
    if (hit) return hit;
    return this.read(id);
  }

  /**
   * Fresh state from the store before a write (inside a call: with the call's own writes). The cache
   * keeps only committed state: the call's writes reach it after commit.
   */
  reload(id: string): Promise<{ state: S; version: number }> {
    return this.read(id);
  }

  private async read(id: string): Promise<{ state: S; version: number }> {
    const loaded = await loadAggregate(this.store, this.decider, this.codec, this.prefix + id);
    if (loaded.version >= 0 && committedView(this.prefix + id)) this.put(id, loaded.state, loaded.version);
    return loaded;
  }

  all(): S[] {
    return [...this.entries.values()].map((e) => e.state);
  }
}
