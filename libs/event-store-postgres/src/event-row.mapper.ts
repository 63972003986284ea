import type { StoredEvent } from '@kms/event-store';
import type { Pool } from 'pg';

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

/**
 * Events after `afterPosition` in global order, **as stored and unchecked**: for the ledger
 * reconciliation and evidence, which must see a forged row to name it. Everything else reads through
 * PostgresEventStore, which refuses such rows.
 */
export async function readStoredEventsAfter(db: Pick<Pool, 'query'>, afterPosition: bigint, limit: number): Promise<StoredEvent[]> {
  const { rows } = await db.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE global_position > $1 ORDER BY global_position LIMIT $2`, [afterPosition.toString(), limit]);
  return rows.map(toStoredEvent);
}
