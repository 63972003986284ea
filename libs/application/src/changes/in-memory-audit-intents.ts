import type { AuditLog, AuditRecord } from '../ports/audit-log.port';
import type { AuditIntent, AuditIntentStore } from './audit-intent-committer';
import type { IdempotencyEntry } from './change-committer.port';

/**
 * Audit intents and idempotency entries in memory, completing into an AuditLog: for unit tests and
 * the in-memory event store. Completion appends the record first and drops the intent after, so a
 * failing audit log leaves the intent pending, as the PostgreSQL adapter does.
 */
export class InMemoryAuditIntents implements AuditIntentStore {
  private readonly intents = new Map<string, AuditIntent>();
  private readonly entries = new Map<string, IdempotencyEntry>();

  constructor(private readonly audit: AuditLog) {}

  async put(intent: AuditIntent): Promise<void> {
    this.intents.set(intent.id, structuredClone(intent));
  }

  async complete(intentId: string, record: AuditRecord, idempotency?: IdempotencyEntry): Promise<void> {
    await this.audit.append(record);
    if (idempotency) this.entries.set(entryKey(idempotency.actor, idempotency.requestId), structuredClone(idempotency));
    this.intents.delete(intentId);
  }

  async discard(intentId: string): Promise<void> {
    this.intents.delete(intentId);
  }

  async pending(before: Date): Promise<AuditIntent[]> {
    return [...this.intents.values()].filter((i) => i.createdAt < before).map((i) => structuredClone(i));
  }

  async find(actor: string, requestId: string): Promise<IdempotencyEntry | undefined> {
    const hit = this.entries.get(entryKey(actor, requestId));
    if (hit) return structuredClone(hit);
    const pending = [...this.intents.values()].find((i) => i.idempotency?.actor === actor && i.idempotency.requestId === requestId);
    return pending?.idempotency && { ...structuredClone(pending.idempotency), pending: true };
  }

  async prune(before: Date): Promise<number> {
    let n = 0;
    for (const [k, e] of this.entries) {
      if (e.createdAt < before) {
        this.entries.delete(k);
        n++;
      }
    }
    return n;
  }

  /** Intents still waiting (tests). */
  get size(): number {
    return this.intents.size;
  }
}

function entryKey(actor: string, requestId: string): string {
  return `${actor}\u0000${requestId}`;
}
