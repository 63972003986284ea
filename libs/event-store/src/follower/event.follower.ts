import { checkStreamPrefixes, type EventStore, type EventSubscription, type StoredEvent, type SubscribeOptions } from '../event-store.port';

/** Backoff after a failure: `initialMs`, doubling per failure in a row, never more than `maxMs`. */
export interface FollowerRetry {
  initialMs: number;
  maxMs: number;
}

/**
 * Where a follower saves the position its handler completed through. `save` is called between two
 * completed events (never during a synchronous handler), one call at a time, so an owner may capture
 * its in-memory view synchronously in `save` and store it with the position.
 */
export interface FollowerCheckpoint {
  save(position: bigint): Promise<void>;
  /** Least time between two saves while events arrive after catch-up. Default 5000 ms. */
  everyMs?: number;
}

/** What happened to a follower, for logs and metrics; it keeps retrying unless `retry` is false. */
export interface FollowerErrorInfo {
  /** `follow`: reading or handling events (the follower resubscribes); `checkpoint`: a save (retried). */
  stage: 'follow' | 'checkpoint';
  /** Failures of this stage in a row, 1 for the first. */
  attempt: number;
}

interface CommonFollowOptions {
  /** Names the follower in its status and errors. */
  name: string;
  /**
   * Position to follow from (exclusive); undefined follows from the start. Called once, and again after
   * a failure only if it failed itself. Default: from the start.
   */
  from?: () => bigint | undefined | Promise<bigint | undefined>;
  /**
   * Follow only streams whose id starts with one of these (see SubscribeOptions), on every
   * (re)subscription; undefined: every stream. The position is then that of the last event handled.
   */
  streamPrefixes?: readonly string[];
  /** Saves the handled position after catch-up, at most every `everyMs` while events arrive, and on stop. */
  checkpoint?: FollowerCheckpoint;
  /** Called once, when every event that existed at start has been handled. */
  onCaughtUp?: () => void;
  /** Called on every failure, with the error and how many failed in a row. */
  onError?: (error: Error, info: FollowerErrorInfo) => void;
  /** Backoff between attempts. Default 100 ms to 5000 ms. `false`: stop at the first failure (one-shot reads). */
  retry?: FollowerRetry | false;
}

/** A follower handing over one event at a time. */
export interface EventFollowOptions extends CommonFollowOptions {
  /** Handles one event; the next is delivered once it resolves. A rejection redelivers the event after the backoff. */
  handle(event: StoredEvent): Promise<void> | void;
}

/** What a batch handler may ask about the batch it was given. */
export interface BatchContext {
  /** True when no further event is known to be waiting: the batch was not cut by size and nothing arrived meanwhile. */
  atHead(): boolean;
}

/** A follower handing over events in batches (one transaction each, say). */
export interface BatchFollowOptions extends CommonFollowOptions {
  /** At most `size` events per batch; a smaller batch is handed over `lingerMs` after its first event arrived, or at catch-up. */
  batch: { size: number; lingerMs: number };
  /** Handles a batch in store order; a rejection redelivers all of it after the backoff. */
  handleBatch(events: readonly StoredEvent[], context: BatchContext): Promise<void> | void;
}

export type FollowOptions = EventFollowOptions | BatchFollowOptions;

/** `replaying`: not caught up yet; `live`: caught up and following; `retrying`: waiting after a failure. */
export type FollowerState = 'starting' | 'replaying' | 'live' | 'retrying' | 'stopped' | 'failed';

/** Figures for /readyz and /metrics. */
export interface FollowerStatus {
  name: string;
  state: FollowerState;
  /** Position the handler completed through (the start position before the first event). */
  position: bigint;
  /** True once every event that existed at start was handled; stays true. */
  caughtUp: boolean;
  /** Message of the last failure; null once an event was handled, or the store caught up with, since. */
  lastError: string | null;
  /** Failures in a row, 0 while following normally. */
  failures: number;
  /** Position last saved (or the start position when a checkpoint gave it); null without one. */
  checkpoint: bigint | null;
  /** Message of the last failed save; null once a save succeeded since. */
  checkpointError: string | null;
}

const DEFAULT_RETRY: FollowerRetry = { initialMs: 100, maxMs: 5000 };
const DEFAULT_CHECKPOINT_EVERY_MS = 5000;

const toError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

function isPromise(value: unknown): value is Promise<unknown> {
  return typeof (value as { then?: unknown } | undefined)?.then === 'function';
}

/**
 * Follows the event store from a position: delivers events in order and, when the handler (or the
 * subscription) fails, stops the subscription, waits (bounded exponential backoff), and subscribes
 * again after the last position the handler completed. So no event is skipped, and none is delivered
 * again in this process once its handler completed. Use `followEvents`.
 */
