import { type EventSealer, type EventSubscription, type StoredEvent, type SubscriptionHandler } from '@kms/event-store';
import { Client, type Pool } from 'pg';
import { EVENT_COLUMNS, toStoredEvent, type EventRow } from './event-row.mapper';

/** Lets an operator (and the int test) tell the LISTEN connections apart in pg_stat_activity. */
export const LISTENER_APPLICATION_NAME = 'kms-event-store-listener';

export interface PostgresSubscriptionSettings {
  channel: string;
  /** Checks every delivered event's seal; a broken one stops the subscription (onError), never skipped. */
  sealer?: EventSealer;
  batchSize: number;
  pollIntervalMs: number;
  maxReconnectDelayMs: number;
}

/**
 * Catch-up subscription: reads `events` in batches after the last delivered position, then waits for a
 * NOTIFY from an append, or for the poll interval, and reads again. The notification only shortens the
 * wait, so losing one (or the LISTEN connection) delays delivery but never skips an event.
 */
export class PostgresSubscription implements EventSubscription {
  private stopped = false;
  private pendingWake = false;
  private waiter: (() => void) | undefined;
  private listener: Client | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private listenFailures = 0;
  private readonly done: Promise<void>;

  /** The catch-up read: after $1, at most $2 rows, of the subscription's streams (subscriptionBatchQuery). */
  private readonly batchQuery: string;
  private readonly prefixBounds: string[];

  constructor(
    private readonly pool: Pool,
    private readonly settings: PostgresSubscriptionSettings,
    /** Delivered or scanned through: a prefix subscription moves it past the events it skipped. */
    private position: bigint,
    /** Checked prefixes (checkStreamPrefixes), or undefined for every stream. */
    prefixes: readonly string[] | undefined,
    private readonly handler: SubscriptionHandler,
    private readonly onStopped: (subscription: PostgresSubscription) => void,
  ) {
    ({ sql: this.batchQuery, prefixParams: this.prefixBounds } = subscriptionBatchQuery(prefixes));
    // Not awaited: the first reads need not wait for LISTEN, which wakes the loop once it is in place.
    void this.listen();
    this.done = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.done;
  }

  private async run(): Promise<void> {
    let caughtUp = false;
    let readFailures = 0;
    try {
      while (!this.stopped) {
        this.pendingWake = false;
        let events: StoredEvent[];
        let head: bigint | undefined;
        try {
          ({ events, head } = await this.readBatch());
          readFailures = 0;
        } catch {
          // The database is unreachable or restarting: retry with backoff, the subscription stays alive.
          readFailures += 1;
          await this.sleep(backoffMs(readFailures, this.settings.maxReconnectDelayMs));
          continue;
        }
        for (const event of events) {
          if (this.stopped) break;
          // Checked one by one: what precedes a forged row is delivered, the row itself never.
          this.settings.sealer?.check(event, undefined, 'position');
          await this.handler.onEvent(event);
          this.position = event.globalPosition;
        }
        if (events.length < this.settings.batchSize && !this.stopped) {
          // Nothing of ours lies at or before the head any more: the next reads start there, so a caught-up
          // prefix subscription reads what was appended since (by the primary key), not its streams again.
          if (head !== undefined && head > this.position) this.position = head;
          if (!caughtUp) {
            caughtUp = true;
            this.handler.onCaughtUp?.();
          }
          await this.sleep(this.settings.pollIntervalMs);
        }
      }
    } catch (error) {
      // Only the handler and a broken seal get here: a projection that failed must not silently skip
      // the event, and a forged or edited row is not an outage (fail closed, let the owner see why).
      this.stopped = true;
      this.handler.onError?.(error instanceof Error ? error : new Error(String(error)));
    } finally {
      await this.closeListener();
      this.onStopped(this);
    }
  }

  /**
   * The next batch and, for a prefix subscription, the store's head read just before it. Appends take
   * positions and commit in one order (the append lock), so every event up to that head is visible to the
   * batch's read: when the batch is not full, none of ours up to the head is left to read.
   */
  private async readBatch(): Promise<{ events: StoredEvent[]; head: bigint | undefined }> {
    const head = this.prefixBounds.length > 0 ? await readHeadPosition(this.pool) : undefined;
    const result = await this.pool.query<EventRow>(this.batchQuery, [this.position.toString(), this.settings.batchSize, ...this.prefixBounds]);
    return { events: result.rows.map(toStoredEvent), head };
  }

  private wake(): void {
    this.pendingWake = true;
    this.waiter?.();
  }

