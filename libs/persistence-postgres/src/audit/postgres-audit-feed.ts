import { type AuditRecord, type AuditRecordItem, auditRecordItems } from '@kms/application';
import type { Pool } from 'pg';
import { readStoredAuditRows, STORED_AUDIT_COLUMNS, type StoredAuditRowText, toStoredAuditRow } from './audit-chain';
import { retainedTrailAnchor } from './audit-retention';
import type { AuditSealer, StoredAuditRow } from './audit-seal';

/** An audit record as stored, with its position in the audit log's global order. */
export interface PositionedAuditRecord extends AuditRecord {
  position: bigint;
}

/** Catch-up reads of the audit log in position order (exclusive of `afterPosition`). */
export interface AuditRecordFeed {
  readAfter(afterPosition: bigint, limit: number): Promise<PositionedAuditRecord[]>;
  /** Highest position stored now (0 when empty): how far behind a consumer is. */
  headPosition(): Promise<bigint>;
}

/** Uses of one key: `afterPosition < position <= throughPosition`, time at or after `from`. */
export interface KeyUsesQuery {
  keyId: string;
  /** Only this version; null for every version. */
  version: number | null;
  from: Date;
  afterPosition: bigint;
  throughPosition: bigint;
  limit: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A stored row as the audit record it holds, with its position. */
export function toPositionedAuditRecord(r: StoredAuditRow): PositionedAuditRecord {
  return {
    position: r.position,
    id: r.id,
    time: r.time,
    requestId: r.request_id,
    operation: r.operation,
    actor: r.actor,
    outcome: r.outcome as AuditRecord['outcome'],
    ...(r.key_id !== null ? { keyId: r.key_id } : {}),
    ...(r.key_version !== null ? { keyVersion: r.key_version } : {}),
    ...(r.actor_role !== null ? { actorRole: r.actor_role } : {}),
    ...(r.error_code !== null ? { errorCode: r.error_code } : {}),
    ...(r.source_address !== null ? { sourceAddress: r.source_address } : {}),
    ...(r.details !== null ? { details: r.details as AuditRecord['details'] } : {}),
    ...(r.items !== undefined && r.items !== null ? { items: r.items as AuditRecordItem[] } : {}),
  };
}

/**
 * A stored row as the records consumers see (auditRecordItems): itself, or for a batch call's row
 * one record per item, item i at position `row - (items - 1) + i` (the positions its writer reserved
 * for it, see lockAndSeal), so each item has a position of its own for cursors, checkpoints and
 * ledger leaves.
 */
export function positionedAuditRecords(r: StoredAuditRow): PositionedAuditRecord[] {
  const records = auditRecordItems(toPositionedAuditRecord(r));
  const first = r.position - BigInt(records.length - 1);
  return records.map((record, i) => ({ ...record, position: first + BigInt(i) }));
}

/** The records of `rows` after `afterPosition` (a cursor may stop inside a batch call's row). */
/**
 * The records of `rows` after `afterPosition`, whole rows only, until `limit` records are reached
 * (the last row may pass it by its items): a read of `limit` rows of batch calls would otherwise hand
 * a consumer up to `limit` × 500 records at once. A read cut short holds at least `limit` records, so
 * a consumer that reads on while it gets full reads (the projector) does; the rest follows the last row.
 */
function recordsAfter(rows: readonly StoredAuditRow[], afterPosition: bigint, limit: number): PositionedAuditRecord[] {
  const out: PositionedAuditRecord[] = [];
  for (const row of rows) {
    const records = positionedAuditRecords(row).filter((r) => r.position > afterPosition);
    if (out.length >= limit) break;
    out.push(...records);
  }
  return out;
}

/**
 * Reads audit_records (see auditMigrations) for consumers such as the audit projector. Positions are
 * visible in commit order because every writer takes the same advisory lock. Every record is checked
 * against its seal (AuditSealer) before it is delivered.
 */
export class PostgresAuditFeed implements AuditRecordFeed {
  constructor(
    private readonly pool: Pool,
    private readonly sealer: AuditSealer,
  ) {}

