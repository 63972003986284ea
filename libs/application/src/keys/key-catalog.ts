import { type ExistingKeyState, evolve, type KeyPurpose, KmsError, type KeyState } from '@kms/domain';
import type { EventStore, EventSubscription, StoredEvent } from '@kms/event-store';
import { followStore } from './follow-store';
import { type KeyRepository, toKeyEvent } from './key-repository';

interface Entry {
  state: ExistingKeyState;
  version: number;
}

export interface KeyFilter {
  tenant?: string;
  purpose?: KeyPurpose;
  labels?: Record<string, string>;
}

const KEY_STREAM_PREFIX = 'key-';

/**
 * The key service's in-memory view of every key, fed by a catch-up subscription to the event store
 * and by this process's own writes. Crypto calls read key state from here instead of the store, which
 * keeps the hot path free of database reads. Writes from another instance arrive through the
 * subscription (LISTEN/NOTIFY, so within milliseconds); a gap in a stream drops the entry and the next
 * read reloads it from the store.
 */
export class KeyCatalog {
  private readonly entries = new Map<string, Entry>();
  private subscription?: EventSubscription;

  constructor(private readonly repository: KeyRepository) {}

  /** Subscribe from the start; resolves once the catalog has caught up with the store. */
  async start(store: EventStore): Promise<void> {
    this.subscription = await followStore(store, [this]);
  }

  async stop(): Promise<void> {
    await this.subscription?.stop();
  }

  /** Apply an event from the subscription. Idempotent by stream version. */
  apply(e: StoredEvent): void {
    if (!e.streamId.startsWith(KEY_STREAM_PREFIX)) return;
    const keyId = e.streamId.slice(KEY_STREAM_PREFIX.length);
    const current = this.entries.get(keyId);
    const currentVersion = current?.version ?? -1;
    if (e.streamVersion <= currentVersion) return;
    if (e.streamVersion !== currentVersion + 1) {
      // Missed events (e.g. a write by this process raced the subscription): reload from the store.
      this.entries.delete(keyId);
      this.repository
        .load(keyId)
        .then((loaded) => this.put(keyId, loaded.state, loaded.version))
        .catch(() => undefined); // the next read loads it again
      return;
    }
    const next = evolve(current?.state ?? { status: 'NotCreated' }, toKeyEvent(e));
    if (next.status !== 'NotCreated') this.entries.set(keyId, { state: next, version: e.streamVersion });
  }

  /** Record the state this process just wrote. */
  put(keyId: string, state: KeyState, version: number): void {
    if (state.status === 'NotCreated') return;
    const current = this.entries.get(keyId);
    if (!current || current.version < version) this.entries.set(keyId, { state, version });
  }

  /** Key state, from memory or loaded from the store. KEY_NOT_FOUND when it does not exist. */
  async get(keyId: string): Promise<ExistingKeyState> {
    const hit = this.entries.get(keyId);
    if (hit) return hit.state;
    const loaded = await this.repository.load(keyId);
    if (loaded.state.status === 'NotCreated') throw new KmsError('KEY_NOT_FOUND', 'key not found', 'key_id');
    this.put(keyId, loaded.state, loaded.version);
    return loaded.state;
  }

  /** Keys matching the filter, ordered by creation time then id. */
  list(filter: KeyFilter): ExistingKeyState[] {
    const out: ExistingKeyState[] = [];
    for (const { state } of this.entries.values()) {
      const k = state.key;
      if (filter.tenant && k.tenant !== filter.tenant) continue;
      if (filter.purpose && k.purpose !== filter.purpose) continue;
      if (filter.labels && Object.entries(filter.labels).some(([l, v]) => k.labels[l] !== v)) continue;
      out.push(state);
    }
    return out.sort((a, b) => a.key.createdAt.localeCompare(b.key.createdAt) || a.key.keyId.localeCompare(b.key.keyId));
  }

  /** Every known key (for sweeps). */
  all(): ExistingKeyState[] {
    return [...this.entries.values()].map((e) => e.state);
  }
}
