import type { EventStore, StoredEvent } from '@kms/event-store';
import { storeError } from '../keys/key-repository';

/**
 * Current state of every stream with a given prefix, folded in memory from a catch-up subscription
 * (see followStore) and from this process's own writes. Used for identities and approvals, which are few and read on
 * every call (authentication) or listed (pending approvals).
 */
export class AggregateCache<S, E> {
  private readonly entries = new Map<string, { state: S; version: number }>();

  constructor(
    private readonly store: EventStore,
    private readonly prefix: string,
    private readonly initial: () => S,
    private readonly evolve: (state: S, event: E) => S,
  ) {}

  private toEvent(e: StoredEvent): E {
    return { type: e.type, data: e.data, metadata: e.metadata } as unknown as E;
  }

  apply(e: StoredEvent): void {
    if (!e.streamId.startsWith(this.prefix)) return;
    const id = e.streamId.slice(this.prefix.length);
    const current = this.entries.get(id);
    const version = current?.version ?? -1;
    if (e.streamVersion <= version) return;
    if (e.streamVersion !== version + 1) {
      this.entries.delete(id); // gap: the next load reads the stream
      return;
    }
    this.entries.set(id, { state: this.evolve(current?.state ?? this.initial(), this.toEvent(e)), version: e.streamVersion });
  }

  put(id: string, state: S, version: number): void {
    const current = this.entries.get(id);
    if (!current || current.version < version) this.entries.set(id, { state, version });
  }

  /** State and stream version, from memory or the store. */
  async load(id: string): Promise<{ state: S; version: number }> {
    const hit = this.entries.get(id);
    if (hit) return hit;
    try {
      const { events, currentVersion } = await this.store.readStream(this.prefix + id);
      const state = events.map((e) => this.toEvent(e)).reduce(this.evolve, this.initial());
      if (currentVersion >= 0) this.put(id, state, currentVersion);
      return { state, version: currentVersion };
    } catch (e) {
      throw storeError(e);
    }
  }

  /** Fresh state from the store (before a write). */
  async reload(id: string): Promise<{ state: S; version: number }> {
    this.entries.delete(id);
    return this.load(id);
  }

  all(): S[] {
    return [...this.entries.values()].map((e) => e.state);
  }
}
