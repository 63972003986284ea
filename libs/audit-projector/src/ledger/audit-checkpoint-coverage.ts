import type { AuditCheckpointCoverage } from '@kms/persistence-postgres';

/** Anything with pg's `query` (a Pool or a client). */
interface Queryable {
  query<R extends object>(sql: string, values?: unknown[]): Promise<{ rows: R[] }>;
}

/**
 * The newest signed checkpoint of the audit ledger and the last audit position its leaves cover
 * (the source position of its last leaf): what archiveAuditTrail archives up to before retention may
 * drop a partition. Undefined before the first checkpoint.
 */
export async function latestAuditCheckpointCoverage(db: Queryable): Promise<AuditCheckpointCoverage | undefined> {
  const { rows } = await db.query<{ tree_size: string; note: string; through: string | null }>(
    `SELECT c.tree_size::text AS tree_size, c.note,
            (SELECT l.source_position::text FROM ledger_leaves l WHERE l.log = 'audit' AND l.leaf_index = c.tree_size - 1) AS through
       FROM ledger_checkpoints c WHERE c.log = 'audit' ORDER BY c.tree_size DESC LIMIT 1`,
  );
  const r = rows[0];
  if (!r || r.through === null) return undefined;
  return { treeSize: Number(r.tree_size), note: r.note, throughPosition: BigInt(r.through) };
}
