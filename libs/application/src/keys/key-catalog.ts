import { type ExistingKeyState, KEY_STREAM_PREFIX, type KeyCommand, keyDecider, type KeyEvent, keyEventCodec, type KeyState, KmsError } from '@kms/domain';
import type { EventFollower, EventStore, FollowerStatus, StoredEvent } from '@kms/event-store';
import { AggregateCache } from '../access/aggregate-cache';
import { InMemoryKeySnapshots } from './in-memory-key-snapshots';
import { followKeySnapshots, type KeySnapshotBuild } from './key-snapshot.follower';
import { byCreation, type KeyFilter, type KeySnapshot, type KeySnapshotStore, type ListPage, matchesKeyFilter } from './key-snapshots.port';

export type { KeyFilter } from './key-snapshots.port';

/** Keys held in memory unless configured (KMS_KEY_CACHE_SIZE). */
export const DEFAULT_KEY_CACHE_SIZE = 10_000;

export interface KeyCatalogOptions {
  /** The key read model lists are answered from; shared by replicas in PostgreSQL. Default: in memory. */
  snapshots?: KeySnapshotStore;
  /** Most keys held in memory (least recently used evicted). Default {@link DEFAULT_KEY_CACHE_SIZE}. */
  cacheSize?: number;
  /** Told when a start built the read model from the key streams (it had no checkpoint): for the log. */
  onBuilt?: (build: KeySnapshotBuild) => void;
}

/**
 * The key service's view of keys. Crypto calls read key state from a bounded in-memory cache of the
 * recently used keys (a miss reads the key's stream, which is short, from the store); listings are
 * queries on the key read model (KeySnapshotStore). Neither start nor memory grows with the number of
 * keys or events: start follows the store from the read model's checkpoint only. Writes from another
 * instance arrive through that follower (LISTEN/NOTIFY, so within milliseconds) and update the cached
 * keys; a gap in a stream re-reads it from the store.
 */
export class KeyCatalog {
  private readonly keys: AggregateCache<KeyCommand, KeyEvent, KeyState>;
  private readonly snapshots: KeySnapshotStore;
  private readonly onBuilt: ((build: KeySnapshotBuild) => void) | undefined;
  private follower?: EventFollower;
  /**
   * False while the follower is failing (the store or the read model unreachable): it may then not
   * deliver newer events, so held keys may be stale and get reads each key's stream instead.
   */
  private following = true;
  /** This process's commits being written to the read model: a listing waits for them (reads its writes). */
  private writes = new Set<Promise<void>>();

  constructor(
    private readonly store: EventStore,
    options: KeyCatalogOptions = {},
  ) {
    this.snapshots = options.snapshots ?? new InMemoryKeySnapshots();
    this.onBuilt = options.onBuilt;
    this.keys = new AggregateCache(store, KEY_STREAM_PREFIX, keyDecider, keyEventCodec, (s) => s.status !== 'NotCreated', options.cacheSize ?? DEFAULT_KEY_CACHE_SIZE);
  }

  /**
   * Follow the store from the read model's checkpoint (`store`: the process's own, not call-scoped);
   * resolves once the read model has caught up with the store. Keeps following: the cached keys see
   * every later event.
   */
  async start(store: EventStore = this.store): Promise<void> {
    this.follower = followKeySnapshots(store, this.snapshots, {
      name: 'key catalog',
      onEvents: (events) => {
        for (const e of events) this.keys.apply(e);
      },
      onError: () => {
        this.following = false;
      },
      onSaved: () => {
        this.following = true;
      },
      ...(this.onBuilt ? { onBuilt: this.onBuilt } : {}),
    });
    await this.follower.caughtUp();
  }

  async stop(): Promise<void> {
    await this.follower?.stop();
  }

  /** The snapshot follower, for /readyz and tests (undefined before start). */
  status(): FollowerStatus | undefined {
    return this.follower?.status();
  }

