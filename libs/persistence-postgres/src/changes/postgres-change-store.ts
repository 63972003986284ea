import { type AuditIntent, type AuditIntentStore, type AuditRecord, DuplicateRequestError, type IdempotencyEntry } from '@kms/application';
import type { Pool, PoolClient } from 'pg';
import { lockAndSeal } from '../audit/audit-chain';
import { insertAuditRowsSql, toAuditRow } from '../audit/audit-row.mapper';
import type { AuditSealer } from '../audit/audit-seal';

/** Run `work` in one transaction with durable commit; the connection is dropped after any failure. */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>, beforeCommit?: () => void): Promise<T> {
  const client = await pool.connect();
  let failure: unknown;
  try {
    // Forced on so a role or database default of "off" cannot weaken durability.
    await client.query('BEGIN; SET LOCAL synchronous_commit TO on');
    const result = await work(client);
    beforeCommit?.();
    // COMMIT of an aborted transaction answers ROLLBACK without an error.
    const committed = await client.query('COMMIT');
    if (committed.command !== 'COMMIT') throw new Error(`COMMIT answered ${committed.command}`);
    return result;
  } catch (e) {
    failure = e;
    throw e;
  } finally {
    // After a failure the connection may be mid-transaction or broken: destroy it, do not pool it.
    client.release(failure !== undefined);
  }
}

/** Insert one sealed audit record inside the caller's transaction, in commit order (and chain) with the group-commit writer. */
export async function insertAuditRecord(client: PoolClient, record: AuditRecord, sealer: AuditSealer): Promise<void> {
  const row = toAuditRow(record);
  const [sealed] = await lockAndSeal(client, [row], sealer);
  await client.query(insertAuditRowsSql(1), sealed);
}

/** Insert an idempotency entry; DuplicateRequestError when the id was committed by another call (unless ignored). */
export async function insertIdempotency(client: PoolClient, e: IdempotencyEntry, duplicates: 'refuse' | 'ignore' = 'refuse'): Promise<void> {
  const inserted = await client.query(
    `INSERT INTO idempotency_records (actor, request_id, operation, request_hash, outcome, audit_record_id, created_at)
     VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7) ON CONFLICT (actor, request_id) DO NOTHING`,
    [e.actor, e.requestId, e.operation, e.requestHash, JSON.stringify(e.outcome), e.auditRecordId, e.createdAt.toISOString()],
  );
  if (inserted.rowCount === 0 && duplicates === 'refuse') throw new DuplicateRequestError(e.actor, e.requestId);
}

interface IntentRow {
  id: string;
  record: AuditRecord & { time: string };
  idempotency: (IdempotencyEntry & { createdAt: string }) | null;
  streams: string[];
  created_at: Date;
}

interface IdempotencyRow {
  actor: string;
  request_id: string;
  operation: string;
  request_hash: string;
  outcome: IdempotencyEntry['outcome'];
  audit_record_id: string;
  created_at: Date;
}

/**
 * Idempotency entries and audit intents in PostgreSQL, beside the audit log: the intent store of
 * AuditIntentCommitter (EventStoreDB) and the idempotency lookup of every change.
 */
export class PostgresChangeStore implements AuditIntentStore {
  constructor(
    private readonly pool: Pool,
    private readonly sealer: AuditSealer,
  ) {}

  async find(actor: string, requestId: string): Promise<IdempotencyEntry | undefined> {
    const r = await this.pool.query<IdempotencyRow>('SELECT * FROM idempotency_records WHERE actor = $1 AND request_id = $2', [actor, requestId]);
    const row = r.rows[0];
    if (!row) return this.pendingEntry(actor, requestId);
    return {
      actor: row.actor,
      requestId: row.request_id,
      operation: row.operation,
      requestHash: row.request_hash,
      outcome: row.outcome,
      auditRecordId: row.audit_record_id,
      createdAt: row.created_at,
    };
  }

  /** An entry held by an audit intent not completed yet: the outcome is not known. */
  private async pendingEntry(actor: string, requestId: string): Promise<IdempotencyEntry | undefined> {
    const r = await this.pool.query<{ idempotency: IntentRow['idempotency'] }>(
      `SELECT idempotency FROM audit_intents WHERE idempotency->>'actor' = $1 AND idempotency->>'requestId' = $2 LIMIT 1`,
      [actor, requestId],
    );
    const e = r.rows[0]?.idempotency;
    return e ? { ...e, createdAt: new Date(e.createdAt), pending: true } : undefined;
  }

  async prune(before: Date): Promise<number> {
    const r = await this.pool.query('DELETE FROM idempotency_records WHERE created_at < $1', [before.toISOString()]);
    return r.rowCount ?? 0;
  }

  async put(intent: AuditIntent): Promise<void> {
    toAuditRow(intent.record);
    await this.pool.query('INSERT INTO audit_intents (id, record, idempotency, streams, created_at) VALUES ($1, $2::jsonb, $3::jsonb, $4::text[], $5)', [
      intent.id,
      JSON.stringify(intent.record),
      intent.idempotency ? JSON.stringify(intent.idempotency) : null,
      intent.streams,
      intent.createdAt.toISOString(),
    ]);
  }

  async complete(intentId: string, record: AuditRecord, idempotency?: IdempotencyEntry): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      await insertAuditRecord(client, record, this.sealer);
      // A reconciled intent may find its entry already written by the commit that crashed after it.
      if (idempotency) await insertIdempotency(client, idempotency, 'ignore');
      await client.query('DELETE FROM audit_intents WHERE id = $1', [intentId]);
    });
  }

  async discard(intentId: string): Promise<void> {
    await this.pool.query('DELETE FROM audit_intents WHERE id = $1', [intentId]);
  }

  async pending(before: Date): Promise<AuditIntent[]> {
    const r = await this.pool.query<IntentRow>('SELECT * FROM audit_intents WHERE created_at < $1 ORDER BY created_at', [before.toISOString()]);
    return r.rows.map((row) => ({
      id: row.id,
      record: { ...row.record, time: new Date(row.record.time) },
      ...(row.idempotency ? { idempotency: { ...row.idempotency, createdAt: new Date(row.idempotency.createdAt) } } : {}),
      streams: row.streams,
      createdAt: row.created_at,
    }));
  }
}
