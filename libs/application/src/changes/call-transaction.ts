import { AsyncLocalStorage } from 'node:async_hooks';
import {
  type AppendResult,
  type EventStore,
  type EventSubscription,
  type ExpectedVersion,
  type NewEvent,
  type ReadStreamResult,
  type StoredEvent,
  type StreamWrite,
  type SubscribeOptions,
  type SubscriptionHandler,
  versionMatches,
  WrongExpectedVersionError,
} from '@kms/event-store';

type Hook = () => void | Promise<void>;

interface BufferedStream {
  /** What the stream's version must be when the change commits (as the first write found it). */
  expectedVersion: ExpectedVersion;
  /** Version of the stream before the first buffered event (-1: no stream). */
  baseVersion: number;
  events: NewEvent[];
}

/**
 * The event writes of one call, held until the call is over and then committed together with the
 * call's audit record (see ChangeCommitter). Reads inside the call see its own writes.
 *
 * Why buffered: a change and its audit record must become durable together. Writing events as the
 * call goes and the audit record at the end leaves a window (a crash, an audit failure) in which a
 * committed change has no record, and the caller, who got an error, retries and acts twice.
 */
export class CallTransaction {
  private readonly streams = new Map<string, BufferedStream>();
  private readonly order: string[] = [];
  private readonly committedHooks: Hook[] = [];
  private readonly abortHooks: Hook[] = [];
  private readonly locks = new Set<string>();
  private state: 'open' | 'committed' | 'aborted' = 'open';
  private keepOnFailure = false;
  private settle!: () => void;
  /** Resolves once the transaction is committed or given up: locks held for it are released then. */
  readonly settled = new Promise<void>((resolve) => (this.settle = resolve));

  constructor(private readonly store: EventStore) {}

  get open(): boolean {
    return this.state === 'open';
  }

  hasWrites(): boolean {
    return this.order.length > 0;
  }

  /**
   * Commit the writes even if the call then fails: for a step that is recorded and then answered as
   * a refusal (an approval request made, then APPROVAL_REQUIRED). Otherwise a failing call commits
   * nothing: a change that failed half-way must not leave its first half behind.
   */
  keepWritesOnFailure(): void {
    this.keepOnFailure = true;
  }

  get keepsWritesOnFailure(): boolean {
    return this.keepOnFailure;
  }

  /** Whether the call has written to the stream (its reads of it are not committed state). */
  writesTo(streamId: string): boolean {
    return this.streams.has(streamId);
  }

  /** The buffered writes, in the order their streams were first written. */
  writes(): StreamWrite[] {
    return this.order.map((streamId) => {
      const s = this.streams.get(streamId) as BufferedStream;
      return { streamId, events: s.events, expectedVersion: s.expectedVersion };
    });
  }

  async readStream(streamId: string): Promise<ReadStreamResult> {
    const stored = await this.store.readStream(streamId);
    const buffered = this.streams.get(streamId);
    if (!buffered) return stored;
    const base = stored.events.filter((e) => e.streamVersion <= buffered.baseVersion);
    const recordedAt = new Date(0);
    const own: StoredEvent[] = buffered.events.map((e, i) => ({
      ...e,
      streamId,
      streamVersion: buffered.baseVersion + 1 + i,
      // Not committed yet: no position in the global order.
      globalPosition: -1n,
      recordedAt,
    }));
    return { events: [...base, ...own], currentVersion: buffered.baseVersion + buffered.events.length };
  }

  async appendToStream(streamId: string, events: NewEvent[], options: { expectedVersion: ExpectedVersion }): Promise<AppendResult> {
    if (events.length === 0) throw new RangeError('appendToStream needs at least one event');
    let buffered = this.streams.get(streamId);
    if (buffered) {
      const current = buffered.baseVersion + buffered.events.length;
      if (!versionMatches(options.expectedVersion, current)) throw new WrongExpectedVersionError(streamId, options.expectedVersion, current);
    } else {
      const baseVersion = await this.versionBefore(streamId, options.expectedVersion);
      buffered = { expectedVersion: options.expectedVersion === 'any' ? 'any' : baseVersion < 0 ? 'no_stream' : baseVersion, baseVersion, events: [] };
      this.streams.set(streamId, buffered);
      this.order.push(streamId);
    }
    buffered.events.push(...events);
    return { nextExpectedVersion: buffered.baseVersion + buffered.events.length, lastGlobalPosition: -1n };
  }

