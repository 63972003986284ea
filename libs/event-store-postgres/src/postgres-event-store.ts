import {
  EventStoreUnavailableError,
  WrongExpectedVersionError,
  type AppendResult,
  checkStreamPrefixes,
  checkStreamsByPrefixRead,
  type EventSealer,
  type EventStore,
  type EventSubscription,
  type ExpectedVersion,
  type NewEvent,
  type ReadStreamResult,
  SEAL_METADATA_KEY,
  type StoredEvent,
  type StoredStreamReader,
  type StreamsByPrefixReader,
  type StreamsPage,
  type StreamWrite,
  type SubscribeOptions,
  type SubscriptionHandler,
  versionMatches,
} from '@kms/event-store';
import { trace } from '@opentelemetry/api';
import { DatabaseError, type Pool, type PoolClient } from 'pg';
import { EVENT_COLUMNS, toStoredEvent, type EventRow } from './event-row.mapper';
import { PostgresSubscription, type PostgresSubscriptionSettings, readHeadPosition, streamsPageQuery } from './postgres-subscription';

export interface PostgresEventStoreOptions {
  /** NOTIFY channel appends signal on and subscriptions LISTEN to. Default `kms_events`. */
  channel?: string;
  /** Rows per catch-up read. Default 500. */
  batchSize?: number;
  /** How often a caught-up subscription reads anyway, in case a notification was lost. Default 1000 ms. */
  pollIntervalMs?: number;
  /** Longest wait between reconnect attempts of a subscription. Default 5000 ms. */
  maxReconnectDelayMs?: number;
  /**
   * Seals every appended event and checks every event read (streams as hash chains, subscriptions
   * event by event): a row written by anyone but the KMS is refused (EventIntegrityError).
   */
  sealer?: EventSealer;
}

/** The NOTIFY channel of the event store in `schema`: channels are per database, so schemas sharing one get their own. */
export function notifyChannelFor(schema: string): string {
  return schema === 'public' ? 'kms_events' : `kms_events_${schema}`.slice(0, 63);
}

/** Key of the advisory lock every append takes; any constant works as long as all writers agree on it. */
const APPEND_LOCK_KEY = 7_301_954_416;
const STREAM_VERSION_CONSTRAINT = 'events_stream_id_stream_version_key';
const EVENT_ID_CONSTRAINT = 'events_event_id_key';

