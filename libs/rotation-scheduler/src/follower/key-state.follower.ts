import type { EventStore, EventSubscription, StoredEvent } from '@kms/event-store';
import { Logger } from '@nestjs/common';
import { applyStoredEvent, keyIdOf, type ScheduledKey } from '../planner/scheduled-key.projection';
import type { FollowerSnapshotStore } from './follower-snapshot.store';

/**
 * Every key's state, kept in memory by a catch-up subscription to the event store. With a snapshot
 * store the follower checkpoints: the position applied last together with the fold at that position
 * (the deadlines come from the fold, so a position alone would be useless). On start it restores the
 * snapshot and subscribes from after its position; without one (or with a snapshot of another format)
 * it replays from the start. Snapshots are written after catch-up, at most every `saveEveryMs` while
 * events arrive, and on stop; a lost or stale snapshot only costs a longer replay, never a wrong
 * state, because the store is the source.
 */
export class KeyStateFollower {
  private readonly logger = new Logger('rotation-scheduler');
  private readonly keys = new Map<string, ScheduledKey>();
  private subscription?: EventSubscription;
  private caughtUp = false;
  private processed = 0n;
  private restoredFrom: bigint | null = null;
  private saved = 0n;
  private saveTimer?: NodeJS.Timeout;
  private saving: Promise<void> = Promise.resolve();
  private failure?: Error;

  /** @param onKeyEvent called after a key event was applied (after catch-up only). */
  constructor(
    private readonly store: EventStore,
    private readonly onKeyEvent: (keyId: string) => void = () => undefined,
    private readonly snapshots?: FollowerSnapshotStore,
    private readonly saveEveryMs = 5000,
  ) {}

  /** Restore the checkpoint if any, then subscribe after it; resolves once every existing event was applied. */
  async start(): Promise<void> {
    const snapshot = await this.snapshots?.load().catch((e: unknown) => {
      this.logger.warn(`checkpoint not readable, replaying from the start: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    });
    if (snapshot) {
      for (const k of snapshot.keys) this.keys.set(k.state.key.keyId, k);
      this.processed = snapshot.position;
      this.saved = snapshot.position;
      this.restoredFrom = snapshot.position;
    }
    return new Promise((resolve, reject) => {
      this.subscription = this.store.subscribeToAll(
        snapshot ? { fromPosition: snapshot.position } : {},
        {
          onEvent: (e: StoredEvent) => {
            applyStoredEvent(this.keys, e);
            this.processed = e.globalPosition;
            const keyId = keyIdOf(e);
            if (this.caughtUp && keyId !== undefined) this.onKeyEvent(keyId);
            if (this.caughtUp) this.saveSoon();
          },
          onCaughtUp: () => {
            this.caughtUp = true;
            void this.saveNow();
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
    if (this.saveTimer) clearTimeout(this.saveTimer);
    if (this.caughtUp) await this.saveNow();
    await this.saving;
  }

  /** Write the checkpoint: the position and the fold as they are now (serialised one at a time). */
  saveNow(): Promise<void> {
    if (!this.snapshots) return Promise.resolve();
    const snapshots = this.snapshots;
    const snapshot = { position: this.processed, keys: [...this.keys.values()] };
    this.saving = this.saving.then(async () => {
      if (snapshot.position <= this.saved && this.saved !== 0n) return;
      try {
        await snapshots.save(snapshot);
        this.saved = snapshot.position;
      } catch (e) {
        this.logger.warn(`checkpoint not written (the next start replays further): ${e instanceof Error ? e.message : String(e)}`);
      }
    });
    return this.saving;
  }

  private saveSoon(): void {
    if (!this.snapshots || this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      void this.saveNow();
    }, this.saveEveryMs);
    this.saveTimer.unref();
  }

  /** The current view of every key. */
  all(): ScheduledKey[] {
    return [...this.keys.values()];
  }

  status(): { caughtUp: boolean; position: bigint; restoredFrom: bigint | null; checkpoint: bigint; error?: string } {
    return {
      caughtUp: this.caughtUp,
      position: this.processed,
      restoredFrom: this.restoredFrom,
      checkpoint: this.saved,
      ...(this.failure ? { error: this.failure.message } : {}),
    };
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
