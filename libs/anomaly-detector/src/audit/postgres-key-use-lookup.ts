import { type AuditSealer, PostgresAuditFeed } from '@kms/persistence-postgres';
import type { Pool } from 'pg';
import type { KeyUseLookup, KeyUseQuery, PositionedUsage } from './key-use-lookup.port';

/** Uses of a key from `audit_records`, read by the audit feed; only what the rules look at is kept. The pool belongs to the caller. */
export class PostgresKeyUseLookup implements KeyUseLookup {
  private readonly feed: PostgresAuditFeed;

  /** `sealer` checks every record's seal (the key service's audit seal key). */
  constructor(pool: Pool, sealer: AuditSealer) {
    this.feed = new PostgresAuditFeed(pool, sealer);
  }

  async usesOf(q: KeyUseQuery): Promise<PositionedUsage[]> {
    return (await this.feed.readKeyUses(q)).map((r) => ({
      position: r.position,
      id: r.id,
      time: r.time,
      operation: r.operation,
      actor: r.actor,
      outcome: r.outcome,
      ...(r.keyId !== undefined ? { keyId: r.keyId } : {}),
      ...(r.keyVersion !== undefined ? { keyVersion: r.keyVersion } : {}),
      ...(r.errorCode !== undefined ? { errorCode: r.errorCode } : {}),
      ...(r.sourceAddress !== undefined ? { sourceAddress: r.sourceAddress } : {}),
    }));
  }
}