  /**
   * Records after `afterPosition` from up to `limit` rows (a batch call's row gives one record per
   * item: positionedAuditRecords), each row sealed and chained to the one before it (the first to the
   * row at or before `afterPosition`, itself checked; when none precedes it, to nothing, or to the
   * anchor a sealed retention drop recorded for the rows it removed: retainedTrailAnchor). Stops
   * at the first row that is not: those before it are returned, and when it is the first to
   * deliver, AuditIntegrityError (naming its position and id) is thrown.
   */
  async readAfter(afterPosition: bigint, limit: number): Promise<PositionedAuditRecord[]> {
    const { anchor, rows } = await readStoredAuditRows(this.pool, afterPosition, limit);
    const prev = anchor ? this.sealer.check(anchor).hash : await retainedTrailAnchor(this.pool, this.sealer, rows[0]);
    const { valid, error } = this.sealer.checkChain(rows, prev);
    if (error && valid.length === 0) throw error;
    return recordsAfter(valid, afterPosition, limit);
  }

  /**
   * Records of one key by time and position range, in position order, at most `limit` (index on
   * key_id, time). A batch call's row counts by item: rows over several keys (key_id null) are
   * matched by their items (partial GIN index, IndexMixedKeyBatchItems1796750000000), and only the items of this key (and version) are returned. Each row's
   * own seal is checked (a filtered read cannot check the links); AuditIntegrityError at the first that fails.
   */
  async readKeyUses(q: KeyUsesQuery): Promise<PositionedAuditRecord[]> {
    // key_id is a uuid column: any other id names no stored record (and must not fail the caller).
    if (!UUID.test(q.keyId) || q.throughPosition <= q.afterPosition) return [];
    const keyId = q.keyId.toLowerCase();
    const out: PositionedAuditRecord[] = [];
    for (let after = q.afterPosition; out.length < q.limit; ) {
      const { rows } = await this.pool.query<StoredAuditRowText>(
        `SELECT ${STORED_AUDIT_COLUMNS}
           FROM audit_records
          WHERE (key_id = $1 OR (key_id IS NULL AND items IS NOT NULL AND items @> jsonb_build_array(jsonb_build_object('keyId', $1::text))))
            AND "time" >= $2 AND ($3::integer IS NULL OR key_version = $3::integer OR items IS NOT NULL)
            AND "position" > $4 AND "position" <= $5
          ORDER BY audit_records."position" LIMIT $6`,
        [keyId, q.from, q.version, after.toString(), q.throughPosition.toString(), q.limit],
      );
      const stored = rows.map(toStoredAuditRow);
      for (const row of stored) this.sealer.check(row);
      const uses = stored.flatMap(positionedAuditRecords).filter((r) => r.position > after).filter((r) => r.keyId === keyId && (q.version === null || r.keyVersion === q.version) && r.position <= q.throughPosition);
      out.push(...uses.slice(0, q.limit - out.length));
      const last = stored.at(-1);
      if (rows.length < q.limit || !last) break;
      after = last.position;
    }
    return out;
  }

  /**
   * Records of one operation with `afterPosition < position <= throughPosition`, in position order
   * (from up to `limit` rows; a batch call's row gives one record per item).
   * Each record's own seal is checked (a filtered read cannot check the links) and a record that
   * fails is left out, not thrown: this read feeds the integrity alarm sweep, which must neither send
   * a forged alarm nor stop sending real ones behind it; the reader of the whole trail (the audit
   * projector and its reconciliation) names the forged record.
   */
  async readOperation(operation: string, afterPosition: bigint, throughPosition: bigint, limit: number): Promise<PositionedAuditRecord[]> {
    if (throughPosition <= afterPosition) return [];
    const { rows } = await this.pool.query<StoredAuditRowText>(
      `SELECT ${STORED_AUDIT_COLUMNS} FROM audit_records
        WHERE "position" > $1 AND "position" <= $2 AND operation = $3
        ORDER BY audit_records."position" LIMIT $4`,
      [afterPosition.toString(), throughPosition.toString(), operation, limit],
    );
    const out: PositionedAuditRecord[] = [];
    for (const r of rows) {
      const stored = toStoredAuditRow(r);
      try {
        this.sealer.check(stored);
      } catch {
        continue;
      }
      out.push(...positionedAuditRecords(stored).filter((r) => r.position > afterPosition));
    }
    return out;
  }

  async headPosition(): Promise<bigint> {
    const { rows } = await this.pool.query<{ head: string | null }>('SELECT max("position")::text AS head FROM audit_records');
    return BigInt(rows[0]?.head ?? '0');
  }
}