  /** Resolves after `ms`, or earlier on a notification or stop(). */
  private sleep(ms: number): Promise<void> {
    if (this.pendingWake || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(), ms);
      const finish = (): void => {
        clearTimeout(timer);
        this.waiter = undefined;
        resolve();
      };
      this.waiter = finish;
    });
  }

  private async listen(): Promise<void> {
    this.reconnectTimer = undefined;
    if (this.stopped) return;
    const client = new Client({ ...this.pool.options, application_name: LISTENER_APPLICATION_NAME });
    this.listener = client;
    client.on('notification', () => this.wake());
    client.on('error', () => this.listenerLost(client));
    client.on('end', () => this.listenerLost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${this.settings.channel}`);
      this.listenFailures = 0;
      // Whatever was committed while nobody listened is read now instead of at the next poll.
      this.wake();
    } catch {
      this.listenerLost(client);
    }
  }

  private listenerLost(client: Client): void {
    if (this.listener !== client) return;
    this.listener = undefined;
    client.end().catch(() => undefined);
    if (this.stopped) return;
    this.listenFailures += 1;
    this.reconnectTimer = setTimeout(() => void this.listen(), backoffMs(this.listenFailures, this.settings.maxReconnectDelayMs));
  }

  private async closeListener(): Promise<void> {
    clearTimeout(this.reconnectTimer);
    const client = this.listener;
    this.listener = undefined;
    await client?.end().catch(() => undefined);
  }
}

function backoffMs(attempt: number, maxMs: number): number {
  return Math.min(maxMs, 100 * 2 ** (attempt - 1));
}

/**
 * A subscription's catch-up read: the events after $1, at most $2, of the streams `prefixes` match (all
 * when undefined); `prefixParams` follow $2.
 */
export function subscriptionBatchQuery(prefixes: readonly string[] | undefined): { sql: string; prefixParams: string[] } {
  if (!prefixes) return { sql: `SELECT ${EVENT_COLUMNS} FROM events WHERE global_position > $1 ORDER BY global_position LIMIT $2`, prefixParams: [] };
  const filter = streamPrefixFilter(prefixes, 3);
  return {
    // Sorted by `global_position + 0`, not by the key itself: ordered by the primary key, a LIMIT makes the
    // planner walk it from the position and filter, reading the whole history when few rows match (its
    // estimate for a rare prefix is far too high). This way it reads the matching rows through
    // events_stream_prefix_position and sorts them; once caught up the position is the head, and it reads
    // what follows it by the primary key.
    sql: `SELECT ${EVENT_COLUMNS} FROM events WHERE global_position > $1 AND (${filter.sql}) ORDER BY global_position + 0 LIMIT $2`,
    prefixParams: filter.params,
  };
}

/**
 * The largest position committed (0n for an empty store). Appends take positions and commit in one
 * order (the append lock), so every event up to it is visible to a read that starts afterwards.
 */
export async function readHeadPosition(pool: Pool): Promise<bigint> {
  const { rows } = await pool.query<{ head: string | null }>('SELECT max(global_position)::text AS head FROM events');
  return BigInt(rows[0]?.head ?? 0);
}

/**
 * A page of readStreamsByPrefix: the events of the streams starting with `prefix` after the stream id $3
 * (in the "C" collation), at or before position $1, in stream-id then position order, at most $2; the
 * prefix's parameters follow $3. Read in order from events_stream_prefix_position, with no sort.
 */
export function streamsPageQuery(prefix: string): { sql: string; prefixParams: string[] } {
  const filter = streamPrefixFilter([prefix], 4);
  return {
    sql: `SELECT ${EVENT_COLUMNS} FROM events WHERE (${filter.sql}) AND stream_id COLLATE "C" > $3 AND global_position <= $1
          ORDER BY stream_id COLLATE "C", global_position LIMIT $2`,
    prefixParams: filter.params,
  };
}

/**
 * SQL matching stream ids that start with one of `prefixes`, with its parameters numbered from `first`:
 * for each prefix the range from it (inclusive) to the least string after every string it starts, both
 * compared in the "C" collation. That is byte order, which in a UTF-8 database is code-point order
 * whatever the database's collation: under a linguistic one (en_US) a range misses ids and includes
 * others, and only the "C" comparison can use events_stream_prefix_position. No LIKE, so `%`, `_` and
 * `\` in a prefix are plain characters.
 */
export function streamPrefixFilter(prefixes: readonly string[], first: number): { sql: string; params: string[] } {
  const params: string[] = [];
  const ranges = prefixes.map((prefix) => {
    params.push(prefix);
    const from = `stream_id COLLATE "C" >= $${first + params.length - 1}`;
    const to = prefixUpperBound(prefix);
    if (to === undefined) return `(${from})`;
    params.push(to);
    return `(${from} AND stream_id COLLATE "C" < $${first + params.length - 1})`;
  });
  return { sql: ranges.join(' OR '), params };
}

/**
 * The least string, in code-point order, greater than every string that starts with `prefix`: the prefix
 * with its last code point raised by one, dropping trailing U+10FFFF (nothing is greater) and stepping
 * over the surrogates (no text holds them). Undefined when the prefix is all U+10FFFF.
 */
export function prefixUpperBound(prefix: string): string | undefined {
  const points = Array.from(prefix, (c) => c.codePointAt(0) as number);
  while (points.length > 0) {
    const last = points.pop() as number;
    if (last < 0x10ffff) return String.fromCodePoint(...points, last === 0xd7ff ? 0xe000 : last + 1);
  }
  return undefined;
}
