import { randomUUID } from 'node:crypto';
import {
  type KeyEvent,
  type KeyState,
  foldKey,
  initialState,
  keyStreamId,
  KmsError,
} from '@kms/domain';
import {
  type AppendResult,
  type EventStore,
  EventStoreUnavailableError,
  type ExpectedVersion,
  type StoredEvent,
  WrongExpectedVersionError,
} from '@kms/event-store';

export interface LoadedKey {
  state: KeyState;
  /** Stream version of the last event folded (-1: no stream). */
  version: number;
}

/** Events in the store are written by this service only; narrow them back to the key event union. */
export function toKeyEvent(e: StoredEvent): KeyEvent {
  return { type: e.type, data: e.data, metadata: e.metadata } as unknown as KeyEvent;
}

/** Map store failures to KMS errors a transport understands. */
export function storeError(e: unknown): unknown {
  if (e instanceof EventStoreUnavailableError) return new KmsError('STORE_UNAVAILABLE', 'event store unavailable');
  return e;
}

/** Loads and appends key streams. */
export class KeyRepository {
  constructor(private readonly store: EventStore) {}

  async load(keyId: string): Promise<LoadedKey> {
    try {
      const { events, currentVersion } = await this.store.readStream(keyStreamId(keyId));
      return { state: foldKey(events.map(toKeyEvent), initialState()), version: currentVersion };
    } catch (e) {
      throw storeError(e);
    }
  }

  /** Append with optimistic concurrency. Throws WrongExpectedVersionError on conflict. */
  async append(keyId: string, events: KeyEvent[], expectedVersion: ExpectedVersion): Promise<AppendResult> {
    try {
      return await this.store.appendToStream(
        keyStreamId(keyId),
        events.map((e) => ({ id: randomUUID(), type: e.type, data: { ...e.data }, metadata: { ...e.metadata } })),
        { expectedVersion },
      );
    } catch (e) {
      if (e instanceof WrongExpectedVersionError) throw e;
      throw storeError(e);
    }
  }
}
