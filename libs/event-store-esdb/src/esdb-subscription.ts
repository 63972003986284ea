import {
  BACKWARDS,
  END,
  START,
  excludeSystemEvents,
  streamNameFilter,
  type AllStreamSubscription,
  type EventStoreDBClient,
} from '@eventstore/db-client';
import { matchesStreamPrefixes, type EventSealer, type EventSubscription, type SubscriptionHandler } from '@kms/event-store';
import { globalPositionOf, isSystemEvent, isTransient, toStoredEvent } from './esdb-mapping';

/** How far back from the end of $all to look for the last non-system event when a subscription starts. */
const HEAD_SCAN_LIMIT = 4096;

/**
 * What $all held when the subscription started: the commit position of its last non-system event (of the
 * subscription's streams), 'empty' when it holds none, or 'unknown' when that event lies beyond the scan
 * limit (then only the server's caught-up message tells).
 */
type Head = bigint | 'empty' | 'unknown';

/**
 * Catch-up subscription to $all without system events. Positions are commit positions; events at or before
 * the last delivered one are dropped here too, so `fromPosition` stays exclusive and a resubscription after
 * a dropped connection delivers nothing twice.
 */
export class EsdbSubscription implements EventSubscription {
  private stopped = false;
  private caughtUp = false;
  private failures = 0;
  private current: AllStreamSubscription | undefined;
  private waiter: (() => void) | undefined;
  private readonly done: Promise<void>;

  constructor(
    private readonly client: Pick<EventStoreDBClient, 'readAll' | 'subscribeToAll'>,
    private position: bigint | undefined,
    private readonly handler: SubscriptionHandler,
    private readonly maxReconnectDelayMs: number,
    private readonly onStopped: (subscription: EsdbSubscription) => void,
    /** Checks every event's seal before it is delivered; a broken one stops the subscription (onError), never skipped. */
    private readonly sealer?: EventSealer,
    /** Checked prefixes (checkStreamPrefixes): the server filters by stream name; undefined for every stream. */
    private readonly prefixes?: readonly string[],
  ) {
    this.done = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.waiter?.();
    // Ends a pending read of the subscription; run() cancels the call itself.
    this.current?.destroy();
    await this.done;
  }

  private async run(): Promise<void> {
    let head: Head | undefined;
    try {
      while (!this.stopped) {
        try {
          head ??= await this.readHead();
          if (head === 'empty' || (typeof head === 'bigint' && this.position !== undefined && head <= this.position)) this.reportCaughtUp();
          await this.consume(head);
        } catch (error) {
          if (this.stopped) break;
          if (!isTransient(error)) {
            this.fail(error);
            break;
          }
        }
        // The server ended the subscription or the connection dropped: resubscribe after the last delivered event.
        this.failures += 1;
        await this.sleep(Math.min(this.maxReconnectDelayMs, 100 * 2 ** (this.failures - 1)));
      }
    } finally {
      this.onStopped(this);
    }
  }

  /** Finds what "caught up" means for this subscription, for servers that never send a caught-up message. */
  private async readHead(): Promise<Head> {
    const read = this.client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: HEAD_SCAN_LIMIT });
    // Errors reach us through the iterator; this keeps one emitted after we stopped reading from crashing the process.
    read.on('error', () => undefined);
    let scanned = 0;
    try {
      for await (const resolved of read) {
        scanned += 1;
        if (resolved.event && this.delivers(resolved.event)) return resolved.event.position.commit;
      }
    } finally {
      await read.cancel();
    }
    return scanned < HEAD_SCAN_LIMIT ? 'empty' : 'unknown';
  }

  private async consume(head: Head): Promise<void> {
    if (this.stopped) return;
    const from = this.position;
    const subscription = this.client.subscribeToAll({
      fromPosition: from === undefined ? START : { commit: from, prepare: from },
      // One filter per subscription: by stream name the server skips the other streams (system ones too,
      // unless a prefix starts with `$`: delivers() drops those here).
      filter: this.prefixes ? streamNameFilter({ prefixes: [...this.prefixes] }) : excludeSystemEvents(),
    });
    this.current = subscription;
    // Errors reach us through the iterator; this keeps one emitted after we stopped reading from crashing the process.
    subscription.on('error', () => undefined);
    let pulled = 0;
    let finished = 0;
    let serverCaughtUpAt: number | undefined;
    subscription.on('caughtUp', () => {
      // The server's marker follows the events before it: those are pulled already or still buffered.
      serverCaughtUpAt ??= pulled + subscription.readableLength;
      if (finished >= serverCaughtUpAt) this.reportCaughtUp();
    });
    try {
      for await (const resolved of subscription) {
        pulled += 1;
        this.failures = 0;
        if (this.stopped) return;
        const recorded = resolved.event;
        const position = recorded ? globalPositionOf(recorded.position) : undefined;
        if (recorded && position !== undefined && this.delivers(recorded) && (this.position === undefined || position > this.position)) {
          try {
            const event = toStoredEvent(recorded, position);
            // Checked one by one: what precedes a forged event is delivered, the event itself never.
            this.sealer?.check(event, undefined, 'stream');
            await this.handler.onEvent(event);
          } catch (error) {
            // A failed handler must not skip the event, and a forged one is not an outage: stop, say why.
            this.fail(error);
            return;
          }
          this.position = position;
          if (typeof head === 'bigint' && position >= head) this.reportCaughtUp();
        }
        finished += 1;
        if (serverCaughtUpAt !== undefined && finished >= serverCaughtUpAt) this.reportCaughtUp();
      }
    } finally {
      this.current = undefined;
      subscription.removeAllListeners('caughtUp');
      await subscription.unsubscribe().catch(() => undefined);
    }
  }

  /** Not a system event, and of the subscription's streams (the server filters already; checked again here). */
  private delivers(event: { type: string; streamId: string }): boolean {
    return !isSystemEvent(event) && matchesStreamPrefixes(event.streamId, this.prefixes);
  }

  private reportCaughtUp(): void {
    if (this.caughtUp || this.stopped) return;
    this.caughtUp = true;
    try {
      this.handler.onCaughtUp?.();
    } catch (error) {
      this.fail(error);
    }
  }

  /** Stops for good and tells the handler why. */
  private fail(error: unknown): void {
    if (this.stopped) return;
    this.stopped = true;
    this.handler.onError?.(error instanceof Error ? error : new Error(String(error)));
    this.current?.destroy();
    this.waiter?.();
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
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
}