  /** Apply an event to the cached keys. Idempotent by stream version. */
  apply(e: StoredEvent): void {
    this.keys.apply(e);
  }

  /** Record the state this process just committed, in memory and in the read model. */
  put(keyId: string, state: KeyState, version: number): void {
    this.keys.put(keyId, state, version);
    if (state.status === 'NotCreated') return;
    // The follower writes the same row when the event reaches it; this write only makes the process's
    // own listings current sooner, so a failure is left to the follower.
    const write = this.snapshots.save([{ state, version }]).catch(() => undefined);
    this.writes.add(write);
    void write.finally(() => this.writes.delete(write));
  }

  /**
   * The key's state when `get` would answer it from memory (the catalog is following and holds the
   * key), without a read or a promise: the hot path of every crypto call. Undefined: call `get`.
   */
  held(keyId: string): ExistingKeyState | undefined {
    if (!this.following) return undefined;
    const state = this.keys.held(keyId)?.state;
    return state && state.status !== 'NotCreated' ? state : undefined;
  }

  /** Key state, from memory or loaded from the store. KEY_NOT_FOUND when it does not exist. */
  async get(keyId: string): Promise<ExistingKeyState> {
    const { state } = this.following ? await this.keys.load(keyId) : await this.fresh(keyId);
    if (state.status === 'NotCreated') throw new KmsError('KEY_NOT_FOUND', 'key not found', 'key_id');
    return state;
  }

  /**
   * The key read from its stream, while the follower is failing. When the stream holds a row that is
   * not sealed (forged history: the follower stopped at it, the integrity alarm is raised), a held key
   * keeps the state its sealed events gave: the forged row never takes effect, and the key's crypto
   * answers as before it (changes to the key are refused, by the command handler's own read).
   */
  private async fresh(keyId: string): Promise<{ state: KeyState; version: number }> {
    try {
      return await this.keys.reload(keyId);
    } catch (e) {
      const held = e instanceof KmsError && e.code === 'INTEGRITY_VIOLATION' ? this.keys.peek(keyId) : undefined;
      if (held) return held;
      throw e;
    }
  }

  /**
   * Keys matching the filter, ordered by creation time then id, from the read model: all, or a page.
   * A key held in memory at a newer version than its row (the read model lags a commit by a batch)
   * shows as held; without a page, so does a held key the read model lacks (one this process read
   * from its stream before any follower wrote it).
   */
  async list(filter: KeyFilter, page?: ListPage): Promise<ExistingKeyState[]> {
    if (this.writes.size > 0) await Promise.all(this.writes);
    const rows = new Map<string, KeySnapshot>();
    for (const row of await this.snapshots.list(filter, page)) rows.set(row.state.key.keyId, row);
    let added = false;
    for (const state of this.keys.all()) {
      if (state.status === 'NotCreated' || !matchesKeyFilter(state, filter)) continue;
      const held = this.keys.peek(state.key.keyId);
      const row = rows.get(state.key.keyId);
      if (!held || (row && row.version >= held.version) || (!row && page)) continue;
      rows.set(state.key.keyId, { state, version: held.version });
      added ||= !row;
    }
    const out = [...rows.values()];
    if (added) out.sort(byCreation);
    return out.map((r) => r.state);
  }

  /** Every key (for sweeps), from the read model. */
  all(): Promise<ExistingKeyState[]> {
    return this.list({});
  }

  /**
   * Like list, but each key's state is the one its sealed stream gives (through get: held, or read and
   * checked): for access decisions, which must not rest on the read model's rows (plain rows the
   * service role may update, unlike the append-only events).
   */
  async listChecked(filter: KeyFilter): Promise<ExistingKeyState[]> {
    const out: ExistingKeyState[] = [];
    for (const listed of await this.list(filter)) {
      const state = await this.get(listed.key.keyId);
      if (matchesKeyFilter(state, filter)) out.push(state);
    }
    return out;
  }
}
