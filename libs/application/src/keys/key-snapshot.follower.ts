import { idOfStream, KEY_STREAM_PREFIX, keyDecider, keyEventCodec, type KeyState, keyStreamId } from '@kms/domain';
import { type EventFollower, type EventStore, followEvents, type FollowerErrorInfo, type StoredEvent } from '@kms/event-store';
import { loadAggregate } from '../changes/handle-command';
import type { KeySnapshot, KeySnapshotStore } from './key-snapshots.port';

/** Events per transaction of the read model while catching up; a live event waits at most `lingerMs`. */
const BATCH = { size: 1000, lingerMs: 5 };

export interface KeySnapshotFollowOptions {
  /** Sees every batch before it is folded into the rows (the catalog updates its cached keys). */
  onEvents?: (events: readonly StoredEvent[]) => void;
  /** After a batch is saved (so the follower is following again after a failure). */
  onSaved?: () => void;
  onError?: (error: Error, info: FollowerErrorInfo) => void;
  name?: string;
}

/**
 * Keeps the key read model current: follows the store from the read model's checkpoint and, per batch,
 * folds each key's new events onto its row and saves the rows with the batch's last position in one
 * transaction. So a start only reads what was written since the last checkpoint (by this replica or
 * any other), never the whole history.
 */
export function followKeySnapshots(store: EventStore, snapshots: KeySnapshotStore, options: KeySnapshotFollowOptions = {}): EventFollower {
  return followEvents(store, {
    name: options.name ?? 'key snapshots',
    from: () => snapshots.checkpoint(),
    batch: BATCH,
    ...(options.onError ? { onError: options.onError } : {}),
    handleBatch: async (events) => {
      options.onEvents?.(events);
      const last = events[events.length - 1];
      if (!last) return;
      await snapshots.save(await foldKeyEvents(store, snapshots, events), last.globalPosition);
      options.onSaved?.();
    },
  });
}

/**
 * The rows that change with these events: each key's row evolved by its events in version order. A
 * row further than an event skips it (another replica, or this process's own commit, wrote it first);
 * a row that misses events before the first one (or no row for a stream that began earlier) reads the
 * key's stream from the store instead, which is the authority.
 */
export async function foldKeyEvents(store: EventStore, snapshots: KeySnapshotStore, events: readonly StoredEvent[]): Promise<KeySnapshot[]> {
  const byKey = new Map<string, StoredEvent[]>();
  for (const e of events) {
    const keyId = idOfStream(KEY_STREAM_PREFIX, e.streamId);
    if (keyId === undefined || !keyEventCodec.accepts(e.type)) continue;
    const list = byKey.get(keyId);
    if (list) list.push(e);
    else byKey.set(keyId, [e]);
  }
  if (byKey.size === 0) return [];
  const rows = await snapshots.getMany([...byKey.keys()]);
  const changed: KeySnapshot[] = [];
  for (const [keyId, keyEvents] of byKey) {
    const row = rows.get(keyId);
    let state: KeyState = row?.state ?? keyDecider.initialState();
    let version = row?.version ?? -1;
    for (const e of keyEvents) {
      if (e.streamVersion <= version) continue;
      if (e.streamVersion !== version + 1) {
        ({ state, version } = await loadAggregate(store, keyDecider, keyEventCodec, keyStreamId(keyId)));
        break;
      }
      state = keyDecider.evolve(state, keyEventCodec.parse(e));
      version = e.streamVersion;
    }
    if (state.status !== 'NotCreated' && version > (row?.version ?? -1)) changed.push({ state, version });
  }
  return changed;
}