export class EventFollower implements EventSubscription {
  private readonly retry: FollowerRetry | false;
  private readonly streamPrefixes: readonly string[] | undefined;
  private readonly current: FollowerStatus;
  private startKnown = false;
  private startFrom: bigint | undefined;
  private handledAny = false;
  private stopping = false;
  private stopped?: Promise<void>;
  private readonly running: Promise<void>;
  private subscription?: EventSubscription;
  /** Callbacks of a subscription the follower gave up are ignored (it may still be winding down). */
  private generation = 0;
  private endSubscription?: (failure: Error | undefined) => void;
  private wakeSleeper?: () => void;
  private readonly caught: Promise<void>;
  private resolveCaught!: () => void;
  private rejectCaught!: (error: Error) => void;
  // Batch mode.
  private buffer: StoredEvent[] = [];
  private flushes: Promise<void> = Promise.resolve();
  private lingerTimer?: NodeJS.Timeout;
  // Checkpoint.
  private saving: Promise<void> = Promise.resolve();
  private saveTimer?: NodeJS.Timeout;
  private saveFailures = 0;

  constructor(
    private readonly store: EventStore,
    private readonly options: FollowOptions,
  ) {
    this.retry = options.retry === false ? false : (options.retry ?? DEFAULT_RETRY);
    if (this.retry && !(this.retry.initialMs > 0 && this.retry.maxMs >= this.retry.initialMs)) {
      throw new RangeError('retry needs 0 < initialMs <= maxMs');
    }
    if ('batch' in options && !(Number.isInteger(options.batch.size) && options.batch.size > 0 && options.batch.lingerMs >= 0)) {
      throw new RangeError('batch needs a whole size of at least 1 and lingerMs >= 0');
    }
    // Refused here rather than at every subscription attempt, where it would only be retried.
    this.streamPrefixes = checkStreamPrefixes(options.streamPrefixes);
    this.current = { name: options.name, state: 'starting', position: 0n, caughtUp: false, lastError: null, failures: 0, checkpoint: null, checkpointError: null };
    this.caught = new Promise<void>((resolve, reject) => {
      this.resolveCaught = resolve;
      this.rejectCaught = reject;
    });
    // An owner that never awaits caughtUp() must not see an unhandled rejection.
    this.caught.catch(() => undefined);
    this.running = this.run();
  }

  /** Resolves once every event that existed at start was handled; rejects if the follower stops (or fails) first. */
  caughtUp(): Promise<void> {
    return this.caught;
  }

  status(): FollowerStatus {
    return { ...this.current };
  }

  /**
   * Stops following: wakes a backoff at once, waits for the running handler, then saves the checkpoint
   * one last time (when caught up). Events buffered for a batch and not handed over are dropped; the next
   * follower gets them again from its start position.
   */
  stop(): Promise<void> {
    this.stopped ??= this.shutDown();
    return this.stopped;
  }

  private async shutDown(): Promise<void> {
    this.stopping = true;
    this.endSubscription?.(undefined);
    this.wakeSleeper?.();
    await this.running;
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    if (this.options.checkpoint && this.current.caughtUp) await this.saveCheckpoint();
    await this.saving;
    if (this.current.state !== 'failed') this.current.state = 'stopped';
    this.rejectCaught(new Error(`follower ${this.options.name} stopped before it caught up`));
  }

  private async run(): Promise<void> {
    // Start on a later tick so the caller holds the follower before the first delivery.
    await Promise.resolve();
    while (!this.stopping) {
      let failure: Error | undefined;
      try {
        failure = await this.followOnce();
      } catch (e) {
        failure = toError(e);
      }
      // A handler that throws because it is being stopped is not a failure.
      if (this.stopping || failure === undefined) return;
      this.current.failures += 1;
      this.current.lastError = failure.message;
      this.current.state = 'retrying';
      this.options.onError?.(failure, { stage: 'follow', attempt: this.current.failures });
      if (this.retry === false) {
        this.current.state = 'failed';
        this.rejectCaught(failure);
        return;
      }
      await this.sleep(Math.min(this.retry.maxMs, this.retry.initialMs * 2 ** Math.min(this.current.failures - 1, 30)));
    }
  }

  /** One subscription, until it fails (resolves with the error) or the follower stops (undefined). */
  private async followOnce(): Promise<Error | undefined> {
    if (!this.startKnown) {
      const from = await this.options.from?.();
      this.startFrom = from;
      this.current.position = from ?? 0n;
      // A start position given with a checkpoint is where the checkpoint already stands.
      if (this.options.checkpoint && from !== undefined) this.current.checkpoint = from;
      this.startKnown = true;
    }
    if (this.stopping) return undefined;
    const generation = ++this.generation;
    const ended = new Promise<Error | undefined>((resolve) => (this.endSubscription = resolve));
    const fromPosition = this.handledAny ? this.current.position : this.startFrom;
    if (this.current.state !== 'retrying') this.current.state = this.current.caughtUp ? 'live' : 'replaying';
    const subscribeOptions: SubscribeOptions = {
      ...(fromPosition === undefined ? {} : { fromPosition }),
      ...(this.streamPrefixes ? { streamPrefixes: this.streamPrefixes } : {}),
    };
    this.subscription = this.store.subscribeToAll(subscribeOptions, {
      onEvent: (event) => (generation === this.generation ? this.deliver(event, generation) : undefined),
      onCaughtUp: () => {
        if (generation === this.generation) this.subscriptionCaughtUp(generation);
      },
      onError: (error) => {
        if (generation === this.generation) this.endSubscription?.(error);
      },
    });
    const failure = await ended;
    this.generation++;
    this.endSubscription = undefined;
    await this.subscription.stop().catch(() => undefined);
    this.subscription = undefined;
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    this.buffer = [];
    await this.flushes.catch(() => undefined);
    this.flushes = Promise.resolve();
    return failure;
  }

