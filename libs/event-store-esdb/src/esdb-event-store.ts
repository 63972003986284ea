import { BACKWARDS, END, StreamNotFoundError, WrongExpectedVersionError as EsdbWrongExpectedVersionError, type EventStoreDBClient } from '@eventstore/db-client';
import {
  checkStreamPrefixes,
  EventStoreUnavailableError,
  SEAL_METADATA_KEY,
  WrongExpectedVersionError,
  versionMatches,
  type AppendResult,
  type EventSealer,
  type EventStore,
  type EventSubscription,
  type ExpectedVersion,
  type NewEvent,
  type ReadStreamResult,
  type StoredEvent,
  type StoredStreamReader,
  type SubscribeOptions,
  type SubscriptionHandler,
} from '@kms/event-store';
import { globalPositionOf, toEventData, toExpectedRevision, toPortError, toStoredEvent } from './esdb-mapping';
import { EsdbSubscription } from './esdb-subscription';

/** The part of the EventStoreDB client the adapter uses. */
export type EsdbClient = Pick<EventStoreDBClient, 'readStream' | 'appendToStream' | 'readAll' | 'subscribeToAll'>;

export interface EsdbEventStoreOptions {
  /** Longest wait between resubscription attempts after a dropped connection. Default 5000 ms. */
  maxReconnectDelayMs?: number;
  /**
   * Seals every appended event (stream-scoped: EventStoreDB assigns the position when it writes)
   * and checks every event read (streams as hash chains, subscriptions event by event): an event
   * written by anyone but the KMS is refused (EventIntegrityError).
   */
  sealer?: EventSealer;
  /**
   * Attempts of a sealed append whose caller asked for 'any' or 'stream_exists' when other writers
   * keep appending between the read of the stream's head and the append. Each failed attempt means
   * another append succeeded, so with fewer concurrent writers than this no 'any' append fails.
   * Default 10.
   */
  maxSealAttempts?: number;
}

/** The last event of a stream: where a sealed append chains on. */
interface StreamHead {
  version: number;
  hash: string | null;
}

/**
 * Event store on EventStoreDB (22.6 or later, for positions on stream reads). globalPosition is the
 * event's commit position in $all. The client belongs to the caller, who disposes it.
 */
export class EsdbEventStore implements EventStore, StoredStreamReader {
  private readonly subscriptions = new Set<EsdbSubscription>();
  private readonly maxReconnectDelayMs: number;
  private readonly sealer: EventSealer | undefined;
  private readonly maxSealAttempts: number;

  constructor(
    private readonly client: EsdbClient,
    options: EsdbEventStoreOptions = {},
  ) {
    this.maxReconnectDelayMs = options.maxReconnectDelayMs ?? 5000;
    this.sealer = options.sealer;
    this.maxSealAttempts = Math.max(1, options.maxSealAttempts ?? 10);
  }

  async readStream(streamId: string): Promise<ReadStreamResult> {
    const events = await this.readStoredStream(streamId);
    // Outside the read's error mapping: an EventIntegrityError reaches the caller as itself.
    this.sealer?.checkStream(events, 'stream');
    return { events, currentVersion: events.at(-1)?.streamVersion ?? -1 };
  }

