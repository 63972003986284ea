import type { EventStore, EventSubscription, StoredEvent } from '@kms/event-store';
import { applyStoredEvent, keyIdOf, type ScheduledKey } from '../planner/scheduled-key.projection';

/**
 * Every key's state, rebuilt in memory by a catch-up subscription from position 0 on each start.
 * No checkpoint is stored: the state the deadlines come from is a fold of all key events, so a stored
 * position would be useless without storing the fold too; keys are few and replay is what the key
 * service's own catalog does at boot. The processed position is kept for lag.
 */
export class KeyStateFollower {
  private readonly keys = new Map<string, ScheduledKey>();
  private subscription?: EventSubscription;
  private caughtUp = false;
  private processed = 0n;
  private failure?: Error;

  /** @param onKeyEvent called after a key event was applied (after catch-up only). */
  constructor(
    private readonly store: EventStore,
    private readonly onKeyEvent: (keyId: string) => void = () => undefined,
  ) {}

  /** Subscribe from the start; resolves once every existing event was applied. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.subscription = this.store.subscribeToAll(
        {},
        {
          onEvent: (e: StoredEvent) => {
            applyStoredEvent(this.keys, e);
            this.processed = e.globalPosition;
            const keyId = keyIdOf(e);
            if (this.caughtUp && keyId !== undefined) this.onKeyEvent(keyId);
          },
          onCaughtUp: () => {
            this.caughtUp = true;
            resolve();
          },
          onError: (err) => {
            this.failure = err;
            if (!this.caughtUp) reject(err);
          },
        },
      );
    });
  }

  async stop(): Promise<void> {
    await this.subscription?.stop();
  }

  /** The current view of every key. */
  all(): ScheduledKey[] {
    return [...this.keys.values()];
  }

  status(): { caughtUp: boolean; position: bigint; error?: string } {
    return { caughtUp: this.caughtUp, position: this.processed, ...(this.failure ? { error: this.failure.message } : {}) };
  }
}

/** Every key's view as of now: one catch-up read of the store (the policy check). */
export async function readAllKeys(store: EventStore): Promise<ScheduledKey[]> {
  const follower = new KeyStateFollower(store);
  try {
    await follower.start();
    return follower.all();
  } finally {
    await follower.stop();
  }
}
