/** An event as the caller hands it to the store. `id` is a UUID chosen by the caller (idempotency, CloudEvents id). */
export interface NewEvent {
  id: string;
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

/** An event as the store returns it. */
export interface StoredEvent extends NewEvent {
  streamId: string;
  /** 0-based position of the event within its stream (EventStoreDB "revision"). */
  streamVersion: number;
  /** Position in the store's single global order. Strictly increasing in commit order. */
  globalPosition: bigint;
  recordedAt: Date;
}

/**
 * Optimistic concurrency for appends:
 * - a number: the stream's current version must be exactly this (last event's streamVersion);
 * - 'no_stream': the stream must not exist;
 * - 'stream_exists': it must exist;
 * - 'any': no check.
 */
export type ExpectedVersion = number | 'no_stream' | 'stream_exists' | 'any';

/** True when a stream at `actual` (-1: no stream) satisfies `expected`. */
export function versionMatches(expected: ExpectedVersion, actual: number): boolean {
  switch (expected) {
    case 'any':
      return true;
    case 'no_stream':
      return actual === -1;
    case 'stream_exists':
      return actual >= 0;
    default:
      return expected === actual;
  }
}

/** Events for one stream, as part of a change that writes several streams together. */
export interface StreamWrite {
  streamId: string;
  events: NewEvent[];
  expectedVersion: ExpectedVersion;
}

export interface ReadStreamResult {
  events: StoredEvent[];
  /** Version of the last event, or -1 when the stream does not exist. */
  currentVersion: number;
}

export interface AppendResult {
  /** Version of the last appended event: pass it as expectedVersion for the next append. */
  nextExpectedVersion: number;
  /** Global position of the last appended event. */
  lastGlobalPosition: bigint;
}

export interface SubscriptionHandler {
  /** Called once per event in global order; awaited before the next one (back-pressure). */
  onEvent(event: StoredEvent): Promise<void> | void;
  /** Called when the subscription stops because of an error it cannot recover from. */
  onError?(error: Error): void;
  /** Called once when the subscription has delivered everything that existed when it started. */
  onCaughtUp?(): void;
}

export interface EventSubscription {
  /** Stops delivery; resolves once no handler call is running. */
  stop(): Promise<void>;
}

/** Raised by appendToStream when the expected version does not match. */
export class WrongExpectedVersionError extends Error {
  override readonly name = 'WrongExpectedVersionError';
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedVersion,
    readonly actual: number,
  ) {
    super(`stream ${streamId}: expected version ${String(expected)}, actual ${actual}`);
  }
}

/** Raised when the store cannot be reached or fails; callers answer UNAVAILABLE. */
export class EventStoreUnavailableError extends Error {
  override readonly name = 'EventStoreUnavailableError';
  constructor(message: string, override readonly cause?: unknown) {
    super(message);
  }
}

/** Where a subscription starts and which streams it delivers. */
export interface SubscribeOptions {
  /** Deliver events after this global position (exclusive); undefined: from the start. */
  fromPosition?: bigint;
  /**
   * Deliver only events of streams whose id starts with one of these (literally: no wildcards, case
   * matters), in global order; undefined: every stream. `onCaughtUp` fires once the matching events that
   * existed at the start are delivered, also when none match. An empty list or prefix is a RangeError.
   */
  streamPrefixes?: readonly string[];
}

/** The event store port. PostgreSQL, EventStoreDB and in-memory adapters implement it. */
export interface EventStore {
  readStream(streamId: string): Promise<ReadStreamResult>;
  appendToStream(streamId: string, events: NewEvent[], options: { expectedVersion: ExpectedVersion }): Promise<AppendResult>;
  /**
   * Catch-up subscription from after `fromPosition` (exclusive), or from the start, to every stream or
   * to those whose id starts with one of `streamPrefixes`. Throws RangeError for invalid prefixes.
   */
  subscribeToAll(options: SubscribeOptions, handler: SubscriptionHandler): EventSubscription;
  close(): Promise<void>;
}

