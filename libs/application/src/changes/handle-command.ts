import { randomUUID } from 'node:crypto';
import { type Decider, type EventCodec, foldWith, KmsError } from '@kms/domain';
import { EventIntegrityError, type EventStore, EventStoreUnavailableError, WrongExpectedVersionError } from '@kms/event-store';
import { afterCommit, currentTransaction, onAbort } from './call-transaction';

/** A command ready to decide, and how to undo what preparing it did (material made for it). */
export interface Prepared<C> {
  command: C;
  undo?: () => Promise<void>;
}

export interface HandleCommandOptions<S, E = unknown> {
  /** The command creates the stream (it must not exist). */
  expectNew?: boolean;
  /** Conflicts with a concurrent writer retried before giving up. Default 3. */
  retries?: number;
  /** In-process serialization of commands on the same stream. */
  locks?: StreamLocks;
  /** Runs once the events are committed (caches, catalogs, notifications). */
  onCommitted?: (state: S, version: number, events: E[]) => void | Promise<void>;
  /** The error when a concurrent writer kept winning. */
  conflict?: () => Error;
}

export interface Handled<S, E> {
  /** State before and after the command. */
  before: S;
  state: S;
  events: E[];
  /** Stream version after the command (-1: the stream does not exist). */
  version: number;
}

/**
 * How many times a change (a command, or a call's whole change) is run again after another writer
 * moved one of its streams. Each conflict means another change to the stream committed, so of N
 * changes racing on one stream (through one replica or several) each needs at most N - 1 retries:
 * this lets a burst of nine concurrent changes to one key all succeed, as through a single process.
 */
export const MAX_CONFLICT_RETRIES = 8;

/**
 * Another writer moved the stream: wait before reloading, exponentially from 5 ms up to 160 ms, the
 * second half of each step at random, so writers that collided do not collide again in step.
 */
export function conflictBackoff(attempt: number): Promise<void> {
  const step = Math.min(160, 5 * 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, step / 2 + (Math.random() * step) / 2));
}

/** Map store failures to KMS errors a transport understands. */
export function storeError(e: unknown): unknown {
  if (e instanceof EventStoreUnavailableError) return new KmsError('STORE_UNAVAILABLE', 'event store unavailable');
  // Fail closed: a stream someone else wrote to is not used; the message names the record, never its data.
  if (e instanceof EventIntegrityError) return new KmsError('INTEGRITY_VIOLATION', `${e.message}; the change was refused`);
  return e;
}

/** Load a stream and fold it with the decider. */
export async function loadAggregate<C, E, S>(store: EventStore, decider: Decider<C, E, S>, codec: EventCodec<E>, streamId: string): Promise<{ state: S; version: number }> {
  try {
    const { events, currentVersion } = await store.readStream(streamId);
    return { state: foldWith(decider, events.map((e) => codec.parse(e))), version: currentVersion };
  } catch (e) {
    throw storeError(e);
  }
}

/**
 * The one command handler (STYLE.md 16): load the stream, prepare the command (an explicit step for
 * side effects such as key material, undone if the command is not committed), decide once, append
 * with the expected version, retry a bounded number of times on a concurrent write, and update
 * caches once committed. Inside a call the append joins the call's transaction.
 */
export async function handleCommand<C, E extends { type: string; data: object; metadata: object }, S>(
  store: EventStore,
  decider: Decider<C, E, S>,
  codec: EventCodec<E>,
  streamId: string,
  prepare: (state: S) => Prepared<C> | Promise<Prepared<C>>,
  options: HandleCommandOptions<S, E> = {},
): Promise<Handled<S, E>> {
  const run = async (): Promise<Handled<S, E>> => {
    const retries = options.retries ?? MAX_CONFLICT_RETRIES;
    for (let attempt = 0; ; attempt++) {
      const { state, version } = options.expectNew ? { state: decider.initialState(), version: -1 } : await loadAggregate(store, decider, codec, streamId);
      const { command, undo } = await prepare(state);
      let events: E[];
      try {
        events = decider.decide(command, state);
      } catch (e) {
        await undo?.();
        throw e;
      }
      if (events.length === 0) {
        await undo?.();
        return { before: state, state, events, version };
      }
      try {
        const appended = await store.appendToStream(
          streamId,
          events.map((e) => ({ id: randomUUID(), type: e.type, data: { ...e.data } as Record<string, unknown>, metadata: { ...e.metadata } as Record<string, unknown> })),
          { expectedVersion: options.expectNew ? 'no_stream' : version },
        );
        const next = events.reduce((s, e) => decider.evolve(s, e), state);
        if (undo) onAbort(undo);
        const onCommitted = options.onCommitted;
        if (onCommitted) await afterCommit(() => onCommitted(next, appended.nextExpectedVersion, events));
        return { before: state, state: next, events, version: appended.nextExpectedVersion };
      } catch (e) {
        await undo?.();
        if (e instanceof WrongExpectedVersionError && attempt < retries && !options.expectNew) {
          await conflictBackoff(attempt);
          continue;
        }
        if (e instanceof WrongExpectedVersionError) throw options.conflict?.() ?? e;
        throw storeError(e);
      }
    }
  };
  return options.locks ? options.locks.run(streamId, run) : run();
}

/**
 * Commands on one stream run one after another in this process, so local callers do not race.
 * Inside a call the lock is held until the call's change is committed (or given up), and a call
 * that already holds it (an approved operation) goes straight in.
 */
export class StreamLocks {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const tx = currentTransaction();
    if (tx?.holds(name)) return fn();
    tx?.noteLock(name);
    const previous = this.tails.get(name) ?? Promise.resolve();
    const result = previous.then(fn, fn);
    const tail = tx ? result.then(() => tx.settled, () => tx.settled) : result.catch(() => undefined);
    this.tails.set(name, tail);
    void tail.then(() => {
      if (this.tails.get(name) === tail) this.tails.delete(name);
    });
    return result;
  }
}
