import { type EventFollower, type EventStore, followEvents, type StoredEvent } from '@kms/event-store';
import { Logger } from '@nestjs/common';
import { applyStoredEvent, escrowKeyIdOf, keyIdOf, type ScheduledKey } from '../planner/scheduled-key.projection';
import type { FollowerSnapshotStore } from './follower-snapshot.store';

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * Every key's state, kept in memory by following the event store (followEvents). With a snapshot
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
  private follower?: EventFollower;
  private caughtUp = false;
  private restoredFrom: bigint | null = null;

  /**
   * @param onKeyEvent called after a key event was applied (after catch-up only).
   * @param retry `false` for a one-shot read, which fails at the first error instead of retrying.
   */
  constructor(
    private readonly store: EventStore,
    private readonly onKeyEvent: (keyId: string) => void = () => undefined,
    private readonly snapshots?: FollowerSnapshotStore,
    private readonly saveEveryMs = 5000,
    private readonly retry: false | undefined = undefined,
  ) {}

  /** Restore the checkpoint if any, then follow after it; resolves once every existing event was applied. */
  async start(): Promise<void> {
    const snapshots = this.snapshots;
    this.follower = followEvents(this.store, {
      name: 'rotation-scheduler',
      from: () => this.restore(),
      // Synchronous, so the fold and the position a snapshot is saved with always match.
      handle: (e: StoredEvent) => {
        applyStoredEvent(this.keys, e);
        const keyId = keyIdOf(e) ?? escrowKeyIdOf(e);
        if (this.caughtUp && keyId !== undefined) this.onKeyEvent(keyId);
      },
      onCaughtUp: () => (this.caughtUp = true),
      ...(snapshots ? { checkpoint: { everyMs: this.saveEveryMs, save: (position: bigint) => snapshots.save({ position, keys: [...this.keys.values()] }) } } : {}),
      onError: (e, { stage }) =>
        this.logger.warn(stage === 'checkpoint' ? `checkpoint not written (the next start replays further): ${message(e)}` : `following the store failed, resuming after a pause: ${message(e)}`),
      ...(this.retry === false ? { retry: false as const } : {}),
    });
    await this.follower.caughtUp();
  }

  /** The snapshot's position after putting its keys in place; undefined (from the start) without one. */
  private async restore(): Promise<bigint | undefined> {
    const snapshot = await this.snapshots?.load().catch((e: unknown) => {
      this.logger.warn(`checkpoint not readable, replaying from the start: ${message(e)}`);
      return undefined;
    });
    if (!snapshot) return undefined;
    for (const k of snapshot.keys) this.keys.set(k.state.key.keyId, k);
    this.restoredFrom = snapshot.position;
    return snapshot.position;
  }

  async stop(): Promise<void> {
    await this.follower?.stop();
  }

  /** The current view of every key. */
  all(): ScheduledKey[] {
    return [...this.keys.values()];
  }

  status(): { caughtUp: boolean; position: bigint; restoredFrom: bigint | null; checkpoint: bigint; error?: string } {
    const f = this.follower?.status();
    // Subscription and handler errors; a checkpoint that failed to save is logged (it only costs a longer replay).
    const error = f?.lastError ?? null;
    return {
      caughtUp: this.caughtUp,
      position: f?.position ?? 0n,
      restoredFrom: this.restoredFrom,
      checkpoint: f?.checkpoint ?? 0n,
      ...(error !== null ? { error } : {}),
    };
  }
}

/** Every key's view as of now: one catch-up read of the store (the policy check). */
export async function readAllKeys(store: EventStore): Promise<ScheduledKey[]> {
  const follower = new KeyStateFollower(store, undefined, undefined, undefined, false);
  try {
    await follower.start();
    return follower.all();
  } finally {
    await follower.stop();
  }
}
