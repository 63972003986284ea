import type { ExistingKeyState, KeyPurpose } from '@kms/domain';

/** Which keys a listing returns: every given field must match (labels: each given label). */
export interface KeyFilter {
  tenant?: string;
  purpose?: KeyPurpose;
  labels?: Record<string, string>;
}

/** A window of a listing: skip `offset` rows, return at most `limit`. */
export interface ListPage {
  offset: number;
  limit: number;
}

/** A key's folded state at a stream version. Key state never holds material (only references to it). */
export interface KeySnapshot {
  state: ExistingKeyState;
  /** Stream version the state was folded through (the last event's streamVersion). */
  version: number;
}

/**
 * Where a first build of the read model stands (buildKeySnapshots): every key stream up to
 * `afterStreamId` (in stream-id order) has its row, folded through store position `through`.
 */
export interface KeySnapshotBuildProgress {
  through: bigint;
  afterStreamId: string;
}

/**
 * The key read model ("key snapshots"): one row per key with its folded state, and the global position
 * of the event store every event through which is folded in (the checkpoint). Kept current by the
 * snapshot follower (followKeySnapshots) and by this process's own commits; several key-service
 * replicas may write one store at once, so every write is idempotent: a row only ever replaces an
 * older stream version, and the checkpoint only moves forward.
 */
export interface KeySnapshotStore {
  /** Position through which every event is folded into the rows; undefined before the first batch. */
  checkpoint(): Promise<bigint | undefined>;
  /** The rows of these keys that exist, by key id. */
  getMany(keyIds: readonly string[]): Promise<Map<string, KeySnapshot>>;
  /**
   * Write rows (each only over an older version of its key) and, when given, move the checkpoint to
   * `position` unless it is already further: all of it or nothing.
   */
  save(rows: readonly KeySnapshot[], position?: bigint): Promise<void>;
  /** Rows matching the filter, ordered by the key's creation time, then its id; all of them, or a page. */
  list(filter: KeyFilter, page?: ListPage): Promise<KeySnapshot[]>;
  /**
   * The progress the last first build saved, undefined when there is none (or the store keeps none).
   * Optional, with saveBuild: a store without them starts an interrupted build over.
   */
  buildProgress?(): Promise<KeySnapshotBuildProgress | undefined>;
  /**
   * A first build's rows (each only over an older version of its key) and where it stands, all of it or
   * nothing: `progress` while pages remain; `done`, the checkpoint (moved forward only) with the progress
   * cleared.
   */
  saveBuild?(rows: readonly KeySnapshot[], state: { progress: KeySnapshotBuildProgress } | { done: bigint }): Promise<void>;
}

/** True when the key matches every field the filter gives. */
export function matchesKeyFilter(state: ExistingKeyState, filter: KeyFilter): boolean {
  const k = state.key;
  if (filter.tenant !== undefined && k.tenant !== filter.tenant) return false;
  if (filter.purpose !== undefined && k.purpose !== filter.purpose) return false;
  return !filter.labels || Object.entries(filter.labels).every(([l, v]) => k.labels[l] === v);
}

/** The listing order: creation time, then key id (code-point order, as PostgreSQL's "C" collation). */
export function byCreation(a: KeySnapshot, b: KeySnapshot): number {
  const x = a.state.key;
  const y = b.state.key;
  return compare(x.createdAt, y.createdAt) || compare(x.keyId, y.keyId);
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
