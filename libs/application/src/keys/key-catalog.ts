import { type ExistingKeyState, KEY_STREAM_PREFIX, type KeyCommand, keyDecider, type KeyEvent, keyEventCodec, type KeyPurpose, type KeyState, KmsError } from '@kms/domain';
import type { EventStore, EventSubscription, StoredEvent } from '@kms/event-store';
import { AggregateCache } from '../access/aggregate-cache';
import { followStore } from './follow-store';

export interface KeyFilter {
  tenant?: string;
  purpose?: KeyPurpose;
  labels?: Record<string, string>;
}

/**
 * The key service's in-memory view of every key: an AggregateCache of key streams with lookups by
 * id and filter. Crypto calls read key state from here instead of the store, which keeps the hot
 * path free of database reads. Writes from another instance arrive through the subscription
 * (LISTEN/NOTIFY, so within milliseconds); a gap in a stream re-reads it from the store.
 */
export class KeyCatalog {
  private readonly keys: AggregateCache<KeyCommand, KeyEvent, KeyState>;
  private subscription?: EventSubscription;

  constructor(store: EventStore) {
    this.keys = new AggregateCache(store, KEY_STREAM_PREFIX, keyDecider, keyEventCodec, (s) => s.status !== 'NotCreated');
  }

  /** Subscribe from the start; resolves once the catalog has caught up with the store. */
  async start(store: EventStore): Promise<void> {
    this.subscription = await followStore(store, [this]);
  }

  async stop(): Promise<void> {
    await this.subscription?.stop();
  }

  /** Apply an event from the subscription. Idempotent by stream version. */
  apply(e: StoredEvent): void {
    this.keys.apply(e);
  }

  /** Record the state this process just committed. */
  put(keyId: string, state: KeyState, version: number): void {
    this.keys.put(keyId, state, version);
  }

  /** Key state, from memory or loaded from the store. KEY_NOT_FOUND when it does not exist. */
  async get(keyId: string): Promise<ExistingKeyState> {
    const { state } = await this.keys.load(keyId);
    if (state.status === 'NotCreated') throw new KmsError('KEY_NOT_FOUND', 'key not found', 'key_id');
    return state;
  }

  /** Keys matching the filter, ordered by creation time then id. */
  list(filter: KeyFilter): ExistingKeyState[] {
    const out: ExistingKeyState[] = [];
    for (const state of this.all()) {
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
    return this.keys.all().filter((s): s is ExistingKeyState => s.status !== 'NotCreated');
  }
}
