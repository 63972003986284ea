import { randomUUID } from 'node:crypto';
import type { AppendResult, EventStore, EventSubscription, ExpectedVersion, NewEvent, ReadStreamResult, SubscribeOptions, SubscriptionHandler } from '@kms/event-store';
import type { Clock } from '../ports/audit-log.port';
import type { ChangeCommitter } from './change-committer.port';

/**
 * The event store for a KMS process that writes events on its own behalf, outside any call (the
 * anomaly detector's findings): every append commits with an audit record naming that process, so
 * no event in the store is without its record. Reads and subscriptions go to the store itself.
 */
export class AuditedEventStore implements EventStore {
  constructor(
    private readonly inner: EventStore,
    private readonly committer: ChangeCommitter,
    private readonly clock: Clock,
    /** Who the records name, e.g. `system:anomaly-detector` or the detector's workload id. */
    private readonly actor: string,
  ) {}

  readStream(streamId: string): Promise<ReadStreamResult> {
    return this.inner.readStream(streamId);
  }

  async appendToStream(streamId: string, events: NewEvent[], options: { expectedVersion: ExpectedVersion }): Promise<AppendResult> {
    const first = events[0];
    const correlation = first?.metadata['correlationId'];
    const [result] = await this.committer.commit({
      writes: [{ streamId, events, expectedVersion: options.expectedVersion }],
      audit: {
        id: randomUUID(),
        time: this.clock.now(),
        requestId: typeof correlation === 'string' ? correlation : randomUUID(),
        operation: events.map((e) => e.type).join(','),
        actor: this.actor,
        outcome: 'SUCCESS',
        details: { stream: streamId.slice(0, 200), events: events.length },
      },
    });
    return result as AppendResult;
  }

  subscribeToAll(options: SubscribeOptions, handler: SubscriptionHandler): EventSubscription {
    return this.inner.subscribeToAll(options, handler);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