  /** The events of the stream as stored, seals unchecked (evidence bundles report them, forged ones included). */
  async readStoredStream(streamId: string): Promise<StoredEvent[]> {
    const events: StoredEvent[] = [];
    try {
      for await (const resolved of this.client.readStream(streamId)) {
        if (resolved.event) events.push(toStoredEvent(resolved.event, globalPositionOf(resolved.event.position)));
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return [];
      throw toPortError(error, streamId, 'read of');
    }
    return events;
  }

  async appendToStream(streamId: string, events: NewEvent[], options: { expectedVersion: ExpectedVersion }): Promise<AppendResult> {
    if (events.length === 0) throw new RangeError('appendToStream needs at least one event');
    return this.sealer ? this.appendSealed(streamId, events, options.expectedVersion, this.sealer) : this.append(streamId, events, options.expectedVersion);
  }

  private async append(streamId: string, events: NewEvent[], expectedVersion: ExpectedVersion): Promise<AppendResult> {
    let result;
    try {
      result = await this.client.appendToStream(streamId, events.map(toEventData), { expectedRevision: toExpectedRevision(expectedVersion) });
    } catch (error) {
      throw toPortError(error, streamId, 'append to', expectedVersion);
    }
    // Only a client built with throwOnAppendFailure=false gets here on a conflict, without the actual version.
    if (!result.success) throw new WrongExpectedVersionError(streamId, expectedVersion, (await this.readStream(streamId)).currentVersion);
    return { nextExpectedVersion: Number(result.nextExpectedRevision), lastGlobalPosition: globalPositionOf(result.position) };
  }

  /**
   * Seals the events onto the stream's last event and appends them with that event's revision as
   * the expected one, so no concurrent append can come between the seal's `prev` and the events.
   * A conflict the caller could not have had (it asked for 'any' or 'stream_exists') comes from
   * that tightening: it is retried on the new head, a bounded number of times.
   */
  private async appendSealed(streamId: string, events: NewEvent[], expectedVersion: ExpectedVersion, sealer: EventSealer): Promise<AppendResult> {
    const loose = expectedVersion === 'any' || expectedVersion === 'stream_exists';
    for (let attempt = 1; ; attempt++) {
      const head = await this.readHead(streamId);
      if (!versionMatches(expectedVersion, head.version)) throw new WrongExpectedVersionError(streamId, expectedVersion, head.version);
      let prev = head.hash;
      const sealed = events.map((e, i) => {
        const seal = sealer.seal({ ...e, streamId, streamVersion: head.version + 1 + i, globalPosition: null }, prev);
        prev = seal.hash;
        return { ...e, metadata: { ...e.metadata, [SEAL_METADATA_KEY]: seal } };
      });
      const tightened: ExpectedVersion = head.version === -1 ? 'no_stream' : head.version;
      let result;
      try {
        result = await this.client.appendToStream(streamId, sealed.map(toEventData), { expectedRevision: toExpectedRevision(tightened) });
      } catch (error) {
        // Another writer appended after the head was read: the caller's conflict only if it named a version.
        if (!(error instanceof EsdbWrongExpectedVersionError) || !loose) throw toPortError(error, streamId, 'append to', expectedVersion);
      }
      if (result?.success) return { nextExpectedVersion: Number(result.nextExpectedRevision), lastGlobalPosition: globalPositionOf(result.position) };
      // A client built with throwOnAppendFailure=false reports the conflict without the actual version.
      if (!loose) throw new WrongExpectedVersionError(streamId, expectedVersion, (await this.readHead(streamId)).version);
      if (attempt >= this.maxSealAttempts) {
        throw new EventStoreUnavailableError(`event store: append to stream ${streamId} failed: other writers moved the stream ${attempt} times while the append was sealed`);
      }
    }
  }

  /** The stream's last event (one event read backwards): its version and seal hash. */
  private async readHead(streamId: string): Promise<StreamHead> {
    let head: StreamHead = { version: -1, hash: null };
    try {
      // Read to the end (one event at most) rather than leave the read half consumed.
      for await (const resolved of this.client.readStream(streamId, { direction: BACKWARDS, fromRevision: END, maxCount: 1 })) {
        if (!resolved.event) continue;
        const seal = toStoredEvent(resolved.event, -1n).metadata[SEAL_METADATA_KEY] as { hash?: unknown } | undefined;
        head = { version: Number(resolved.event.revision), hash: typeof seal?.hash === 'string' ? seal.hash : null };
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return { version: -1, hash: null };
      throw toPortError(error, streamId, 'read of');
    }
    return head;
  }

  /** With `streamPrefixes`, the server filters $all by stream name (streamNameFilter). */
  subscribeToAll(options: SubscribeOptions, handler: SubscriptionHandler): EventSubscription {
    const prefixes = checkStreamPrefixes(options.streamPrefixes);
    const from = options.fromPosition === undefined || options.fromPosition < 0n ? undefined : options.fromPosition;
    const subscription = new EsdbSubscription(this.client, from, handler, this.maxReconnectDelayMs, (s) => this.subscriptions.delete(s), this.sealer, prefixes);
    this.subscriptions.add(subscription);
    return subscription;
  }

  /** Stops every subscription. The client stays connected: whoever created it disposes it. */
  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
  }
}
