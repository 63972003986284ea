import type { EventStore, EventSubscription, StoredEvent } from '@kms/event-store';

/** Something that folds store events into memory, idempotently by stream version. */
export interface EventConsumer {
  apply(e: StoredEvent): void;
}

/**
 * One catch-up subscription from the start feeding several in-memory views; resolves once they have
 * caught up with the store. One read of the store instead of one per view.
 */
export function followStore(store: EventStore, consumers: EventConsumer[]): Promise<EventSubscription> {
  return new Promise((resolve, reject) => {
    let caughtUp = false;
    const subscription = store.subscribeToAll(
      {},
      {
        onEvent: (e) => {
          for (const c of consumers) c.apply(e);
        },
        onCaughtUp: () => {
          caughtUp = true;
          resolve(subscription);
        },
        onError: (err) => {
          if (!caughtUp) reject(err);
        },
      },
    );
  });
}