/**
 * The prefixes of a subscription, checked: undefined (every stream) or a non-empty list of non-empty
 * prefixes, duplicates removed. A prefix that no stream id can hold (a NUL, an unpaired surrogate) is
 * refused too, so every adapter answers the same. Throws RangeError naming `streamPrefixes`.
 */
export function checkStreamPrefixes(prefixes: readonly string[] | undefined): readonly string[] | undefined {
  if (prefixes === undefined) return undefined;
  if (!Array.isArray(prefixes) || prefixes.length === 0) throw new RangeError('streamPrefixes must hold at least one prefix (leave it out to subscribe to every stream)');
  for (const prefix of prefixes) {
    if (typeof prefix !== 'string' || prefix.length === 0) throw new RangeError('streamPrefixes must not hold an empty prefix');
    if (prefix.includes('\0') || /\p{Cs}/u.test(prefix)) throw new RangeError(`streamPrefixes: "${prefix}" holds a NUL or an unpaired surrogate, which no stream id can`);
  }
  return [...new Set(prefixes)];
}

/** True when `streamId` starts with one of `prefixes`, or `prefixes` is undefined (every stream). */
export function matchesStreamPrefixes(streamId: string, prefixes: readonly string[] | undefined): boolean {
  return prefixes === undefined || prefixes.some((p) => streamId.startsWith(p));
}

/**
 * Reads a stream exactly as the store holds it, in version order, without checking seals: for
 * evidence that must report what the store holds (a forged row included) rather than refuse it.
 * Never use it to decide anything: command handling and projections read through the checked port.
 */
export interface StoredStreamReader {
  /** Every stored event of the stream in version order ([] when there is none), seals unchecked. */
  readStoredStream(streamId: string): Promise<StoredEvent[]>;
}

/** A page of whole streams (see StreamsByPrefixReader). */
export interface StreamsPage {
  /** Whole streams, each in version order from version 0, ordered by stream id in code-point order. */
  streams: StoredEvent[][];
  /** The `afterStreamId` of the next page; undefined when no stream is left. */
  next?: string;
}

/**
 * Reads many streams at once, stream by stream instead of in global order: what a read model built
 * from nothing needs, so that each stream is folded and written once instead of once per event.
 * Optional: an adapter that cannot do it (EventStoreDB keeps no order by stream id) leaves it out, and
 * such a read model follows the store from its start instead (see canReadStreamsByPrefix).
 */
export interface StreamsByPrefixReader {
  /**
   * The position of the last event committed: every event at or before it is visible to a read that
   * starts once this resolves, so following from it afterwards misses nothing. 0n for an empty store.
   */
  headPosition(): Promise<bigint>;
  /**
   * The streams whose id starts with `prefix` (literally) and comes after `afterStreamId`, each cut at
   * `through` (events after it are left for the follower), in pages of about `limit` events: a page
   * always ends with a whole stream, and holds one stream longer than `limit` whole. Checked like
   * readStream (seals, no missing version). Throws RangeError for an invalid prefix or limit.
   */
  readStreamsByPrefix(prefix: string, options: { through: bigint; afterStreamId?: string; limit: number }): Promise<StreamsPage>;
}

/** True when the store can read streams by prefix (StreamsByPrefixReader). */
export function canReadStreamsByPrefix(store: EventStore): store is EventStore & StreamsByPrefixReader {
  const s = store as Partial<StreamsByPrefixReader>;
  return typeof s.headPosition === 'function' && typeof s.readStreamsByPrefix === 'function';
}

/** The checks every StreamsByPrefixReader makes of its arguments, one message for every adapter. */
export function checkStreamsByPrefixRead(prefix: string, limit: number): void {
  checkStreamPrefixes([prefix]);
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a whole number of at least 1, got ${String(limit)}`);
}

/** Code-point order of two strings (PostgreSQL's "C" collation on UTF-8), not UTF-16 code-unit order. */
export function compareCodePoints(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = ((x[i] as string).codePointAt(0) as number) - ((y[i] as string).codePointAt(0) as number);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return x.length === y.length ? 0 : x.length < y.length ? -1 : 1;
}

/** Injection token for the event store port. */
export const EVENT_STORE = Symbol('EVENT_STORE');
