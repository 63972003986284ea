import {
  type EscrowCeremonyEvent,
  escrowCeremonyEventCodec,
  escrowCeremonyStreamTarget,
  evolve,
  type ExistingKeyState,
  idOfStream,
  KEY_STREAM_PREFIX,
  keyEventCodec,
  type KeyEvent,
} from '@kms/domain';
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
  /** Break-glass keys: the escrow ceremony of each sealed version, as far as deadlines need it. */
  escrow?: Readonly<Record<number, EscrowCeremonyView>>;
}

/**
 * What the scheduler knows about one version's escrow ceremony (docs/break-glass.md): once it is
 * superseded, its declarations are settled at declareBy, or at once when every custodian declared.
 */
export interface EscrowCeremonyView {
  ceremonyId: string;
  status: 'SEALING' | 'SUPERSEDED' | 'DESTROYED';
  custodians: string[];
  declared: string[];
  declareBy: string | null;
  /** When the last declaration came in. */
  lastDeclaredAt: string | null;
  overdueRaised: boolean;
  streamVersion: number;
}

/** Apply one escrow ceremony event to the view of its version. Pure. */
export function evolveEscrowCeremonyView(current: EscrowCeremonyView | undefined, event: EscrowCeremonyEvent, streamVersion: number): EscrowCeremonyView | undefined {
  if (current && streamVersion <= current.streamVersion) return current;
  if (event.type === 'SealingCeremonyOpened') {
    return { ceremonyId: event.data.ceremonyId, status: 'SEALING', custodians: [...event.data.custodians], declared: [], declareBy: null, lastDeclaredAt: null, overdueRaised: false, streamVersion };
  }
  if (!current) return undefined;
  switch (event.type) {
    case 'EscrowPackagesSuperseded':
      return { ...current, status: 'SUPERSEDED', declareBy: event.data.declareBy, streamVersion };
    case 'PackageDestructionDeclared':
      return current.declared.includes(event.data.custodianId)
        ? { ...current, streamVersion }
        : { ...current, declared: [...current.declared, event.data.custodianId], lastDeclaredAt: event.metadata.occurredAt, streamVersion };
    case 'EscrowDeclarationOverdue':
      return { ...current, overdueRaised: true, streamVersion };
    case 'EscrowedVersionDestroyed':
      return { ...current, status: 'DESTROYED', streamVersion };
    default:
      return { ...current, streamVersion };
  }
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
  return { ...(current?.escrow ? { escrow: current.escrow } : {}), state: next, retiredAt, streamVersion };
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

/** The key id of a stored escrow ceremony event, or undefined for every other stream or event type. */
export function escrowKeyIdOf(e: Pick<StoredEvent, 'streamId' | 'type'>): string | undefined {
  return escrowCeremonyEventCodec.accepts(e.type) ? escrowCeremonyStreamTarget(e.streamId)?.keyId : undefined;
}

/** Apply one stored event to a map of views; ignores events of neither keys nor escrow ceremonies. */
export function applyStoredEvent(keys: Map<string, ScheduledKey>, e: StoredEvent): void {
  const target = escrowCeremonyEventCodec.accepts(e.type) ? escrowCeremonyStreamTarget(e.streamId) : undefined;
  if (target) {
    const key = keys.get(target.keyId);
    if (!key) return;
    const view = evolveEscrowCeremonyView(key.escrow?.[target.version], escrowCeremonyEventCodec.parse(e), e.streamVersion);
    if (view) keys.set(target.keyId, { ...key, escrow: { ...key.escrow, [target.version]: view } });
    return;
  }
  const keyId = keyIdOf(e);
  if (keyId === undefined) return;
  const next = evolveScheduledKey(keys.get(keyId), storedToKeyEvent(e), e.streamVersion);
  if (next) keys.set(keyId, next);
}
