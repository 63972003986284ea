import { randomUUID } from 'node:crypto';
import { type AuditRecord, type AuditRecordItem, batchAuditRecord } from '@kms/application';
import type { Pool } from 'pg';
import { insertAuditRecord, inTransaction } from '../changes/postgres-change-store';
import { createPgPool, dropSchema, type PostgresTarget, runMigrations, testDatabaseUrl, uniqueTestSchema } from '../pg/postgres-connection';
import { testAuditSealer } from '../testing';
import { readStoredAuditRows } from './audit-chain';
import { auditMigrations } from './audit-records.migration';
import { AuditIntegrityError } from './audit-seal';
import { type PositionedAuditRecord, PostgresAuditFeed } from './postgres-audit-feed';
import { PostgresAuditLog } from './postgres-audit-log';

const sealer = testAuditSealer();
const KEY_A = randomUUID();
const KEY_B = randomUUID();

interface Db {
  pool: Pool;
  log: PostgresAuditLog;
  feed: PostgresAuditFeed;
}

const open: Array<{ pool: Pool; target: PostgresTarget }> = [];

afterAll(async () => {
  for (const { pool, target } of open) {
    await pool.end();
    await dropSchema(target);
  }
});

async function db(prefix: string): Promise<Db> {
  const target = { url: testDatabaseUrl(), schema: uniqueTestSchema(prefix) };
  await runMigrations(target, auditMigrations);
  const pool = createPgPool(target, { max: 4 });
  open.push({ pool, target });
  return { pool, log: new PostgresAuditLog(pool, sealer), feed: new PostgresAuditFeed(pool, sealer) };
}

let clock = 0;
function single(overrides: Partial<AuditRecord> = {}): AuditRecord {
  return { id: randomUUID(), time: new Date(Date.UTC(2026, 4, 1, 0, 0, 0, clock++)), requestId: 'req-single', operation: 'Encrypt', actor: 'svc', outcome: 'SUCCESS', keyId: KEY_A, keyVersion: 1, ...overrides };
}

const ref = () => randomUUID().replaceAll('-', '');

function item(batchIndex: number, overrides: Partial<AuditRecordItem> = {}): AuditRecordItem {
  return { id: randomUUID(), batchIndex, outcome: 'SUCCESS', keyId: KEY_A, keyVersion: 1, details: { plaintextBytes: 1024 }, ...overrides };
}

function batch(operation: string, items: AuditRecordItem[]): AuditRecord {
  return batchAuditRecord({ id: randomUUID(), time: new Date(Date.UTC(2026, 4, 1, 0, 0, 0, clock++)), requestId: `req-${operation}`, operation, actor: 'svc', sourceAddress: '10.0.0.9' }, items);
}

