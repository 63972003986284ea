import type { CheckpointStore } from '@kms/event-store';
import type { Notice } from '../notice/notice.model';

/** A notice as the store keeps it: its CloudEvent JSON and whether a broker acknowledged it. */
export interface RecordedNotice {
  id: string;
  position: bigint;
  type: string;
  subject: string;
  /** Structured-mode CloudEvents JSON object. */
  cloudEvent: Record<string, unknown>;
  publishedAt: Date | null;
}

/**
 * Where notices are recorded (readable over HTTP without a broker) and where the relay keeps its
 * checkpoint: the store position up to which every notice is recorded and, with a broker, acknowledged.
 * Its checkpoints are a CheckpointStore (`loadCheckpoint(relay)` answers 0n when there is none).
 */
export interface NoticeStore extends CheckpointStore {
  /** Record a notice. Idempotent by id: recording it again changes nothing. */
  record(notice: Notice): Promise<void>;
  /**
   * Advance the checkpoint to `position` (never backwards) and, in the same transaction, mark the
   * notice `publishedId` as acknowledged at `publishedAt`.
   */
  commit(relay: string, position: bigint, published?: { id: string; at: Date }): Promise<void>;
  /** Notices after `after` in position order, at most `limit`. */
  list(after: bigint, limit: number): Promise<RecordedNotice[]>;
}
