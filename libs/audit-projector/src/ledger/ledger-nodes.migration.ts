import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Fill ledger_nodes from the stored leaves, level by level, in SQL: each level's node i is
 * SHA-256(0x01 || node 2i || node 2i+1) of the level below (level 0: ledger_leaves.leaf_hash, RFC 9162
 * nodeHash). Only nodes not stored yet, and only those over leaves from `fromLeaf` on (a generator
 * that appends in chunks passes where the chunk began); for the upgrade of an existing ledger.
 */
export async function backfillLedgerNodes(query: (sql: string) => Promise<unknown>, fromLeaf = 0): Promise<void> {
  if (!Number.isSafeInteger(fromLeaf) || fromLeaf < 0) throw new RangeError('fromLeaf: must be a whole number, 0 or more');
  // The first node of each level whose subtree may hold a new leaf, as an even index (a left child).
  const first = (level: number) => Math.floor(fromLeaf / 2 ** level / 2) * 2;
  await query(`
    INSERT INTO ledger_nodes (log, level, idx, hash)
    SELECT l.log, 1, l.leaf_index / 2, sha256('\\x01'::bytea || l.leaf_hash || r.leaf_hash)
      FROM ledger_leaves l JOIN ledger_leaves r ON r.log = l.log AND r.leaf_index = l.leaf_index + 1
     WHERE l.leaf_index % 2 = 0 AND l.leaf_index >= ${first(0)}
    ON CONFLICT DO NOTHING`);
  for (let level = 2; level < 63; level++) {
    const inserted = (await query(`
      WITH added AS (
        INSERT INTO ledger_nodes (log, level, idx, hash)
        SELECT a.log, ${level}, a.idx / 2, sha256('\\x01'::bytea || a.hash || b.hash)
          FROM ledger_nodes a JOIN ledger_nodes b ON b.log = a.log AND b.level = a.level AND b.idx = a.idx + 1
         WHERE a.level = ${level - 1} AND a.idx % 2 = 0 AND a.idx >= ${first(level - 1)}
        ON CONFLICT DO NOTHING RETURNING 1)
      SELECT count(*)::int AS n FROM added`)) as Array<{ n: number }>;
    if ((inserted[0]?.n ?? 0) === 0) {
      // Nothing new at this level: done once the level below has no pair left to join.
      const below = (await query(`SELECT count(*)::int AS n FROM (SELECT 1 FROM ledger_nodes WHERE level = ${level - 1} LIMIT 2) two`)) as Array<{ n: number }>;
      if ((below[0]?.n ?? 0) < 2) break;
    }
  }
}

/**
 * The ledger's perfect subtrees (level ≥ 1; level 0 is ledger_leaves), written by the projector in
 * the transaction that appends their last leaf (appendToEdge), so inclusion and consistency proofs
 * and checkpoint roots read O(log n) hashes instead of every leaf. Append-only like the leaves;
 * existing ledgers are filled by the migration.
 */
export class CreateLedgerNodes1796720000002 implements MigrationInterface {
  name = 'CreateLedgerNodes1796720000002';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE ledger_nodes (
        log    text     NOT NULL CHECK (log IN ('events', 'audit')),
        level  smallint NOT NULL CHECK (level >= 1),
        idx    bigint   NOT NULL CHECK (idx >= 0),
        hash   bytea    NOT NULL,
        PRIMARY KEY (log, level, idx)
      )`);
    await q.query(`CREATE TRIGGER ledger_nodes_append_only BEFORE UPDATE OR DELETE ON ledger_nodes FOR EACH ROW EXECUTE FUNCTION ledger_leaves_append_only()`);
    await backfillLedgerNodes((sql) => q.query(sql));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE ledger_nodes');
  }
}
