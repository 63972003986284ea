import { type EventFollower, followEvents, type EventStore, type StoredEvent } from '@kms/event-store';

/** Something that folds store events into memory, idempotently by stream version. */
export interface EventConsumer {
  apply(e: StoredEvent): void;
  /** The streams it folds (ids starting with this); absent: it looks at every stream. */
  readonly streamPrefix?: string;
}

/**
 * One follower from the start feeding several in-memory views; resolves once they have caught up with
 * the store. One read of the store instead of one per view. When every view names its streams' prefix,
 * only those streams are read (through the store's prefix subscription): a start then costs the views'
 * own events, not the whole history. A view that throws is fed the same event again after a backoff
 * (see followEvents); `status()` shows the error meanwhile.
 */
export async function followStore(store: EventStore, consumers: EventConsumer[], name = 'in-memory views'): Promise<EventFollower> {
  const streamPrefixes = consumedPrefixes(consumers);
  const follower = followEvents(store, {
    name,
    ...(streamPrefixes ? { streamPrefixes } : {}),
    handle: (e) => {
      for (const c of consumers) c.apply(e);
    },
  });
  await follower.caughtUp();
  return follower;
}

/** The prefixes every consumer folds, or undefined (the whole store) when one does not say, or there is none. */
function consumedPrefixes(consumers: readonly EventConsumer[]): string[] | undefined {
  const prefixes = consumers.map((c) => c.streamPrefix);
  if (prefixes.length === 0 || prefixes.some((p) => p === undefined || p === '')) return undefined;
  return [...new Set(prefixes as string[])];
}
