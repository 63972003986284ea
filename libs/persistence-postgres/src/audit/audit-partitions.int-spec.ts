import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditRecord } from '@kms/application';
import type { Pool } from 'pg';
import { createPgPool, dropSchema, type PostgresTarget, runMigrations, testDatabaseUrl, uniqueTestSchema } from '../pg/postgres-connection';
import { testAuditSealer } from '../testing';
import { ensureAuditPartitions, listAuditPartitions } from './audit-partitions';
import { auditMigrations } from './audit-records.migration';
import { archiveAuditTrail, AUDIT_PARTITION_DROPPED, AUDIT_TRAIL_ARCHIVED, dropExpiredAuditPartitions } from './audit-retention';
import { AuditIntegrityError } from './audit-seal';
import { PostgresAuditFeed } from './postgres-audit-feed';
import { PostgresAuditLog } from './postgres-audit-log';

const sealer = testAuditSealer();
const schemas: Array<{ target: PostgresTarget; pool: Pool }> = [];
const archiveDir = mkdtempSync(join(tmpdir(), 'kms-audit-archive-'));

afterAll(async () => {
  for (const s of schemas) {
    await s.pool.end();
    await dropSchema(s.target);
  }
  rmSync(archiveDir, { recursive: true, force: true });
});

async function schema(prefix: string, migrations = auditMigrations): Promise<{ target: PostgresTarget; pool: Pool }> {
  const target = { url: testDatabaseUrl(), schema: uniqueTestSchema(prefix) };
  await runMigrations(target, migrations);
  const s = { target, pool: createPgPool(target, { max: 4 }) };
  schemas.push(s);
  return s;
}

function record(time: Date, operation = 'Encrypt'): AuditRecord {
  return { id: randomUUID(), time, requestId: randomUUID(), operation, keyId: randomUUID(), keyVersion: 1, actor: 'svc-payments', outcome: 'SUCCESS', details: { plaintextBytes: 3 } };
}

async function append(pool: Pool, times: Date[]): Promise<void> {
  const log = new PostgresAuditLog(pool, sealer);
  try {
    for (const t of times) await log.append(record(t));
  } finally {
    await log.close();
  }
}

/** Where each record lives: [position, partition]. */
async function placement(pool: Pool): Promise<Array<[string, string]>> {
  const { rows } = await pool.query<{ p: string; part: string }>('SELECT "position"::text AS p, tableoid::regclass::text AS part FROM audit_records ORDER BY audit_records."position"');
  return rows.map((r) => [r.p, r.part]);
}

const month = (y: number, m: number, d = 10) => new Date(Date.UTC(y, m - 1, d, 12));
const partitionNameOf = (d: Date) => `audit_records_p${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}`;

/**
 * A trail with 36 monthly partitions (2024-01 to 2026-12) on one connection (flushes and the statistics
 * flush on the same backend), and which partitions' indexes were read between two readings.
 */
async function trailOf36Months(prefix: string): Promise<{ pool: Pool; latest: Date; indexScans: () => Promise<Map<string, number>>; readBetween: (from: Map<string, number>, to: Map<string, number>) => string[] }> {
  const target = { url: testDatabaseUrl(), schema: uniqueTestSchema(prefix) };
  await runMigrations(target, auditMigrations);
  const pool = createPgPool(target, { max: 1 });
  schemas.push({ target, pool });
  const months = Array.from({ length: 36 }, (_, i) => month(2024, 1 + i));
  for (const m of months) await pool.query('SELECT kms_create_audit_partition($1)', [m]);
  const indexScans = async (): Promise<Map<string, number>> => {
    await pool.query('SELECT pg_stat_force_next_flush()');
    const { rows } = await pool.query<{ part: string; n: string }>(
      `SELECT relname AS part, coalesce(idx_scan, 0)::text AS n FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname LIKE 'audit_records_p%'`,
    );
    return new Map(rows.map((r) => [r.part, Number(r.n)]));
  };
  const readBetween = (from: Map<string, number>, to: Map<string, number>): string[] =>
    [...to].filter(([part, n]) => n > (from.get(part) ?? 0)).map(([part]) => part).sort();
  return { pool, latest: months[months.length - 1] as Date, indexScans, readBetween };
}