/** Event store on the `events` table (see eventStoreMigrations). The pool belongs to the caller. */
export class PostgresEventStore implements EventStore, StoredStreamReader, StreamsByPrefixReader {
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
      ...(options.sealer ? { sealer: options.sealer } : {}),
    };
  }

  async readStream(streamId: string): Promise<ReadStreamResult> {
    const events = await this.readStoredStream(streamId);
    // Positions are reserved before the insert, so every seal here covers the position: nothing less is accepted.
    this.settings.sealer?.checkStream(events, 'position');
    return { events, currentVersion: events.length - 1 };
  }

  /** The rows of the stream as stored, seals unchecked (evidence bundles report them, forged ones included). */
  async readStoredStream(streamId: string): Promise<StoredEvent[]> {
    try {
      const result = await this.pool.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = $1 ORDER BY stream_version`, [streamId]);
      return result.rows.map(toStoredEvent);
    } catch (error) {
      throw toPortError(error, `read of stream ${streamId} failed`);
    }
  }

  /** See readHeadPosition: every position up to it is visible. */
  async headPosition(): Promise<bigint> {
    try {
      return await readHeadPosition(this.pool);
    } catch (error) {
      throw toPortError(error, 'read of the head position failed');
    }
  }

  /**
   * Reads events_stream_prefix_position in order (stream id in the "C" collation, then position, which
   * within a stream is version order): `limit` events a statement; a full page gives back its last stream,
   * which may go on, unless that stream is all of it, which is then read whole.
   */
  async readStreamsByPrefix(prefix: string, options: { through: bigint; afterStreamId?: string; limit: number }): Promise<StreamsPage> {
    checkStreamsByPrefixRead(prefix, options.limit);
    const { sql, prefixParams } = streamsPageQuery(prefix);
    let rows: StoredEvent[];
    try {
      // No stream id is empty, so '' stands for "from the first stream".
      const result = await this.pool.query<EventRow>(sql, [options.through.toString(), options.limit, options.afterStreamId ?? '', ...prefixParams]);
      rows = result.rows.map(toStoredEvent);
    } catch (error) {
      throw toPortError(error, `read of the streams starting with ${prefix} failed`);
    }
    const streams = groupByStream(rows);
    let next: string | undefined;
    if (rows.length === options.limit) {
      const last = streams.pop() as StoredEvent[];
      const lastId = (last[0] as StoredEvent).streamId;
      if (streams.length === 0) streams.push((await this.readStoredStream(lastId)).filter((e) => e.globalPosition <= options.through));
      next = (streams[streams.length - 1]?.[0] as StoredEvent).streamId;
    }
    // Positions are reserved before the insert, so every seal here covers the position, as readStream requires.
    for (const stream of streams) this.settings.sealer?.checkStream(stream, 'position');
    return next === undefined ? { streams } : { streams, next };
  }

  async appendToStream(streamId: string, events: NewEvent[], options: { expectedVersion: ExpectedVersion }): Promise<AppendResult> {
    if (events.length === 0) throw new RangeError('appendToStream needs at least one event');
    const client = await this.connect(streamId);
    let broken = false;
    try {
      await client.query('BEGIN');
      const [result] = await appendWithin(client, [{ streamId, events, expectedVersion: options.expectedVersion }], this.settings.channel, this.settings.sealer);
      await client.query('COMMIT');
      return result as AppendResult;
    } catch (error) {
      broken = !(await rollback(client));
      throw await this.appendError(error, streamId, options.expectedVersion);
    } finally {
      client.release(broken);
    }
  }

  /** The port error for a failed append (a lost race on the stream version is a WrongExpectedVersionError). */
  async appendError(error: unknown, streamId: string, expectedVersion: ExpectedVersion): Promise<Error> {
    if (error instanceof WrongExpectedVersionError) return error;
    // Cannot happen under the append lock, but a unique index is the last word on a lost race.
    if (isUniqueViolation(error, STREAM_VERSION_CONSTRAINT)) {
      return new WrongExpectedVersionError(streamId, expectedVersion, (await this.readStream(streamId).catch(() => ({ currentVersion: -1 }))).currentVersion);
    }
    return toPortError(error, `append to stream ${streamId} failed`);
  }

  /** The NOTIFY channel appends signal on (for writers that append inside their own transaction). */
  get channel(): string {
    return this.settings.channel;
  }

  /** The sealer appends inside another transaction must use too. */
  get sealer(): EventSealer | undefined {
    return this.settings.sealer;
  }

  /** With `streamPrefixes`, reads go through events_stream_prefix_position (IndexEventsByStreamPrefix1796740000000). */
  subscribeToAll(options: SubscribeOptions, handler: SubscriptionHandler): EventSubscription {
    const prefixes = checkStreamPrefixes(options.streamPrefixes);
    const subscription = new PostgresSubscription(this.pool, this.settings, options.fromPosition ?? 0n, prefixes, handler, (s) =>
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

/**
 * Append to several streams inside the caller's open transaction: takes the store-wide append lock,
 * checks every expected version, inserts, and signals subscribers at commit. Nothing is visible
 * until the caller commits, so a change and whatever else the transaction writes (its audit record)
 * become durable together or not at all.
 */
export function appendWithin(client: PoolClient, writes: StreamWrite[], channel: string, sealer?: EventSealer): Promise<AppendResult[]> {
  return trace.getTracer('open-kms').startActiveSpan('kms.events.append', { attributes: { 'kms.streams': writes.length } }, async (span) => {
    try {
      return await appendStreams(client, writes, channel, sealer);
    } finally {
      span.end();
    }
  });
}

async function appendStreams(client: PoolClient, writes: StreamWrite[], channel: string, sealer?: EventSealer): Promise<AppendResult[]> {
  // One store-wide lock makes appends take positions and commit in the same order. Without it a
  // transaction holding position 5 could commit after one holding 6, and a subscription that had
  // already read past 6 would never see 5.
  await client.query(`SELECT pg_advisory_xact_lock(${APPEND_LOCK_KEY})`);
  const results: AppendResult[] = [];
  let lastPosition = '0';
  for (const { streamId, events, expectedVersion } of writes) {
    if (events.length === 0) throw new RangeError(`no events for stream ${streamId}`);
    // The stream's last version and, to chain to it, its seal hash.
    const current = await client.query<{ version: number | null; hash: string | null }>(
      `SELECT stream_version AS version, metadata->'seal'->>'hash' AS hash FROM events WHERE stream_id = $1 ORDER BY stream_version DESC LIMIT 1`,
      [streamId],
    );
    const actual = current.rows[0]?.version ?? -1;
    if (!versionMatches(expectedVersion, actual)) throw new WrongExpectedVersionError(streamId, expectedVersion, actual);
    // Positions are taken before the insert (under the append lock, so in order) and sealed with the event.
    const taken = await client.query<{ p: string }>(`SELECT nextval(pg_get_serial_sequence('events', 'global_position'))::text AS p FROM generate_series(1, $1)`, [
      events.length,
    ]);
    const positions = taken.rows.map((r) => BigInt(r.p)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    let prev = current.rows[0]?.hash ?? null;
    const sealed = events.map((e, i) => {
      if (!sealer) return e;
      const seal = sealer.seal({ ...e, streamId, streamVersion: actual + 1 + i, globalPosition: positions[i] as bigint }, prev);
      prev = seal.hash;
      return { ...e, metadata: { ...e.metadata, [SEAL_METADATA_KEY]: seal } };
    });
    const documents = JSON.stringify(sealed.map(({ id, type, data, metadata }, i) => ({ id, type, data, metadata, position: String(positions[i]) })));
    const inserted = await client.query<{ global_position: string; stream_version: number }>(
      `INSERT INTO events (global_position, event_id, stream_id, stream_version, type, data, metadata)
       SELECT (e.doc->>'position')::bigint, (e.doc->>'id')::uuid, $1, $2::integer + e.ord::integer, e.doc->>'type', e.doc->'data', e.doc->'metadata'
       FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS e(doc, ord)
       ORDER BY e.ord
       RETURNING global_position, stream_version`,
      [streamId, actual, documents],
    );
    const last = inserted.rows.reduce((a, b) => (a.stream_version > b.stream_version ? a : b));
    lastPosition = last.global_position;
    results.push({ nextExpectedVersion: last.stream_version, lastGlobalPosition: BigInt(last.global_position) });
  }
  // Delivered at commit, so a listener never reads ahead of what is visible.
  await client.query('SELECT pg_notify($1, $2)', [channel, lastPosition]);
  return results;
}

/** Consecutive events of one stream together, in the order read. */
function groupByStream(events: readonly StoredEvent[]): StoredEvent[][] {
  const streams: StoredEvent[][] = [];
  let current: StoredEvent[] | undefined;
  for (const e of events) {
    if (current?.[0]?.streamId !== e.streamId) streams.push((current = []));
    current.push(e);
  }
  return streams;
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
