import type { AuditRecord } from '@kms/application';
import type { Pool } from 'pg';

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
const COLUMNS = `"position"::text AS position, id, "time", request_id, operation, key_id, key_version, actor, actor_role, outcome,
              error_code, source_address, details`;

interface AuditRecordRow {
  position: string;
  id: string;
  time: Date;
  request_id: string;
  operation: string;
  key_id: string | null;
  key_version: number | null;
  actor: string;
  actor_role: string | null;
  outcome: AuditRecord['outcome'];
  error_code: string | null;
  source_address: string | null;
  details: Record<string, string | number | boolean> | null;
}

function toRecord(r: AuditRecordRow): PositionedAuditRecord {
  return {
    position: BigInt(r.position),
    id: r.id,
    time: r.time,
    requestId: r.request_id,
    operation: r.operation,
    actor: r.actor,
    outcome: r.outcome,
    ...(r.key_id !== null ? { keyId: r.key_id } : {}),
    ...(r.key_version !== null ? { keyVersion: r.key_version } : {}),
    ...(r.actor_role !== null ? { actorRole: r.actor_role } : {}),
    ...(r.error_code !== null ? { errorCode: r.error_code } : {}),
    ...(r.source_address !== null ? { sourceAddress: r.source_address } : {}),
    ...(r.details !== null ? { details: r.details } : {}),
  };
}

/**
 * Reads audit_records (see auditMigrations) for consumers such as the audit projector. Positions are
 * visible in commit order because every flush of PostgresAuditLog takes the same advisory lock.
 */
export class PostgresAuditFeed implements AuditRecordFeed {
  constructor(private readonly pool: Pool) {}

  async readAfter(afterPosition: bigint, limit: number): Promise<PositionedAuditRecord[]> {
    const { rows } = await this.pool.query<AuditRecordRow>(
      `SELECT ${COLUMNS} FROM audit_records WHERE audit_records."position" > $1 ORDER BY audit_records."position" LIMIT $2`,
      [afterPosition.toString(), limit],
    );
    return rows.map(toRecord);
  }

  /** Records of one key by time and position range, in position order (index on key_id, time). */
  async readKeyUses(q: KeyUsesQuery): Promise<PositionedAuditRecord[]> {
    // key_id is a uuid column: any other id names no stored record (and must not fail the caller).
    if (!UUID.test(q.keyId) || q.throughPosition <= q.afterPosition) return [];
    const { rows } = await this.pool.query<AuditRecordRow>(
      `SELECT ${COLUMNS}
         FROM audit_records
        WHERE key_id = $1 AND "time" >= $2 AND ($3::integer IS NULL OR key_version = $3::integer)
          AND "position" > $4 AND "position" <= $5
        ORDER BY "position" LIMIT $6`,
      [q.keyId, q.from, q.version, q.afterPosition.toString(), q.throughPosition.toString(), q.limit],
    );
    return rows.map(toRecord);
  }

  async headPosition(): Promise<bigint> {
    const { rows } = await this.pool.query<{ head: string | null }>('SELECT max("position")::text AS head FROM audit_records');
    return BigInt(rows[0]?.head ?? '0');
  }
}
