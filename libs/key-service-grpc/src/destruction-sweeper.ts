import { randomUUID } from 'node:crypto';
import { type AuditedExecutor, KeyLifecycleService } from '@kms/application';

/** Who the service says it is when it acts on its own. */
export const SYSTEM_ACTOR = 'system:destruction-sweep';

/**
 * Destroys versions whose scheduled destruction time has passed. The rotation scheduler will drive
 * this through the DestroyKeyVersion RPC; standalone mode also runs it on a timer. Each destruction is
 * audited like an API call.
 */
export class DestructionSweeper {
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;

  constructor(
    private readonly lifecycle: KeyLifecycleService,
    private readonly executor: AuditedExecutor,
  ) {}

  /** Destroy everything due now. Returns how many versions were destroyed. */
  sweep(): Promise<number> {
    // One sweep at a time.
    this.running ??= this.sweepOnce().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async sweepOnce(): Promise<number> {
    let destroyed = 0;
    for (const { keyId, version } of this.lifecycle.dueDestructions()) {
      const ctx = { actor: SYSTEM_ACTOR, requestId: randomUUID() };
      try {
        await this.executor.run(ctx, 'DestroyKeyVersion', async (facts) => {
          facts.keyId = keyId;
          facts.keyVersion = version;
          await this.lifecycle.destroyKeyVersion(keyId, version, { actor: SYSTEM_ACTOR, correlationId: ctx.requestId, reason: 'scheduled destruction is due' });
        });
        destroyed++;
      } catch {
        // Audited already; the next sweep tries again.
      }
    }
    return destroyed;
  }

  start(intervalSeconds: number): void {
    if (intervalSeconds <= 0) return;
    this.timer = setInterval(() => void this.sweep(), intervalSeconds * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
