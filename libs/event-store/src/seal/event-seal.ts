import { createHmac, timingSafeEqual } from 'node:crypto';
import { eventSealHash, SEAL_METADATA_KEY, type SealScope, STREAM_SEAL_SCOPE } from '@kms/evidence';
import type { StoredEvent, StoredStreamReader } from '../event-store.port';

export { SEAL_METADATA_KEY, type SealScope, STREAM_SEAL_SCOPE } from '@kms/evidence';

/**
 * An event's seal, made by the writer when the event is appended: `hash` is the SHA-256 of the
 * event's canonical bytes (stream, version, global position, id, type, data, metadata without the
 * seal) and of the
 * previous event's hash in its stream (`prev`, null for the first), so the stream is a hash chain;
 * `mac` is an HMAC-SHA256 of `hash` under a key the database never sees. Whoever can write to the
 * database can neither forge an event, edit one in place, reorder a stream nor drop an event from
 * it without the readers noticing. A stream-scoped seal (`scope: 'stream'`, EventStoreDB, which
 * assigns positions at write time) covers everything but the global position.
 */
export interface EventSeal {
  prev: string | null;
  hash: string;
  mac: string;
  /** Present only on stream-scoped seals; a seal without it covers the global position too. */
  scope?: typeof STREAM_SEAL_SCOPE;
}

/** What a seal covers. */
export interface SealableEvent {
  streamId: string;
  streamVersion: number;
  /**
   * Its place in the store's global order (reserved before the insert, so it is sealed too), or
   * null for a stream-scoped seal: the store assigns the position when it writes.
   */
  globalPosition: bigint | null;
  id: string;
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

/** A stored event whose seal is missing, wrong, or does not chain: the store was written to by someone else. */
export class EventIntegrityError extends Error {
  override readonly name = 'EventIntegrityError';
  constructor(
    readonly streamId: string,
    readonly streamVersion: number,
    readonly globalPosition: bigint | undefined,
    readonly problem: string,
  ) {
    super(`event store integrity: ${streamId} version ${streamVersion}${globalPosition !== undefined ? ` (position ${globalPosition})` : ''}: ${problem}`);
  }
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** Makes and checks seals with one key (derived from the master key, or held by the HSM's owner). */
export class EventSealer {
  private readonly observers = new Set<(violation: EventIntegrityError) => void>();

  constructor(private readonly key: Buffer) {
    if (key.length < 32) throw new RangeError('the seal key must be at least 32 bytes');
  }

  /**
   * Call `observer` with every violation any check of this sealer finds, before the check throws:
   * every reader of a process checks through its one sealer, so this is where its integrity alarm
   * listens. An observer must not throw (what it throws is ignored). Returns the unsubscribe.
   */
  onViolation(observer: (violation: EventIntegrityError) => void): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  // The canonical hash lives in @kms/evidence: the offline evidence verifier recomputes it without the key.
  private hashOf(e: SealableEvent, prev: string | null): string {
    return eventSealHash(e, prev);
  }

  /**
   * Whether `mac` is this key's MAC of `hash` (the seal's MAC alone, not what it covers): tells a
   * history sealed under another key (the seal key changed) from one this key sealed.
   */
  madeWithThisKey(hash: string, mac: string): boolean {
    return sameHex(this.macOf(hash), mac);
  }

  private macOf(hash: string): string {
    return createHmac('sha256', this.key).update(hash, 'hex').digest('hex');
  }

  /**
   * The seal of `e` following an event whose hash is `prev` (null: the stream's first event).
   * A null `globalPosition` makes a stream-scoped seal.
   */
  seal(e: SealableEvent, prev: string | null): EventSeal {
    const hash = this.hashOf(e, prev);
    const seal: EventSeal = { prev, hash, mac: this.macOf(hash) };
    return e.globalPosition === null ? { ...seal, scope: STREAM_SEAL_SCOPE } : seal;
  }

  /**
   * Check one stored event's seal: present, its MAC right, its hash the hash of what is stored. With
   * `prev` given, also that it follows that hash; with `scope` given, that the seal is of that scope
   * (a store requires the scope it writes). Without `scope`, the seal's own marker says what its hash
   * covers — a marker changed by hand changes what is hashed, so the check fails. Returns the seal.
   */
  check(e: StoredEvent, prev?: string | null, scope?: SealScope): EventSeal {
    const fail = (problem: string): never => this.refuse(new EventIntegrityError(e.streamId, e.streamVersion, e.globalPosition, problem));
    const s = e.metadata[SEAL_METADATA_KEY] as Partial<EventSeal> | undefined;
    if (!s || typeof s.hash !== 'string' || typeof s.mac !== 'string' || (s.prev !== null && typeof s.prev !== 'string')) return fail('the event is not sealed');
    if (s.scope !== undefined && s.scope !== STREAM_SEAL_SCOPE) return fail('the seal has an unknown scope');
    const sealed: SealScope = s.scope === STREAM_SEAL_SCOPE ? 'stream' : 'position';
    if (!sameHex(this.macOf(s.hash), s.mac)) return fail('the seal was not made with the KMS key (forged)');
    if (scope !== undefined && sealed !== scope) return fail(`the seal is ${sealed}-scoped, this store writes ${scope}-scoped seals`);
    const covered = sealed === 'stream' ? { ...e, globalPosition: null } : e;
    if (!sameHex(this.hashOf(covered, s.prev ?? null), s.hash)) return fail('the event differs from what was sealed (edited or moved)');
    if (prev !== undefined && (s.prev ?? null) !== prev) return fail('the event does not follow the previous one of its stream (reordered, removed or inserted)');
    return { prev: s.prev ?? null, hash: s.hash, mac: s.mac, ...(sealed === 'stream' ? { scope: STREAM_SEAL_SCOPE } : {}) };
  }

  /**
   * Check a whole stream as read: versions 0..n without a gap, every seal right (of `scope`, when
   * given), every link in place.
   */
  checkStream(events: StoredEvent[], scope?: SealScope): void {
    let prev: string | null = null;
    events.forEach((e, i) => {
      if (e.streamVersion !== i) this.refuse(new EventIntegrityError(e.streamId, e.streamVersion, e.globalPosition, `expected version ${i}: an event is missing`));
      prev = this.check(e, prev, scope).hash;
    });
  }

  private refuse(violation: EventIntegrityError): never {
    for (const observe of this.observers) {
      try {
        observe(violation);
      } catch {
        // An alarm that fails must not turn a refusal into something else.
      }
    }
    throw violation;
  }
}

/** A sealed store's streams as stored and the sealer that checks them: what evidence bundles report seal checks from. */
export interface SealedHistory {
  stored: StoredStreamReader;
  sealer: EventSealer;
}
