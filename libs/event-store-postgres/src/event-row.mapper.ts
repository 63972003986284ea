import type { StoredEvent } from '@kms/event-store';

/** A row of `events` as node-postgres returns it (bigint arrives as a string). */
export interface EventRow {
  global_position: string;
  event_id: string;
  stream_id: string;
  stream_version: number;
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  recorded_at: Date;
}

/** The columns every event read selects, in EventRow's shape. */
export const EVENT_COLUMNS = 'global_position, event_id, stream_id, stream_version, type, data, metadata, recorded_at';

/** Maps a row of `events` to the port's StoredEvent. */
export function toStoredEvent(row: EventRow): StoredEvent {
  return {
    id: row.event_id,
    streamId: row.stream_id,
    streamVersion: row.stream_version,
    globalPosition: BigInt(row.global_position),
    type: row.type,
    data: row.data,
    metadata: row.metadata,
    recordedAt: row.recorded_at,
  };
}
