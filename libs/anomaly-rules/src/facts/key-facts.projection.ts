/** What the rules need to know about keys, folded from lifecycle events. */
export interface KeyFact {
  purpose: string;
  /** Version -> epoch ms the version was reported compromised. */
  compromisedAt: Record<number, number>;
}

export type KeyFacts = ReadonlyMap<string, KeyFact>;

/** A lifecycle event as the event store returns it (type, data, metadata). */
export interface LifecycleEvent {
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

/**
 * Fold one lifecycle event into the key facts; other events leave them as they are. Returns the
 * changed fact (or null) so callers can update a map without copying it.
 */
export function evolveKeyFact(current: KeyFact | undefined, event: LifecycleEvent): KeyFact | null {
  const keyId = event.data['keyId'];
  if (typeof keyId !== 'string') return null;
  switch (event.type) {
    case 'KeyCreated': {
      const purpose = event.data['purpose'];
      return { purpose: typeof purpose === 'string' ? purpose : 'UNKNOWN', compromisedAt: current?.compromisedAt ?? {} };
    }
    case 'KeyVersionCompromised': {
      const version = event.data['version'];
      const at = Date.parse(String(event.metadata['occurredAt']));
      if (typeof version !== 'number' || Number.isNaN(at)) return null;
      return { purpose: current?.purpose ?? 'UNKNOWN', compromisedAt: { ...(current?.compromisedAt ?? {}), [version]: at } };
    }
    default:
      return null;
  }
}

/**
 * Records already judged that a lifecycle event may change the judgement of: uses of key `keyId`
 * (of `version`, or of any version when null) at or after `from` (epoch ms), for `rule`.
 */
export interface FactRecheck {
  rule: 'version-state' | 'break-glass';
  keyId: string;
  version: number | null;
  from: number;
}

/**
 * The recheck an event calls for when it reaches the detector after records it concerns were
 * evaluated: a version reported compromised (uses from then on), a break-glass key created (any use).
 */
export function recheckOf(event: LifecycleEvent): FactRecheck | null {
  const keyId = event.data['keyId'];
  if (typeof keyId !== 'string') return null;
  const at = Date.parse(String(event.metadata['occurredAt']));
  switch (event.type) {
    case 'KeyVersionCompromised': {
      const version = event.data['version'];
      return typeof version === 'number' && !Number.isNaN(at) ? { rule: 'version-state', keyId, version, from: at } : null;
    }
    case 'KeyCreated':
      // A key cannot be used before it exists: every use of it is concerned, whatever its time says.
      return event.data['purpose'] === 'BREAK_GLASS' ? { rule: 'break-glass', keyId, version: null, from: 0 } : null;
    default:
      return null;
  }
}

/** Fold a sequence of events into a new map (tests, and the detector's start-up). */
export function buildKeyFacts(events: Iterable<LifecycleEvent>, into = new Map<string, KeyFact>()): Map<string, KeyFact> {
  for (const e of events) {
    const keyId = e.data['keyId'];
    if (typeof keyId !== 'string') continue;
    const next = evolveKeyFact(into.get(keyId), e);
    if (next) into.set(keyId, next);
  }
  return into;
}
