import { foldWith, idOfStream, KEY_STREAM_PREFIX, keyDecider, keyEventCodec, type KeyState, keyStreamId } from '@kms/domain';
import {
  canReadStreamsByPrefix,
  type EventFollower,
  type EventStore,
  followEvents,
  type FollowerErrorInfo,
  type StoredEvent,
  type StreamsByPrefixReader,
} from '@kms/event-store';
import { loadAggregate } from '../changes/handle-command';
import type { KeySnapshot, KeySnapshotStore } from './key-snapshots.port';

/** Events per transaction of the read model while catching up; a live event waits at most `lingerMs`. */
const BATCH = { size: 1000, lingerMs: 5 };
/** Events per page of a first build (each page's rows saved in one transaction). */
const BUILD_PAGE_EVENTS = 10_000;

export interface KeySnapshotFollowOptions {
  /** Sees every batch before it is folded into the rows (the catalog updates its cached keys). */
  onEvents?: (events: readonly StoredEvent[]) => void;
  /** After a batch is saved (so the follower is following again after a failure). */
  onSaved?: () => void;
  onError?: (error: Error, info: FollowerErrorInfo) => void;
  /** After a first build (see buildKeySnapshots): how many keys and events it folded, and in how long. */
  onBuilt?: (build: KeySnapshotBuild) => void;
  /** Events per page of a first build. Default 10,000. */
  buildPageEvents?: number;
  name?: string;
}

/** What a first build of the read model did (this process's part of it, when it resumed another's). */
export interface KeySnapshotBuild {
  /** The store position the rows are folded through, and the checkpoint saved. */
  through: bigint;
  keys: number;
  events: number;
  ms: number;
  /** The stream id an interrupted build had saved through, where this one went on. */
  resumedAfter?: string;
}

/**
 * Keeps the key read model current: follows the store from the read model's checkpoint and, per batch,
 * folds each key's new events onto its row and saves the rows with the batch's last position in one
 * transaction. So a start only reads what was written since the last checkpoint (by this replica or
 * any other), never the whole history. Without a checkpoint (the first start on a store, such as the
 * first after an upgrade), the read model is first built key stream by key stream when the store can
 * read that way (buildKeySnapshots); otherwise the follower folds the store from its start.
 */
export function followKeySnapshots(store: EventStore, snapshots: KeySnapshotStore, options: KeySnapshotFollowOptions = {}): EventFollower {
  return followEvents(store, {
    name: options.name ?? 'key snapshots',
    // Called again after a failure of its own: a build that failed half-way goes on after the last page
    // it saved (or starts over, on a read model that keeps no progress: the rows it saved are kept, a
    // row is only replaced by a newer version).
    from: async () => {
      const checkpoint = await snapshots.checkpoint();
      if (checkpoint !== undefined || !canReadStreamsByPrefix(store)) return checkpoint;
      const build = await buildKeySnapshots(store, snapshots, {
        ...(options.onEvents ? { onEvents: options.onEvents } : {}),
        ...(options.buildPageEvents ? { pageEvents: options.buildPageEvents } : {}),
      });
      options.onBuilt?.(build);
      return build.through;
    },
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
 * Builds the read model from the key streams through the store's head, stream by stream: each key is
 * folded once and its row written once, where following the store from its start folds a key's events
 * into its row batch after batch, as they are spread over history. Each page's rows are saved with
 * where the build stands (when the read model keeps that: saveBuild), so a build cut short (a crash, a
 * restart by an orchestrator) resumes after the last page saved, through the same position, instead of
 * starting over. The head is saved as the checkpoint last. `onEvents` sees each page's events (stream
 * by stream, not in store order): a key held in memory is kept current all the same.
 */
export async function buildKeySnapshots(
  store: EventStore & StreamsByPrefixReader,
  snapshots: KeySnapshotStore,
  options: Pick<KeySnapshotFollowOptions, 'onEvents'> & { pageEvents?: number } = {},
): Promise<KeySnapshotBuild> {
  const started = performance.now();
  const resumable = snapshots.buildProgress !== undefined && snapshots.saveBuild !== undefined;
  const resumed = resumable ? await snapshots.buildProgress?.() : undefined;
  const through = resumed?.through ?? (await store.headPosition());
  let after = resumed?.afterStreamId;
  let keys = 0;
  let events = 0;
  do {
    const page = await store.readStreamsByPrefix(KEY_STREAM_PREFIX, { through, limit: options.pageEvents ?? BUILD_PAGE_EVENTS, ...(after === undefined ? {} : { afterStreamId: after }) });
    if (options.onEvents) for (const stream of page.streams) options.onEvents(stream);
    const rows: KeySnapshot[] = [];
    for (const stream of page.streams) {
      events += stream.length;
      const row = foldKeyStream(stream);
      if (row) rows.push(row);
    }
    keys += rows.length;
    const last = page.streams[page.streams.length - 1]?.[0]?.streamId;
    if (resumable && last !== undefined) await snapshots.saveBuild?.(rows, { progress: { through, afterStreamId: last } });
    else if (rows.length > 0) await snapshots.save(rows);
    after = page.next;
  } while (after !== undefined);
  if (resumable) await snapshots.saveBuild?.([], { done: through });
  else await snapshots.save([], through);
  return { through, keys, events, ms: performance.now() - started, ...(resumed ? { resumedAfter: resumed.afterStreamId } : {}) };
}

/**
 * A key's row from its stream, or undefined for a stream that created no key. Events of other types
 * are passed over, as foldKeyEvents passes them over.
 */
function foldKeyStream(stream: readonly StoredEvent[]): KeySnapshot | undefined {
  const keyEvents = stream.filter((e) => keyEventCodec.accepts(e.type));
  const last = keyEvents[keyEvents.length - 1];
  if (!last || idOfStream(KEY_STREAM_PREFIX, last.streamId) === undefined) return undefined;
  const state = foldWith(keyDecider, keyEvents.map((e) => keyEventCodec.parse(e)));
  return state.status === 'NotCreated' ? undefined : { state, version: last.streamVersion };
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
