import { evolve, type ExistingKeyState, idOfStream, KEY_STREAM_PREFIX, keyEventCodec, type KeyEvent } from '@kms/domain';
import type { StoredEvent } from '@kms/event-store';

/**
 * What the scheduler knows about one key: its domain state plus when each former primary version
 * stopped being primary (the domain state forgets it, retention counts from it).
 */
export interface ScheduledKey {
  state: ExistingKeyState;
  /** Version number -> ISO time it stopped being primary. */
  retiredAt: Readonly<Record<number, string>>;
  /** Stream version of the last event applied (idempotence). */
  streamVersion: number;
}

/** The key id of a stored key event, or undefined for every other stream or event type. */
export function keyIdOf(e: Pick<StoredEvent, 'streamId' | 'type'>): string | undefined {
  return keyEventCodec.accepts(e.type) ? idOfStream(KEY_STREAM_PREFIX, e.streamId) : undefined;
}

/** Apply one key event to the scheduler's view of the key. Pure; unknown situations keep the view. */
export function evolveScheduledKey(current: ScheduledKey | undefined, event: KeyEvent, streamVersion: number): ScheduledKey | undefined {
  if (current && streamVersion <= current.streamVersion) return current;
  const next = evolve(current?.state ?? { status: 'NotCreated' }, event);
  if (next.status === 'NotCreated') return current;
  let retiredAt = current?.retiredAt ?? {};
  if (event.type === 'PrimaryVersionChanged' && event.data.previousVersion !== null) {
    retiredAt = { ...retiredAt, [event.data.previousVersion]: event.metadata.occurredAt };
  }
  return { state: next, retiredAt, streamVersion };
}

/** A stored event as a domain key event (the store keeps them as plain JSON). */
export function storedToKeyEvent(e: StoredEvent): KeyEvent {
  return keyEventCodec.parse(e);
}

/** Fold stored events (any streams, global order) into one view per key. */
export function foldScheduledKeys(events: Iterable<StoredEvent>, into: Map<string, ScheduledKey> = new Map()): Map<string, ScheduledKey> {
  for (const e of events) applyStoredEvent(into, e);
  return into;
}

/** Apply one stored event to a map of views; ignores non-key events. */
export function applyStoredEvent(keys: Map<string, ScheduledKey>, e: StoredEvent): void {
  const keyId = keyIdOf(e);
  if (keyId === undefined) return;
  const next = evolveScheduledKey(keys.get(keyId), storedToKeyEvent(e), e.streamVersion);
  if (next) keys.set(keyId, next);
}
