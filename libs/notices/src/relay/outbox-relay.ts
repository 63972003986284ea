import { type EventFollower, type EventStore, followEvents, type StoredEvent } from '@kms/event-store';
import type { NoticeMapper } from '../notice/notice.mapper';
import type { Notice } from '../notice/notice.model';
import type { NoticePublisher } from '../ports/notice-publisher.port';
import type { NoticeStore } from '../ports/notice-store.port';

export interface OutboxRelayOptions {
  /** Checkpoint name; one per relay. Default `kms-notices`. */
  name?: string;
  mapper: NoticeMapper;
  store: NoticeStore;
  /** Absent in standalone mode: notices are only recorded. */
  publisher?: NoticePublisher;
  /** Highest global position in the event store, for the lag figure. */
  eventsHead?: () => Promise<bigint>;
  now?: () => Date;
  /** First retry delay after a failed publish or store write. Default 100 ms. */
  initialRetryDelayMs?: number;
  /** Longest delay between retries. Default 5000 ms. */
  maxRetryDelayMs?: number;
  /** Commit the checkpoint after this many events without a notice. Default 200. */
  checkpointEvery?: number;
  /** Called once per acknowledged notice with the event→ack latency (metrics). */
  onAcknowledged?: (notice: Notice, latencyMs: number) => void;
  /** Called on every failed attempt (metrics, logs); the relay keeps retrying. */
  onRetry?: (stage: 'record' | 'publish' | 'commit', error: Error, attempt: number) => void;
}

export interface RelayStatus {
  state: 'idle' | 'replaying' | 'running' | 'stopped' | 'failed';
  /** Position committed to the store. */
  checkpoint: bigint;
  /** Position up to which every event has been handled (its notice recorded and acknowledged). */
  handled: bigint;
  /** The notice the relay is waiting on (publish not acknowledged yet), and since when its event exists. */
  waitingOn: { id: string; subject: string; eventRecordedAt: Date; attempts: number } | null;
  lastError: string | null;
  published: number;
  recorded: number;
}

export interface RelayLag {
  head: bigint;
  positions: bigint;
  /** Age of the oldest notice not yet acknowledged (0 when none is waiting). */
  oldestUnpublishedSeconds: number;
}

class RelayStopped extends Error {
  override readonly name = 'RelayStopped';
}

/**
 * The notice outbox: follows the event store by subscription and, for each event that makes a
 * notice, records it, publishes it and only then commits the checkpoint (at-least-once). Events are
 * handled one at a time in store order, so notices keep their order (per key and overall); a failed
 * publish or write is retried with backoff for as long as it takes, never skipped.
 *
 * The mapper needs every event from the start (tenant, fingerprints), so the relay always subscribes
 * from the beginning and only replays state up to the checkpoint.
 */
export class OutboxRelay {
  private readonly name: string;
  private readonly now: () => Date;
  private follower?: EventFollower;
  private stopping = false;
  private wakeSleeper: (() => void) | null = null;
  private uncommitted = 0;
  private readonly status: RelayStatus = {
    state: 'idle',
    checkpoint: 0n,
    handled: 0n,
    waitingOn: null,
    lastError: null,
    published: 0,
    recorded: 0,
  };

