import { StreamNotFoundError, type EventStoreDBClient } from '@eventstore/db-client';
import {
  WrongExpectedVersionError,
  type AppendResult,
  type EventStore,
  type EventSubscription,
  type ExpectedVersion,
  type NewEvent,
  type ReadStreamResult,
  type StoredEvent,
  type SubscriptionHandler,
} from '@kms/event-store';
import { globalPositionOf, toEventData, toExpectedRevision, toPortError, toStoredEvent } from './esdb-mapping';
import { EsdbSubscription } from './esdb-subscription';

export interface EsdbEventStoreOptions {
  /** Longest wait between resubscription attempts after a dropped connection. Default 5000 ms. */
  maxReconnectDelayMs?: number;
}

/**
 * Event store on EventStoreDB (22.6 or later, for positions on stream reads). globalPosition is the
 * event's commit position in $all. The client belongs to the caller, who disposes it.
 */
export class EsdbEventStore implements EventStore {
  private readonly subscriptions = new Set<EsdbSubscription>();
  private readonly maxReconnectDelayMs: number;

  constructor(
    private readonly client: EventStoreDBClient,
    options: EsdbEventStoreOptions = {},
  ) {
    this.maxReconnectDelayMs = options.maxReconnectDelayMs ?? 5000;
  }

  async readStream(streamId: string): Promise<ReadStreamResult> {
    const events: StoredEvent[] = [];
    try {
      for await (const resolved of this.client.readStream(streamId)) {
        if (resolved.event) events.push(toStoredEvent(resolved.event, globalPositionOf(resolved.event.position)));
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return { events: [], currentVersion: -1 };
      throw toPortError(error, streamId, 'read of');
    }
    return { events, currentVersion: events.at(-1)?.streamVersion ?? -1 };
  }

  async appendToStream(streamId: string, events: NewEvent[], options: { expectedVersion: ExpectedVersion }): Promise<AppendResult> {
    if (events.length === 0) throw new RangeError('appendToStream needs at least one event');
    const { expectedVersion } = options;
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

  subscribeToAll(options: { fromPosition?: bigint }, handler: SubscriptionHandler): EventSubscription {
    const from = options.fromPosition === undefined || options.fromPosition < 0n ? undefined : options.fromPosition;
    const subscription = new EsdbSubscription(this.client, from, handler, this.maxReconnectDelayMs, (s) => this.subscriptions.delete(s));
    this.subscriptions.add(subscription);
    return subscription;
  }

  /** Stops every subscription. The client stays connected: whoever created it disposes it. */
  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
  }
}