async function rowCount(pool: Pool): Promise<number> {
  return (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_records')).rows[0]?.n ?? -1;
}

/** Read as the projector does, `page` rows per call, until the end. */
async function readAll(feed: PostgresAuditFeed, page: number, from = 0n): Promise<PositionedAuditRecord[]> {
  const out: PositionedAuditRecord[] = [];
  for (let after = from; ; ) {
    const next = await feed.readAfter(after, page);
    if (next.length === 0) return out;
    out.push(...next);
    after = next[next.length - 1]?.position ?? after;
  }
}

describe('a batch call\'s audit record on PostgreSQL', () => {
  it('is one sealed row; the feed gives one record per item, each with its own id and a position of its own, in batch order', async () => {
    const { pool, log, feed } = await db('kms_batch_audit_rows');
    const items = Array.from({ length: 100 }, (_, i) => item(i, i === 7 ? { outcome: 'FAILURE', errorCode: 'INVALID_ARGUMENT', keyId: undefined, keyVersion: undefined } : {}));
    const call = batch('BatchEncrypt', items);
    const before = single();
    const after = single();
    await log.append(before);
    await log.append(call);
    // The change store's writer after it chains to the batch row like to any other.
    await inTransaction(pool, (c) => insertAuditRecord(c, after, sealer));
    await log.close();

    expect(await rowCount(pool)).toBe(3);
    const { rows } = await readStoredAuditRows(pool, 0n, 10);
    const [first, row, last] = rows;
    // The batch row stands at the last of the 100 positions it reserved.
    expect([row?.position, last?.position]).toEqual([(first?.position as bigint) + 100n, (first?.position as bigint) + 101n]);
    expect(row?.items).toHaveLength(100);

    // A read stops at a row boundary once it holds `limit` records: a batch row comes whole, the rest next time.
    expect((await feed.readAfter(0n, 10)).map((r) => r.id)).toEqual([before.id, ...items.map((i) => i.id)]);
    const records = await readAll(feed, 10);
    expect(records.map((r) => r.id)).toEqual([before.id, ...items.map((i) => i.id), after.id]);
    const positions = records.map((r) => r.position);
    expect(positions).toEqual(positions.map((_, i) => (first?.position as bigint) + BigInt(i)));
    const seventh = records[8];
    expect(seventh).toMatchObject({ operation: 'BatchEncrypt', outcome: 'FAILURE', errorCode: 'INVALID_ARGUMENT', requestId: 'req-BatchEncrypt', sourceAddress: '10.0.0.9' });
    expect(seventh?.keyId).toBeUndefined();
    expect(seventh?.details).toEqual({ plaintextBytes: 1024, batchIndex: 7, batchSize: 100, batchRecordId: call.id });
    expect(records[1]).toMatchObject({ keyId: KEY_A, keyVersion: 1, outcome: 'SUCCESS' });

    // Paging by rows gives the same records; a cursor inside the batch gets the rest of it.
    expect((await readAll(feed, 1)).map((r) => r.id)).toEqual(records.map((r) => r.id));
    expect((await feed.readAfter(positions[50] as bigint, 10)).map((r) => r.id)).toEqual(records.slice(51, 101).map((r) => r.id));
    expect((await feed.readAfter(positions[50] as bigint, 1000)).map((r) => r.id)).toEqual(records.slice(51).map((r) => r.id));
    expect(await feed.headPosition()).toBe(last?.position);
  });

  it('applies every successful item\'s ciphertext tracking in the commit of its one row: BatchEncrypt, then BatchReEncrypt', async () => {
    const { pool, log } = await db('kms_batch_audit_track');
    const refs = Array.from({ length: 5 }, ref);
    await log.append(
      batch('BatchEncrypt', [
        ...refs.map((r, i) => item(i, { ciphertexts: { handedOut: { ref: r, keyId: KEY_A, version: 1 } } })),
        // A failed item's reference is never tracked.
        item(5, { outcome: 'FAILURE', errorCode: 'KEY_DISABLED', ciphertexts: { handedOut: { ref: ref(), keyId: KEY_A, version: 1 } } }),
      ]),
    );
    expect(await log.outstanding(KEY_A)).toEqual(new Map([[1, 5]]));

    // Three of them re-encrypted to version 2 in one call, one of those twice in the same batch.
    const moved = refs.slice(0, 3).map(() => ref());
    const again = ref();
    await log.append(
      batch('BatchReEncrypt', [
        ...refs.slice(0, 3).map((r, i) => item(i, { keyVersion: 2, ciphertexts: { released: r, handedOut: { ref: moved[i] as string, keyId: KEY_A, version: 2 } } })),
        item(3, { keyVersion: 2, ciphertexts: { released: moved[0] as string, handedOut: { ref: again, keyId: KEY_A, version: 2 } } }),
      ]),
    );
    expect(await log.outstanding(KEY_A)).toEqual(new Map([[1, 2], [2, 3]]));
    expect(await rowCount(pool)).toBe(2);
    // The references are in the sealed items, so tracked_ciphertexts can be rebuilt from audit_records.
    const { rows } = await pool.query<{ refs: string[] }>(`SELECT array_agg(i->'details'->>'ciphertextRef' ORDER BY (i->>'batchIndex')::int) AS refs FROM audit_records, jsonb_array_elements(items) i WHERE operation = 'BatchEncrypt'`);
    expect(rows[0]?.refs.slice(0, 5)).toEqual(refs);
  });

  it('given its items JSON is edited after sealing, then the feed refuses the row like any other edited record', async () => {
    const { pool, log, feed } = await db('kms_batch_audit_tamper');
    const call = batch('BatchDecrypt', [item(0), item(1)]);
    await log.append(single());
    await log.append(call);
    await log.close();
    await inTransaction(pool, async (c) => {
      await c.query('ALTER TABLE audit_records DISABLE TRIGGER USER');
      // Turn a successful item into a failure: every other column and the seal unchanged.
      await c.query(`UPDATE audit_records SET items = jsonb_set(items, '{1,outcome}', '"FAILURE"') WHERE id = $1`, [call.id]);
      await c.query('ALTER TABLE audit_records ENABLE TRIGGER USER');
    });
    const { rows } = await readStoredAuditRows(pool, 0n, 10);
    const error = await feed.readAfter(rows[0]?.position as bigint, 10).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuditIntegrityError);
    expect(error).toMatchObject({ recordId: call.id, position: rows[1]?.position, problem: 'the record differs from what was sealed (edited or moved)' });
    // The record before it is still delivered; the key-use read refuses it too.
    expect((await feed.readAfter(0n, 10)).map((r) => r.operation)).toEqual(['Encrypt']);
    await expect(feed.readKeyUses({ keyId: KEY_A, version: null, from: new Date(0), afterPosition: 0n, throughPosition: 1000n, limit: 10 })).rejects.toBeInstanceOf(AuditIntegrityError);
  });

  it('counts a key\'s uses by item: a batch over two keys gives each key its own items, by version, in pages of at most `limit`', async () => {
    const { log, feed } = await db('kms_batch_audit_uses');
    const items = Array.from({ length: 9 }, (_, i) => item(i, i % 3 === 0 ? { keyId: KEY_B, keyVersion: 1 + ((i / 3) % 2) } : {}));
    const mixed = batch('BatchEncrypt', items);
    expect(mixed.keyId).toBeUndefined();
    await log.append(single({ keyId: KEY_B, keyVersion: 2 }));
    await log.append(mixed);
    await log.append(batch('BatchDecrypt', [item(0, { keyId: KEY_B, keyVersion: 2 }), item(1, { keyId: KEY_B, keyVersion: 2 })]));
    await log.close();
    const uses = (version: number | null, limit: number, afterPosition = 0n) => feed.readKeyUses({ keyId: KEY_B, version, from: new Date(0), afterPosition, throughPosition: 10_000n, limit });

    const all = await uses(null, 100);
    expect(all.map((u) => [u.operation, u.keyVersion, u.details?.['batchIndex'] ?? null])).toEqual([
      ['Encrypt', 2, null],
      ['BatchEncrypt', 1, 0],
      ['BatchEncrypt', 2, 3],
      ['BatchEncrypt', 1, 6],
      ['BatchDecrypt', 2, 0],
      ['BatchDecrypt', 2, 1],
    ]);
    expect((await uses(2, 100)).map((u) => u.id)).toEqual([all[0], all[2], all[4], all[5]].map((u) => u?.id));
    // Paged two at a time from each page's last position, as the anomaly detector reads: the same uses.
    const paged: string[] = [];
    for (let after = 0n; ; ) {
      const page = await uses(null, 2, after);
      expect(page.length).toBeLessThanOrEqual(2);
      paged.push(...page.map((u) => u.id));
      if (page.length < 2) break;
      after = page[page.length - 1]?.position ?? after;
    }
    expect(paged).toEqual(all.map((u) => u.id));
  });

  it("finds a key's uses in batches over several keys through the partial items index: readKeyUses' condition is one the index serves", async () => {
    const { pool, log, feed } = await db('batch_mixed_index');
    // Many batches over two other keys each, one that holds KEY_B, and single calls of KEY_B.
    for (let page = 0; page < 10; page++) {
      await log.appendMany(Array.from({ length: 300 }, () => batch('BatchEncrypt', [item(0, { keyId: randomUUID() }), item(1, { keyId: randomUUID() })])));
    }
    await log.append(batch('BatchEncrypt', [item(0), item(1, { keyId: KEY_B })]));
    await log.appendMany(Array.from({ length: 20 }, () => single({ keyId: KEY_B })));
    await log.close();
    await pool.query('ANALYZE audit_records');
    // Whether the partial index serves readKeyUses' condition (its predicate and expression match), not
    // whether the planner prefers it on this small table: that choice follows ANALYZE's random sample
    // and once chose a sequential scan of 3,021 rows. With sequential scans off, the plan uses the index
    // exactly when it can.
    const client = await pool.connect();
    let rows: Array<{ 'QUERY PLAN': string }>;
    try {
      await client.query('BEGIN');
      await client.query('SET LOCAL enable_seqscan = off');
      ({ rows } = await client.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT "position" FROM audit_records
          WHERE (key_id = $1 OR (key_id IS NULL AND items IS NOT NULL AND items @> jsonb_build_array(jsonb_build_object('keyId', $1::text))))
            AND "time" >= $2`,
        [KEY_B, new Date(0)],
      ));
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
    const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
    expect(plan).toMatch(/Bitmap Index Scan on \S*items\S*/);
    expect(plan).toContain('Index Cond: (items @>');
    expect((await feed.readKeyUses({ keyId: KEY_B, version: null, from: new Date(0), afterPosition: 0n, throughPosition: 100_000n, limit: 100 })).map((u) => u.operation)).toEqual([
      'BatchEncrypt',
      ...Array.from({ length: 20 }, () => 'Encrypt'),
    ]);
    // Rows of one key stay out of it: only mixed-key batch rows are indexed.
    const indexed = await pool.query<{ predicate: string }>(
      `SELECT pg_get_expr(i.indpred, i.indrelid) AS predicate FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'audit_records_mixed_key_items_idx'`,
    );
    expect(indexed.rows[0]?.predicate).toBe('((key_id IS NULL) AND (items IS NOT NULL))');
  });
});