describe('audit_records partitioned by month (PartitionAuditRecords)', () => {
  it('a flush after the first reads one partition to find the chain, however many months the trail holds', async () => {
    const { pool, latest, indexScans, readBetween } = await trailOf36Months('audit_part_probe');
    const log = new PostgresAuditLog(pool, sealer);
    try {
      const start = await indexScans();
      expect(start.size).toBeGreaterThanOrEqual(36);
      // The first flush of an empty trail finds no record before its first position: it reads the greatest position with every partition's index (what this test measures shows it).
      await log.append(record(latest));
      const afterFirst = await indexScans();
      expect(readBetween(start, afterFirst)).toEqual([...start.keys()].sort());
      for (let i = 0; i < 5; i++) await log.append(record(latest));
      expect(readBetween(afterFirst, await indexScans())).toEqual([partitionNameOf(latest)]);
      expect(log.stats()).toMatchObject({ flushes: 6, failedFlushes: 0, resealedFlushes: 0 });
    } finally {
      await log.close();
    }
  });

  it('writers taking turns (each finding the chain moved by the other) read one partition to find the head, however many months the trail holds', async () => {
    const { pool, latest, indexScans, readBetween } = await trailOf36Months('audit_part_turns');
    const a = new PostgresAuditLog(pool, sealer);
    const b = new PostgresAuditLog(pool, sealer);
    try {
      await a.append(record(latest));
      const start = await indexScans();
      // b's first flush, then each flush of one after the other's: the head is read under the lock every time.
      for (let i = 0; i < 6; i++) await (i % 2 === 0 ? b : a).append(record(new Date(latest.getTime() + i * 1000)));
      expect(readBetween(start, await indexScans())).toEqual([partitionNameOf(latest)]);
      expect(a.stats().resealedFlushes + b.stats().resealedFlushes).toBeGreaterThanOrEqual(3);

      // A writer whose clock is 40 days ahead does not find the head near its own time: it still chains after it.
      await b.append(record(new Date(latest.getTime() + 40 * 86_400_000)));
      await a.append(record(new Date(latest.getTime() + 10_000)));
    } finally {
      await a.close();
      await b.close();
    }
    // One chain, every seal and link checked by the feed (it throws at a broken one).
    expect(await new PostgresAuditFeed(pool, sealer).readAfter(0n, 100)).toHaveLength(9);
  });

  it('converts a populated table in place: every row at its position with its seal and a column added before it, the sequence and the chain go on', async () => {
    const before = auditMigrations.filter((m) => !/Partition|Archives/.test(m.name));
    const { target, pool } = await schema('audit_part_convert', before);
    // `items` is added by a migration before this one (AddAuditRecordItems): LIKE must bring it along.
    expect((await pool.query(`SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'audit_records' AND column_name = 'items'`)).rowCount).toBe(1);
    await append(pool, [month(2026, 1), month(2026, 1, 20), month(2026, 3)]);
    const rowsBefore = (await pool.query('SELECT * FROM audit_records ORDER BY "position"')).rows;

    await runMigrations(target, auditMigrations);
    const kind = await pool.query<{ relkind: string }>(`SELECT relkind FROM pg_class WHERE oid = 'audit_records'::regclass`);
    expect(kind.rows[0]?.relkind).toBe('p');
    expect((await pool.query('SELECT * FROM audit_records ORDER BY audit_records."position"')).rows).toEqual(rowsBefore);
    const columns = await pool.query<{ name: string }>(`SELECT attname AS name FROM pg_attribute WHERE attrelid = 'audit_records'::regclass AND attnum > 0 AND NOT attisdropped`);
    expect(columns.rows.map((c) => c.name)).toContain('items');
    expect(await placement(pool)).toEqual([
      ['1', 'audit_records_p202601'],
      ['2', 'audit_records_p202601'],
      ['3', 'audit_records_p202603'],
    ]);
    // The sequence moved with the table: the next record follows, and the whole chain reads back verified.
    await append(pool, [month(2026, 3, 11)]);
    const seq = await pool.query<{ s: string | null }>(`SELECT pg_get_serial_sequence('audit_records', 'position') AS s`);
    expect(seq.rows[0]?.s).toBe(`${target.schema}.audit_records_position_seq`);
    const read = await new PostgresAuditFeed(pool, sealer).readAfter(0n, 10);
    expect(read.map((r) => r.position)).toEqual([1n, 2n, 3n, 4n]);
  });

  it('the down migration gives back one plain table with every row', async () => {
    const { target, pool } = await schema('audit_part_down');
    await append(pool, [month(2026, 1), month(2026, 2)]);
    const rowsBefore = (await pool.query('SELECT * FROM audit_records ORDER BY audit_records."position"')).rows;
    const { DataSource } = await import('typeorm');
    const ds = new DataSource({ type: 'postgres', url: target.url, schema: target.schema, extra: { options: `-c search_path=${target.schema}` }, migrations: auditMigrations, migrationsTableName: 'kms_migrations' });
    await ds.initialize();
    try {
      // Back through every later migration, then PartitionAuditRecords itself.
      const applied = async (name: string) => (await pool.query('SELECT 1 FROM kms_migrations WHERE name = $1', [name])).rowCount === 1;
      while (await applied('PartitionAuditRecords1796720000000')) await ds.undoLastMigration();
    } finally {
      await ds.destroy();
    }
    const kind = await pool.query<{ relkind: string }>(`SELECT relkind FROM pg_class WHERE oid = 'audit_records'::regclass`);
    expect(kind.rows[0]?.relkind).toBe('r');
    expect((await pool.query('SELECT * FROM audit_records ORDER BY "position"')).rows).toEqual(rowsBefore);
    await expect(pool.query('DELETE FROM audit_records')).rejects.toThrow(/history is append-only/);
    await append(pool, [month(2026, 2, 11)]);
    expect((await new PostgresAuditFeed(pool, sealer).readAfter(0n, 10)).map((r) => r.position)).toEqual([1n, 2n, 3n]);
  });

  it('puts each record in its month, and a month without a partition in the default one (which then keeps that month)', async () => {
    const { pool } = await schema('audit_part_route');
    const now = new Date();
    await append(pool, [now, month(2031, 1), month(2001, 5)]);
    expect((await placement(pool)).map(([, part]) => part)).toEqual([partitionNameOf(now), 'audit_records_default', 'audit_records_default']);
    // The migration run made this month and the next three.
    expect((await listAuditPartitions(pool)).length).toBe(4);
    const ensured = await ensureAuditPartitions(pool, month(2030, 12), 1);
    expect(ensured).toEqual({ present: ['audit_records_p203012'], leftInDefault: ['2031-01'] });
    await append(pool, [month(2030, 12, 3)]);
    expect((await placement(pool))[3]).toEqual(['4', 'audit_records_p203012']);
  });

  it('still refuses UPDATE, DELETE and TRUNCATE, on the parent and on every partition, old and new', async () => {
    const { pool } = await schema('audit_part_append_only');
    const now = new Date();
    await ensureAuditPartitions(pool, month(2032, 6), 0);
    await append(pool, [now, month(2031, 1), month(2032, 6)]);
    const refused = /history is append-only/;
    await expect(pool.query(`UPDATE audit_records SET actor = 'mallory'`)).rejects.toThrow(refused);
    await expect(pool.query('DELETE FROM audit_records')).rejects.toThrow(refused);
    await expect(pool.query('TRUNCATE audit_records')).rejects.toThrow(refused);
    for (const part of [partitionNameOf(now), 'audit_records_default', 'audit_records_p203206']) {
      await expect(pool.query(`UPDATE ${part} SET actor = 'mallory'`)).rejects.toThrow(refused);
      await expect(pool.query(`DELETE FROM ${part}`)).rejects.toThrow('kms: DELETE of audit_records is refused: history is append-only');
      await expect(pool.query(`TRUNCATE ${part}`)).rejects.toThrow(refused);
    }
    expect((await placement(pool)).map(([, part]) => part)).toEqual([partitionNameOf(now), 'audit_records_default', 'audit_records_p203206']);
  });
});

