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

  constructor(
    private readonly pool: Pool,
    private readonly settings: PostgresSubscriptionSettings,
    private position: bigint,
    private readonly handler: SubscriptionHandler,
    private readonly onStopped: (subscription: PostgresSubscription) => void,
  ) {
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
        try {
          events = await this.readBatch();
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

  private async readBatch(): Promise<StoredEvent[]> {
    const result = await this.pool.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE global_position > $1 ORDER BY global_position LIMIT $2`,
      [this.position.toString(), this.settings.batchSize],
    );
    return result.rows.map(toStoredEvent);
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