  private deliver(event: StoredEvent, generation: number): Promise<void> | void {
    // Already handled (a store that delivers again after a resubscription): never twice.
    if (event.globalPosition <= this.current.position) return;
    if ('batch' in this.options) {
      this.buffer.push(event);
      if (this.buffer.length >= this.options.batch.size) return this.flush(false);
      if (!this.lingerTimer) {
        this.lingerTimer = setTimeout(() => {
          this.lingerTimer = undefined;
          this.flush(true).catch((e: unknown) => this.failFrom(generation, e));
        }, this.options.batch.lingerMs);
      }
      return;
    }
    const result = this.options.handle(event);
    // A synchronous handler's effect and the new position become visible together (see FollowerCheckpoint).
    if (!isPromise(result)) return this.completed(event.globalPosition);
    return result.then(() => this.completed(event.globalPosition));
  }

  /** Hand the buffered events to the batch handler, after the batches before them. */
  private flush(mayBeAtHead: boolean): Promise<void> {
    if (!('batch' in this.options)) return Promise.resolve();
    const handleBatch = this.options.handleBatch;
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    const batch = this.buffer.splice(0);
    // A failed batch leaves `flushes` rejected, so no later batch runs and skips it.
    const next = this.flushes.then(async () => {
      const last = batch[batch.length - 1];
      if (!last) return;
      await handleBatch(batch, { atHead: () => mayBeAtHead && this.buffer.length === 0 });
      this.completed(last.globalPosition);
    });
    this.flushes = next;
    next.catch(() => undefined);
    return next;
  }

  private failFrom(generation: number, e: unknown): void {
    if (generation === this.generation) this.endSubscription?.(toError(e));
  }

  private subscriptionCaughtUp(generation: number): void {
    if (!('batch' in this.options)) return this.reachedHead();
    this.flush(true).then(
      () => {
        if (generation === this.generation) this.reachedHead();
      },
      (e: unknown) => this.failFrom(generation, e),
    );
  }

  private completed(position: bigint): void {
    if (position > this.current.position) this.current.position = position;
    this.handledAny = true;
    this.recovered();
    if (this.current.caughtUp) this.saveSoon();
  }

  private recovered(): void {
    this.current.failures = 0;
    this.current.lastError = null;
    if (!this.stopping) this.current.state = this.current.caughtUp ? 'live' : 'replaying';
  }

  private reachedHead(): void {
    const first = !this.current.caughtUp;
    this.current.caughtUp = true;
    this.recovered();
    if (!first) return;
    this.resolveCaught();
    this.options.onCaughtUp?.();
    if (this.options.checkpoint) void this.saveCheckpoint();
  }

  private saveSoon(delayMs = this.options.checkpoint?.everyMs ?? DEFAULT_CHECKPOINT_EVERY_MS): void {
    if (!this.options.checkpoint || this.saveTimer || this.stopping) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      void this.saveCheckpoint();
    }, delayMs);
    // A pending save must not keep the process alive; stop() saves anyway.
    this.saveTimer.unref();
  }

  /** Save the position handled now, after any save in flight; a failure is reported and retried. */
  private saveCheckpoint(): Promise<void> {
    const checkpoint = this.options.checkpoint;
    if (!checkpoint) return Promise.resolve();
    this.saving = this.saving.then(async () => {
      const position = this.current.position;
      if (this.current.checkpoint !== null && position <= this.current.checkpoint) return;
      try {
        await checkpoint.save(position);
        this.current.checkpoint = position;
        this.current.checkpointError = null;
        this.saveFailures = 0;
      } catch (e) {
        const error = toError(e);
        this.saveFailures += 1;
        this.current.checkpointError = error.message;
        this.options.onError?.(error, { stage: 'checkpoint', attempt: this.saveFailures });
        const retry = this.retry || DEFAULT_RETRY;
        if (this.saveTimer) clearTimeout(this.saveTimer);
        this.saveTimer = undefined;
        this.saveSoon(Math.min(retry.maxMs, retry.initialMs * 2 ** Math.min(this.saveFailures - 1, 30)));
      }
    });
    return this.saving;
  }

  /** Resolves after `ms`, or at once when stop() is called. */
  private sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakeSleeper = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeSleeper = done;
    });
  }
}

/** Start following `store` (see EventFollower); the follower is running when this returns. */
export function followEvents(store: EventStore, options: FollowOptions): EventFollower {
  return new EventFollower(store, options);
}
