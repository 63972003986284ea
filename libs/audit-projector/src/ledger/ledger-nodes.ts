import { type LedgerLog, type NodeId, nodeHash, type StoredNode } from '@kms/ledger';

/** Anything with TypeORM's raw `query` (a DataSource or an EntityManager). */
interface RawQuery {
  query(sql: string, parameters?: unknown[]): Promise<unknown>;
}

const key = (n: NodeId) => `${n.level}/${n.index}`;

/**
 * Hashes of perfect subtrees of a log: level 0 from ledger_leaves, higher levels from ledger_nodes.
 * A node not stored (a ledger written before ledger_nodes, or leaves inserted by hand) is computed
 * from its children, read the same way, so the answer is always right and only slower.
 */
export async function readLedgerNodes(db: RawQuery, log: LedgerLog, ids: readonly NodeId[]): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>();
  let wanted = [...new Map(ids.map((n) => [key(n), n])).values()];
  const pending: NodeId[][] = [];
  while (wanted.length > 0) {
    const leaves = wanted.filter((n) => n.level === 0);
    const inner = wanted.filter((n) => n.level > 0);
    if (leaves.length > 0) {
      const rows = (await db.query('SELECT leaf_index::text AS i, leaf_hash AS h FROM ledger_leaves WHERE log = $1 AND leaf_index = ANY($2::bigint[])', [log, leaves.map((n) => n.index)])) as Array<{ i: string; h: Buffer }>;
      for (const r of rows) found.set(`0/${r.i}`, r.h);
      const gap = leaves.find((n) => !found.has(key(n)));
      if (gap) throw new Error(`ledger ${log} has no leaf ${gap.index}`);
    }
    if (inner.length > 0) {
      const rows = (await db.query('SELECT level, idx::text AS i, hash AS h FROM ledger_nodes WHERE log = $1 AND (level, idx) IN (SELECT * FROM unnest($2::smallint[], $3::bigint[]))', [
        log,
        inner.map((n) => n.level),
        inner.map((n) => n.index),
      ])) as Array<{ level: number; i: string; h: Buffer }>;
      for (const r of rows) found.set(`${r.level}/${r.i}`, r.h);
    }
    const missing = inner.filter((n) => !found.has(key(n)));
    pending.push(missing);
    wanted = missing.flatMap((n) => [
      { level: n.level - 1, index: n.index * 2 },
      { level: n.level - 1, index: n.index * 2 + 1 },
    ]).filter((n) => !found.has(key(n)));
  }
  // Compute what was missing, lowest level first (children are known by then).
  for (const level of pending.reverse()) {
    for (const n of level) {
      const left = found.get(key({ level: n.level - 1, index: n.index * 2 }));
      const right = found.get(key({ level: n.level - 1, index: n.index * 2 + 1 }));
      if (!left || !right) throw new Error(`ledger ${log} cannot hash node ${key(n)}`);
      found.set(key(n), nodeHash(left, right));
    }
  }
  return found;
}

/** The hashes of `ids`, in order, from readLedgerNodes. */
export async function ledgerNodeHashes(db: RawQuery, log: LedgerLog, ids: readonly NodeId[]): Promise<Buffer[]> {
  const found = await readLedgerNodes(db, log, ids);
  return ids.map((n) => found.get(key(n)) as Buffer);
}

/** Store the perfect subtrees an append completed (appendToEdge), in the append's transaction. */
export async function insertLedgerNodes(db: RawQuery, log: LedgerLog, nodes: readonly StoredNode[]): Promise<void> {
  if (nodes.length === 0) return;
  await db.query('INSERT INTO ledger_nodes (log, level, idx, hash) SELECT $1, * FROM unnest($2::smallint[], $3::bigint[], $4::bytea[])', [
    log,
    nodes.map((n) => n.level),
    nodes.map((n) => n.index),
    nodes.map((n) => n.hash),
  ]);
}