  /**
   * The stream's version for a first write. A numeric expectation is taken as is (the caller just
   * read the stream; the commit checks it again). The others are checked against the store now, so
   * "name already taken" is answered at once rather than as a conflict at commit.
   */
  private async versionBefore(streamId: string, expected: ExpectedVersion): Promise<number> {
    if (typeof expected === 'number') return expected;
    const { currentVersion } = await this.store.readStream(streamId);
    if (!versionMatches(expected, currentVersion)) throw new WrongExpectedVersionError(streamId, expected, currentVersion);
    return currentVersion;
  }

  /** Run once the change is durable (cache updates, notifications). Runs at once outside a call. */
  afterCommit(hook: Hook): void {
    this.committedHooks.push(hook);
  }

  /** Run if the change is not committed (release material created for it). */
  onAbort(hook: Hook): void {
    this.abortHooks.push(hook);
  }

  /** Whether this transaction already holds the in-process lock `name` (locks are re-entrant per call). */
  holds(name: string): boolean {
    return this.locks.has(name);
  }

  noteLock(name: string): void {
    this.locks.add(name);
  }

  /** The change is durable: run the after-commit hooks and release locks. */
  async committed(): Promise<void> {
    this.state = 'committed';
    this.settle();
    for (const hook of this.committedHooks.splice(0)) await runQuietly(hook);
  }

  /** The change was not committed (or there was nothing to commit): undo side effects, release locks. */
  async aborted(): Promise<void> {
    this.state = 'aborted';
    this.settle();
    for (const hook of this.abortHooks.splice(0)) await runQuietly(hook);
  }

  /** The outcome is unknown (part of the change committed): release locks, run no hook. */
  async abandoned(): Promise<void> {
    this.state = 'aborted';
    this.settle();
  }

  /** Nothing was written: after-commit hooks still run (there is nothing they could contradict). */
  async finishedWithoutWrites(): Promise<void> {
    await this.committed();
  }
}

async function runQuietly(hook: Hook): Promise<void> {
  try {
    await hook();
  } catch {
    // Hooks keep caches and side stores tidy; the outcome of the call is already decided.
  }
}

const current = new AsyncLocalStorage<CallTransaction>();

/** The transaction of the call being served, if any. */
export function currentTransaction(): CallTransaction | undefined {
  const tx = current.getStore();
  return tx?.open ? tx : undefined;
}

/**
 * True when what a read of `streamId` returns now is committed state that a shared cache may keep:
 * not inside a call that has written to the stream.
 */
export function committedView(streamId: string): boolean {
  return !currentTransaction()?.writesTo(streamId);
}

/** Run `fn` with `tx` as the current call's transaction. */
export function withTransaction<T>(tx: CallTransaction, fn: () => Promise<T>): Promise<T> {
  return current.run(tx, fn);
}

/** Run `hook` once the current call's change is committed, or now when no call is being served. */
export async function afterCommit(hook: Hook): Promise<void> {
  const tx = currentTransaction();
  if (tx) tx.afterCommit(hook);
  else await runQuietly(hook);
}

/** The current call's writes so far are a step to record even if the call then fails (see keepWritesOnFailure). */
export function keepWritesOnFailure(): void {
  currentTransaction()?.keepWritesOnFailure();
}

/** Run `hook` if the current call's change is not committed (no-op outside a call). */
export function onAbort(hook: Hook): void {
  currentTransaction()?.onAbort(hook);
}

/**
 * The event store the application services write through: inside a call, reads and writes go to the
 * call's transaction; outside one (start-up, tools, unit tests of a service) straight to the store.
 */
export class CallScopedEventStore implements EventStore {
  constructor(readonly inner: EventStore) {}

  readStream(streamId: string): Promise<ReadStreamResult> {
    return (currentTransaction() ?? this.inner).readStream(streamId);
  }

  appendToStream(streamId: string, events: NewEvent[], options: { expectedVersion: ExpectedVersion }): Promise<AppendResult> {
    return (currentTransaction() ?? this.inner).appendToStream(streamId, events, options);
  }

  subscribeToAll(options: SubscribeOptions, handler: SubscriptionHandler): EventSubscription {
    return this.inner.subscribeToAll(options, handler);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