describe('retention of audit partitions', () => {
  const now = new Date();

  async function oldTrail(prefix: string) {
    const s = await schema(prefix);
    await ensureAuditPartitions(s.pool, month(2024, 1), 1);
    await append(s.pool, [month(2024, 1, 3), month(2024, 1, 4), month(2024, 2, 3), month(2024, 2, 4), now]);
    return s;
  }

  it('refuses a retention below the policy floor, naming the field', async () => {
    const { pool } = await schema('audit_ret_floor');
    await expect(dropExpiredAuditPartitions(pool, sealer, { now, retentionDays: 364 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'retentionDays' });
  });

  it('drops only an expired partition an archive covers, audited, and the trail then reads back verified from the anchor the drop recorded', async () => {
    const { pool } = await oldTrail('audit_ret_drop');
    const feed = new PostgresAuditFeed(pool, sealer);

    // Not archived: nothing goes.
    const unarchived = await dropExpiredAuditPartitions(pool, sealer, { now, retentionDays: 365 });
    expect(unarchived).toEqual([expect.objectContaining({ partition: 'audit_records_p202401', dropped: false, rows: 2, reason: expect.stringMatching(/not covered by an archived ledger checkpoint/) })]);

    // Archive through the January rows (a checkpoint of two leaves).
    const archive = await archiveAuditTrail(pool, sealer, { checkpoint: { treeSize: 2, note: 'signed note', throughPosition: 2n }, directory: mkdtempSync(join(archiveDir, 'run-')), now });
    expect(archive).toMatchObject({ throughPosition: 2n, checkpointSize: 2 });
    const file = readFileSync(archive?.location as string);
    expect(createHash('sha256').update(file).digest('hex')).toBe(archive?.sha256);
    expect(file.toString().trim().split('\n').map((l) => (JSON.parse(l) as { position?: string }).position)).toEqual([undefined, '1', '2']);

    // Young: on 2025-01-15 a year's retention still keeps records from 2024-01-16 on.
    const young = await dropExpiredAuditPartitions(pool, sealer, { now: new Date(Date.UTC(2025, 0, 15)), retentionDays: 365 });
    expect(young).toEqual([expect.objectContaining({ partition: 'audit_records_p202401', dropped: false, reason: expect.stringMatching(/within the retention period/) })]);

    const decisions = await dropExpiredAuditPartitions(pool, sealer, { now, retentionDays: 365 });
    expect(decisions).toEqual([
      { partition: 'audit_records_p202401', dropped: true, rows: 2 },
      expect.objectContaining({ partition: 'audit_records_p202402', dropped: false, rows: 2, reason: expect.stringMatching(/archived through 2\)/) }),
    ]);
    expect((await listAuditPartitions(pool)).map((p) => p.name)).not.toContain('audit_records_p202401');

    const records = await feed.readAfter(0n, 100);
    expect(records.map((r) => r.position)).toEqual([3n, 4n, 5n, 6n, 7n]);
    expect(records.map((r) => r.operation)).toEqual(['Encrypt', 'Encrypt', 'Encrypt', AUDIT_TRAIL_ARCHIVED, AUDIT_PARTITION_DROPPED]);
    expect(records[4]?.details).toMatchObject({ partition: 'audit_records_p202401', rows: 2, firstPosition: '1', lastPosition: '2', archiveThroughPosition: '2' });
  });

  it('a partition dropped outside retention leaves a gap no sealed record vouches for: the feed refuses it', async () => {
    const { pool } = await oldTrail('audit_ret_forged');
    await pool.query('DROP TABLE audit_records_p202401');
    await expect(new PostgresAuditFeed(pool, sealer).readAfter(0n, 100)).rejects.toThrow(AuditIntegrityError);
    await expect(new PostgresAuditFeed(pool, sealer).readAfter(0n, 100)).rejects.toThrow(/claims a predecessor but none precedes it/);
  });

  it('refuses to drop a partition when an older record sits in the default partition (the trail would have a hole)', async () => {
    const { pool } = await schema('audit_ret_hole');
    await ensureAuditPartitions(pool, month(2024, 1), 0);
    await append(pool, [month(2023, 6), month(2024, 1, 3)]);
    await archiveAuditTrail(pool, sealer, { checkpoint: { treeSize: 2, note: 'signed note', throughPosition: 2n }, directory: mkdtempSync(join(archiveDir, 'run-')), now });
    const decisions = await dropExpiredAuditPartitions(pool, sealer, { now, retentionDays: 365 });
    expect(decisions).toEqual([expect.objectContaining({ partition: 'audit_records_p202401', dropped: false, reason: expect.stringMatching(/in another partition/) })]);
    expect((await placement(pool)).length).toBe(3);
  });
});
