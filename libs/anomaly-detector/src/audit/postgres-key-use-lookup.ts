import type { Pool } from 'pg';
import type { KeyUseLookup, KeyUseQuery, PositionedUsage } from './key-use-lookup.port';

interface UseRow {
  position: string;
  id: string;
  time: Date;
  operation: string;
  key_id: string;
  key_version: number | null;
  actor: string;
  outcome: PositionedUsage['outcome'];
  error_code: string | null;
  source_address: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Uses of a key from `audit_records` (index on key_id, time). The pool belongs to the caller. */
export class PostgresKeyUseLookup implements KeyUseLookup {
  constructor(private readonly pool: Pool) {}

  async usesOf(q: KeyUseQuery): Promise<PositionedUsage[]> {
    // key_id is a uuid column: any other id names no stored record (and must not fail the batch).
    if (!UUID.test(q.keyId) || q.throughPosition <= q.afterPosition) return [];
    const { rows } = await this.pool.query<UseRow>(
      `SELECT "position"::text AS position, id, "time", operation, key_id::text AS key_id, key_version, actor, outcome, error_code, source_address
         FROM audit_records
        WHERE key_id = $1 AND "time" >= $2 AND ($3::integer IS NULL OR key_version = $3::integer)
          AND "position" > $4 AND "position" <= $5
        ORDER BY "position" LIMIT $6`,
      [q.keyId, q.from, q.version, q.afterPosition.toString(), q.throughPosition.toString(), q.limit],
    );
    return rows.map((r) => ({
      position: BigInt(r.position),
      id: r.id,
      time: r.time,
      operation: r.operation,
      actor: r.actor,
      outcome: r.outcome,
      keyId: r.key_id,
      ...(r.key_version !== null ? { keyVersion: r.key_version } : {}),
      ...(r.error_code !== null ? { errorCode: r.error_code } : {}),
      ...(r.source_address !== null ? { sourceAddress: r.source_address } : {}),
    }));
  }
}
