import { type Change, type ChangeCommitter, tagWrites } from '@kms/application';
import type { AppendResult, EventSealer } from '@kms/event-store';
import { type AuditSealer, inTransaction, insertAuditRecord, insertIdempotency, toAuditRow } from '@kms/persistence-postgres';
import type { Pool } from 'pg';
import { appendWithin } from './postgres-event-store';

export interface PostgresChangeCommitterOptions {
  /** The event store's NOTIFY channel (PostgresEventStore.channel). */
  channel: string;
  /** The event store's sealer (PostgresEventStore.sealer): every appended event is sealed. */
  sealer?: EventSealer;
  /** Seals the change's audit record (required: no audit record is written unsealed). */
  auditSealer: AuditSealer;
  /** Test hook (fault injection): called inside the transaction, after every write, before COMMIT. */
  beforeCommit?: (change: Change) => void;
}

/**
 * Commits a call's events, its audit record and its idempotency entry in one PostgreSQL transaction
 * (the event store and the audit log share the database): a change is never durable without its
 * record, and a record never claims a change that did not commit.
 */
export class PostgresChangeCommitter implements ChangeCommitter {
  constructor(
    private readonly pool: Pool,
    private readonly options: PostgresChangeCommitterOptions,
  ) {}

  async commit(change: Change): Promise<AppendResult[]> {
    const writes = tagWrites(change.writes, change.audit.id);
    // Validated before the transaction: a malformed record must not hold the append lock.
    toAuditRow(change.audit);
    return inTransaction(
      this.pool,
      async (client) => {
        // Lock order everywhere: events, then audit (the group-commit writer takes only the audit lock).
        const results = await appendWithin(client, writes, this.options.channel, this.options.sealer);
        await insertAuditRecord(client, change.audit, this.options.auditSealer);
        if (change.idempotency) await insertIdempotency(client, change.idempotency);
        return results;
      },
      this.options.beforeCommit && (() => this.options.beforeCommit?.(change)),
    );
  }
}

