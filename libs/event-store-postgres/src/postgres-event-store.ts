import {
  EventStoreUnavailableError,
  WrongExpectedVersionError,
  type AppendResult,
  type EventStore,
  type EventSubscription,
  type ExpectedVersion,
  type NewEvent,
  type ReadStreamResult,
  type SubscriptionHandler,
} from '@kms/event-store';
import { DatabaseError, type Pool, type PoolClient } from 'pg';
import { EVENT_COLUMNS, toStoredEvent, type EventRow } from './event-row.mapper';
import { PostgresSubscription, type PostgresSubscriptionSettings } from './postgres-subscription';

export interface PostgresEventStoreOptions {
  /** NOTIFY channel appends signal on and subscriptions LISTEN to. Default `kms_events`. */
  channel?: string;
  /** Rows per catch-up read. Default 500. */
  batchSize?: number;
  /** How often a caught-up subscription reads anyway, in case a notification was lost. Default 1000 ms. */
  pollIntervalMs?: number;
  /** Longest wait between reconnect attempts of a subscription. Default 5000 ms. */
  maxReconnectDelayMs?: number;
}

/** Key of the advisory lock every append takes; any constant works as long as all writers agree on it. */
const APPEND_LOCK_KEY = 7_301_954_416;
const STREAM_VERSION_CONSTRAINT = 'events_stream_id_stream_version_key';
const EVENT_ID_CONSTRAINT = 'events_event_id_key';

/** Event store on the `events` table (see eventStoreMigrations). The pool belongs to the caller. */
export class PostgresEventStore implements EventStore {
  private readonly settings: PostgresSubscriptionSettings;
  private readonly subscriptions = new Set<PostgresSubscription>();

  constructor(
    private readonly pool: Pool,
    options: PostgresEventStoreOptions = {},
  ) {
    const channel = options.channel ?? 'kms_events';
    // LISTEN takes an identifier, not a parameter.
    if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`channel "${channel}" is not a plain lower-case identifier`);
    this.settings = {
      channel,
      batchSize: options.batchSize ?? 500,
      pollIntervalMs: options.pollIntervalMs ?? 1000,
      maxReconnectDelayMs: options.maxReconnectDelayMs ?? 5000,
    };
  }

  async readStream(streamId: string): Promise<ReadStreamResult> {
    try {
      const result = await this.pool.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = $1 ORDER BY stream_version`, [streamId]);
      const events = result.rows.map(toStoredEvent);
      return { events, currentVersion: events.length - 1 };
    } catch (error) {
      throw toPortError(error, `read of stream ${streamId} failed`);
    }
  }

  async appendToStream(streamId: string, events: NewEvent[], options: { expectedVersion: ExpectedVersion }): Promise<AppendResult> {
    if (events.length === 0) throw new RangeError('appendToStream needs at least one event');
    const { expectedVersion } = options;
    const documents = JSON.stringify(events.map(({ id, type, data, metadata }) => ({ id, type, data, metadata })));
    const client = await this.connect(streamId);
    let broken = false;
    try {
      await client.query('BEGIN');
      // One store-wide lock makes appends take positions and commit in the same order. Without it a
      // transaction holding position 5 could commit after one holding 6, and a subscription that had
      // already read past 6 would never see 5.
      await client.query(`SELECT pg_advisory_xact_lock(${APPEND_LOCK_KEY})`);
      const current = await client.query<{ version: number | null }>('SELECT max(stream_version) AS version FROM events WHERE stream_id = $1', [
        streamId,
      ]);
      const actual = current.rows[0]?.version ?? -1;
      if (!versionMatches(expectedVersion, actual)) throw new WrongExpectedVersionError(streamId, expectedVersion, actual);
      const inserted = await client.query<{ global_position: string; stream_version: number }>(
        `INSERT INTO events (event_id, stream_id, stream_version, type, data, metadata)
         SELECT (e.doc->>'id')::uuid, $1, $2::integer + e.ord::integer, e.doc->>'type', e.doc->'data', e.doc->'metadata'
         FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS e(doc, ord)
         ORDER BY e.ord
         RETURNING global_position, stream_version`,
        [streamId, actual, documents],
      );
      const last = inserted.rows.reduce((a, b) => (a.stream_version > b.stream_version ? a : b));
      // Delivered at commit, so a listener never reads ahead of what is visible.
      await client.query('SELECT pg_notify($1, $2)', [this.settings.channel, last.global_position]);
      await client.query('COMMIT');
      return { nextExpectedVersion: last.stream_version, lastGlobalPosition: BigInt(last.global_position) };
    } catch (error) {
      broken = !(await rollback(client));
      if (error instanceof WrongExpectedVersionError) throw error;
      if (isUniqueViolation(error, STREAM_VERSION_CONSTRAINT)) {
        throw new WrongExpectedVersionError(streamId, expectedVersion, (await this.readStream(streamId)).currentVersion);
      }
      throw toPortError(error, `append to stream ${streamId} failed`);
    } finally {
      client.release(broken);
    }
  }

  subscribeToAll(options: { fromPosition?: bigint }, handler: SubscriptionHandler): EventSubscription {
    const subscription = new PostgresSubscription(this.pool, this.settings, options.fromPosition ?? 0n, handler, (s) =>
      this.subscriptions.delete(s),
    );
    this.subscriptions.add(subscription);
    return subscription;
  }

  /** Stops every subscription. The pool stays open: whoever created it ends it. */
  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
  }

  private async connect(streamId: string): Promise<PoolClient> {
    try {
      return await this.pool.connect();
    } catch (error) {
      throw toPortError(error, `append to stream ${streamId} failed`);
    }
  }
}

function versionMatches(expected: ExpectedVersion, actual: number): boolean {
  switch (expected) {
    case 'any':
      return true;
    case 'no_stream':
      return actual === -1;
    case 'stream_exists':
      return actual >= 0;
    default:
      return expected === actual;
  }
}

/** True when the connection is still usable; a failed ROLLBACK means it must be discarded. */
async function rollback(client: PoolClient): Promise<boolean> {
  try {
    await client.query('ROLLBACK');
    return true;
  } catch {
    return false;
  }
}

function isUniqueViolation(error: unknown, constraint: string): boolean {
  return error instanceof DatabaseError && error.code === '23505' && error.constraint === constraint;
}

/**
 * Bad input (SQLSTATE classes 22 and 23, such as a duplicate event id or a malformed uuid) is the caller's
 * fault and retrying will not help; everything else means the store is unreachable or failing.
 */
function toPortError(error: unknown, what: string): Error {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof DatabaseError && /^2[23]/.test(error.code ?? '')) {
    const detail = isUniqueViolation(error, EVENT_ID_CONSTRAINT) ? `an event id is already stored (${error.detail ?? ''})` : message;
    return new Error(`event store: ${what}: ${detail}`, { cause: error });
  }
  return new EventStoreUnavailableError(`event store: ${what}: ${message}`, error);
}