  constructor(
    private readonly events: EventStore,
    private readonly options: OutboxRelayOptions,
  ) {
    this.name = options.name ?? 'kms-notices';
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Load the checkpoint and start following. Resolves once subscribed, not once caught up: with the
   * broker down the relay waits on its first notice, and the process must still boot (standalone HTTP,
   * health). Await `caughtUp()` for that.
   */
  async start(): Promise<void> {
    const checkpoint = await this.options.store.loadCheckpoint(this.name);
    this.status.checkpoint = checkpoint;
    this.status.handled = checkpoint;
    this.status.state = 'replaying';
    // Record, publish and commit retry inside handle(); a failure that escapes it (the mapper) is
    // retried by the follower, which feeds the same event again after a backoff.
    this.follower = followEvents(this.events, {
      name: this.name,
      handle: (e) => this.handle(e),
      onCaughtUp: () => (this.status.state = 'running'),
      retry: { initialMs: this.options.initialRetryDelayMs ?? 100, maxMs: this.options.maxRetryDelayMs ?? 5000 },
    });
  }

  /** Resolves once every event that existed at start has been handled (rejects if the relay stopped first). */
  caughtUp(): Promise<void> {
    if (!this.follower) return Promise.reject(new Error('relay not started'));
    return this.follower.caughtUp();
  }

  /** Stop following. A notice published but not committed yet is sent again by the next relay. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeSleeper?.();
    await this.follower?.stop();
    if (this.uncommitted > 0 && this.status.handled > this.status.checkpoint) {
      // Best effort: a lost commit of events without notices only costs a replay.
      await this.options.store.commit(this.name, this.status.handled).then(
        () => (this.status.checkpoint = this.status.handled),
        () => undefined,
      );
    }
    if (this.status.state !== 'failed') this.status.state = 'stopped';
  }

  snapshot(): RelayStatus {
    // While the follower waits to feed a failed event again, the relay is failed (not ready).
    const follower = this.follower?.status();
    const failed = follower?.state === 'retrying' || follower?.state === 'failed';
    return {
      ...this.status,
      ...(failed ? { state: 'failed' as const, lastError: follower.lastError } : {}),
      waitingOn: this.status.waitingOn && { ...this.status.waitingOn },
    };
  }

  /** Lag behind the store head, in positions and in age of the oldest unacknowledged notice. */
  async lag(): Promise<RelayLag> {
    const head = this.options.eventsHead ? await this.options.eventsHead() : this.status.handled;
    const waiting = this.status.waitingOn;
    const age = waiting ? Math.max(0, (this.now().getTime() - waiting.eventRecordedAt.getTime()) / 1000) : 0;
    const positions = head > this.status.handled ? head - this.status.handled : 0n;
    return { head, positions, oldestUnpublishedSeconds: age };
  }

  private async handle(e: StoredEvent): Promise<void> {
    // Every event goes through the mapper, including replayed ones, to rebuild its state.
    const notice = this.options.mapper.apply(e);
    if (e.globalPosition <= this.status.checkpoint) return;
    if (!notice) {
      this.status.handled = e.globalPosition;
      this.uncommitted += 1;
      if (this.uncommitted >= (this.options.checkpointEvery ?? 200)) await this.commit(e.globalPosition);
      return;
    }
    const { store, publisher } = this.options;
    await this.retrying('record', () => store.record(notice));
    this.status.recorded += 1;
    let published: { id: string; at: Date } | undefined;
    if (publisher) {
      this.status.waitingOn = { id: notice.id, subject: notice.subject, eventRecordedAt: e.recordedAt, attempts: 0 };
      await this.retrying('publish', () => publisher.publish(notice));
      const at = this.now();
      this.status.waitingOn = null;
      this.status.published += 1;
      this.options.onAcknowledged?.(notice, at.getTime() - e.recordedAt.getTime());
      published = { id: notice.id, at };
    }
    this.status.handled = e.globalPosition;
    await this.commit(e.globalPosition, published);
  }

  private async commit(position: bigint, published?: { id: string; at: Date }): Promise<void> {
    await this.retrying('commit', () => this.options.store.commit(this.name, position, published));
    this.status.checkpoint = position;
    this.uncommitted = 0;
  }

  private async retrying(stage: 'record' | 'publish' | 'commit', work: () => Promise<void>): Promise<void> {
    const initial = this.options.initialRetryDelayMs ?? 100;
    const max = this.options.maxRetryDelayMs ?? 5000;
    for (let attempt = 1; ; attempt++) {
      if (this.stopping) throw new RelayStopped('relay stopped');
      try {
        await work();
        this.status.lastError = null;
        return;
      } catch (e) {
        const error = e instanceof Error ? e : new Error(String(e));
        this.status.lastError = `${stage}: ${error.message}`;
        if (this.status.waitingOn && stage === 'publish') this.status.waitingOn.attempts = attempt;
        this.options.onRetry?.(stage, error, attempt);
        await this.sleep(Math.min(max, initial * 2 ** Math.min(attempt - 1, 16)));
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakeSleeper = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      // stop() calls it so a long backoff does not hold the shutdown.
      this.wakeSleeper = done;
    });
  }
}
