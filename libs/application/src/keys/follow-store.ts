import { type EventFollower, followEvents, type EventStore, type StoredEvent } from '@kms/event-store';

/** Something that folds store events into memory, idempotently by stream version. */
export interface EventConsumer {
  apply(e: StoredEvent): void;
}

/**
 * One follower from the start feeding several in-memory views; resolves once they have caught up with
 * the store. One read of the store instead of one per view. A view that throws is fed the same event
 * again after a backoff (see followEvents); `status()` shows the error meanwhile.
 */
export async function followStore(store: EventStore, consumers: EventConsumer[], name = 'in-memory views'): Promise<EventFollower> {
  const follower = followEvents(store, {
    name,
    handle: (e) => {
      for (const c of consumers) c.apply(e);
    },
  });
  await follower.caughtUp();
  return follower;
}
