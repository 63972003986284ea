/*
 * The compliance API's reads at audit volume (issue #23, "audit and ledger at volume"). A generator
 * fills a fresh schema with BENCH_AUDIT_ROWS audit records (default 10,000,000) the way the audit
 * projector leaves them — rm_audit_log rows, ledger leaves, the ledger's stored subtrees and two
 * signed checkpoints (half way and at the end) — in SQL (generate_series, one INSERT per million), and
 * prints its rows/s and disk per million rows. It refuses to grow past what keeps 30 GB of the disk
 * free (measured on the first million). Then it times BENCH_AUDIT_RUNS (default 200) runs each of the
 * real code: an audit page (ComplianceQueries.auditRecords) filtered by key, by actor, by a one-hour
 * time range, by key within a day and by a rare operation (Backup), the policy controls report
 * (ComplianceQueries.controls: KMS-BAK-02 and KMS-AC-01 read rm_audit_log), an inclusion proof (LedgerStore.inclusion of a random record)
 * and a consistency proof (LedgerStore.consistency, half way to the end): p50 and p99 against the
 * 50 ms target, and each page query's plan. Figures, never an exit code for a missed target.
 * Rows are synthetic (leaf data is a JSON of the record's fields, not the projector's canonical
 * leaf record); proofs do not depend on what the leaves hold.
 * The latencies are saved in .kms-state/bench/audit-volume.json (unless a run of more records is saved
 * there), for bench:scale to print the latencies at the largest audit size tried.
 * Run: npm run bench:audit-volume   (BENCH_AUDIT_ROWS=1000000 (at least 100,000; above a million, whole
 * millions) BENCH_DATABASE_URL=... BENCH_AUDIT_SCHEMA=<keep and reuse>)
 */
import { createHash } from 'node:crypto';
import { statfs } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { ComplianceQueries, createReadModelDataSource, LedgerStore, SoftwareAttestationSigner, auditProjectorMigrations, backfillLedgerNodes } from '@kms/audit-projector';
import { ConfigError } from '@kms/config';
import { createPgPool, dropSchema, ensureDatabase, inTransaction, runMigrations } from '@kms/persistence-postgres';
import type { Pool } from 'pg';
import { AUDIT_VOLUME_RESULT_FILE, saveAuditVolumeResult } from './audit-volume-result';
import { integerSetting } from './settings';

const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/kms_bench';
const CHUNK = 1_000_000;
const KEYS = 10_000;
const ACTORS = 200;
/** One record in this many is a Backup, and one a compliance officer's ExportEvidence (the rare operations the controls read). */
const RARE = 100_000;
const TARGET_MS = 50;
const KEEP_FREE_BYTES = 30 * 1024 ** 3;
/** Secondary indexes built after the load, as a share of the loaded tables' size. */
const INDEX_SHARE = 0.6;
/** Records are spread evenly over this year. */
const START = Date.parse('2026-01-01T00:00:00Z');
const SPAN_MS = 365 * 86_400_000;

/** What md5(text)::uuid gives in PostgreSQL: the generator's ids, recomputed to query them. */
function md5Uuid(text: string): string {
  const h = createHash('md5').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

async function generateChunk(pool: Pool, lo: number, hi: number, total: number): Promise<void> {
  const step = SPAN_MS / total;
  await inTransaction(pool, async (client) => {
    // Generated data: no need to wait for each chunk's fsync (overrides inTransaction's durable commit).
    await client.query("SET LOCAL synchronous_commit TO off; SET LOCAL work_mem TO '256MB'");
    await client.query(
      `INSERT INTO rm_audit_log ("position", id, "time", actor, role, operation, key_id, key_version, outcome, error_code, request_id, source_address, details, leaf_index)
       SELECT g, md5('rec' || g)::uuid, to_timestamp(($3::float8 + g * $4::float8) / 1000), 'svc-' || (g % ${ACTORS}),
              CASE WHEN g % ${RARE} = ${RARE / 2 + 1} THEN 'compliance-officer' ELSE 'workload' END,
              CASE WHEN g % ${RARE} = 1 THEN 'Backup' WHEN g % ${RARE} = ${RARE / 2 + 1} THEN 'ExportEvidence'
                   ELSE (ARRAY['Encrypt', 'Decrypt', 'GenerateDataKey', 'Sign'])[1 + (g % 4)::int] END,
              md5('key' || (g % ${KEYS}))::uuid, 1 + (g % 3)::int,
              CASE WHEN g % 50 = 0 THEN 'DENIED' ELSE 'SUCCESS' END, CASE WHEN g % 50 = 0 THEN 'PERMISSION_DENIED' END,
              'req-' || g, '10.0.0.8', '{"plaintextBytes": 1024}'::jsonb, g - 1
         FROM generate_series($1::bigint, $2::bigint) g`,
      [lo, hi, START, step],
    );
    await client.query(
      `INSERT INTO ledger_leaves (log, leaf_index, source_position, record_id, subject_key_id, record_time, leaf_hash, leaf_data)
       SELECT 'audit', a.leaf_index, a."position", a.id::text, a.key_id, a."time", sha256('\\x00'::bytea || d.data), d.data
         FROM rm_audit_log a,
              LATERAL (SELECT convert_to(jsonb_build_object('kind', 'audit', 'id', a.id, 'time', a."time", 'operation', a.operation, 'keyId', a.key_id,
                                                            'keyVersion', a.key_version, 'actor', a.actor, 'outcome', a.outcome, 'requestId', a.request_id)::text, 'UTF8') AS data) d
        WHERE a."position" BETWEEN $1 AND $2`,
      [lo, hi],
    );
    await client.query(`UPDATE projection_checkpoints SET "position" = $1, leaf_count = $1 WHERE name = 'audit'`, [hi]);
  });
  await backfillLedgerNodes((sql) => pool.query(sql).then((r) => r.rows), lo - 1);
}

/**
 * Drop the secondary indexes and unique constraints of the generated tables (a fresh schema only),
 * returning the statements that make them again: building them once at the end is several times
 * faster than keeping random-UUID indexes up to date row by row.
 */
async function dropSecondaryIndexes(pool: Pool): Promise<string[]> {
  const tables = `('rm_audit_log', 'ledger_leaves')`;
  const constraints = await pool.query<{ name: string; rel: string; def: string }>(
    `SELECT conname AS name, conrelid::regclass::text AS rel, pg_get_constraintdef(oid) AS def FROM pg_constraint
      WHERE contype = 'u' AND conrelid IN (SELECT oid FROM pg_class WHERE relnamespace = current_schema()::regnamespace AND relname IN ${tables})`,
  );
  const indexes = await pool.query<{ name: string; def: string }>(
    `SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE schemaname = current_schema() AND tablename IN ${tables}
        AND indexname NOT LIKE '%pkey' AND indexname <> ALL($1::text[])`,
    [constraints.rows.map((c) => c.name)],
  );
  for (const c of constraints.rows) await pool.query(`ALTER TABLE ${c.rel} DROP CONSTRAINT ${c.name}`);
  for (const i of indexes.rows) await pool.query(`DROP INDEX ${i.name}`);
  return [...constraints.rows.map((c) => `ALTER TABLE ${c.rel} ADD CONSTRAINT ${c.name} ${c.def}`), ...indexes.rows.map((i) => i.def)];
}

async function tableBytes(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ b: string }>(
    `SELECT sum(pg_total_relation_size(c.oid))::text AS b FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace AND c.relname IN ('rm_audit_log', 'ledger_leaves', 'ledger_nodes')`,
  );
  return Number(rows[0]?.b ?? 0);
}

async function freeBytes(): Promise<number> {
  const s = await statfs('/');
  return s.bavail * s.bsize;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function time(runs: number, op: (i: number) => Promise<unknown>): Promise<{ p50: number; p99: number }> {
  await op(-1); // warm the plan cache and the connection
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await op(i);
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return { p50: percentile(ms, 50), p99: percentile(ms, 99) };
}

async function main(): Promise<void> {
  const wanted = integerSetting('BENCH_AUDIT_ROWS', 10_000_000, 100_000, 1_000_000_000);
  if (wanted > CHUNK && wanted % CHUNK !== 0) throw new ConfigError('BENCH_AUDIT_ROWS', `must be at most a million, or a whole number of millions, got ${wanted}`);
  const runs = integerSetting('BENCH_AUDIT_RUNS', 200, 10, 100_000);
  const url = process.env['BENCH_DATABASE_URL'] || DEFAULT_DATABASE_URL;
  const reuse = process.env['BENCH_AUDIT_SCHEMA'];
  if (reuse !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(reuse)) throw new ConfigError('BENCH_AUDIT_SCHEMA', 'must be a lower-case SQL identifier');
  const target = { url, schema: reuse ?? `bench_audit_volume_${process.pid}` };
  await ensureDatabase(url);
  await runMigrations(target, auditProjectorMigrations);
  // The generator's statements run for minutes: the services' 5 s statement timeout does not apply here.
  const pool = createPgPool({ ...target, timeouts: { connectMs: 10_000, statementMs: 3_600_000, lockMs: 60_000, idleInTransactionMs: 3_600_000 } }, { max: 3 });
  const dataSource = await createReadModelDataSource(target, { poolSize: 2 }).initialize();
  const signer = SoftwareAttestationSigner.generate();
  const ledger = new LedgerStore(dataSource, 'bench/ledger', signer, { now: () => new Date() });
  const lines: string[] = [];
  try {
    // Generate (or go on from what a kept schema holds).
    let have = Number((await pool.query<{ n: string }>(`SELECT leaf_count::text AS n FROM projection_checkpoints WHERE name = 'audit'`)).rows[0]?.n ?? 0);
    if (have > wanted) throw new ConfigError('BENCH_AUDIT_ROWS', `the kept schema ${target.schema} already holds ${have} rows`);
    let rows = have === 0 ? wanted : have;
    let perMillion = have > 0 ? (await tableBytes(pool)) / (have / CHUNK) : 0;
    const t0 = performance.now();
    const generatedFrom = have;
    const recreate = have === 0 ? await dropSecondaryIndexes(pool) : [];
    let stoppedForDisk = false;
    let halfSigned = have >= wanted / 2;
    while (have < wanted) {
      // Loaded rows still need their indexes (about 60% more, measured at 1M rows), and so does the next million.
      const indexDebt = recreate.length > 0 ? INDEX_SHARE * perMillion * (have / CHUNK + 1) : 0;
      if (perMillion > 0 && (await freeBytes()) - perMillion - indexDebt < KEEP_FREE_BYTES) {
        stoppedForDisk = true;
        break;
      }
      // Up to a million in two halves, so the consistency proof runs from the half-way checkpoint too.
      const chunk = Math.min(wanted <= CHUNK ? Math.ceil(wanted / 2) : CHUNK, wanted - have);
      await generateChunk(pool, have + 1, have + chunk, wanted);
      have += chunk;
      perMillion = (await tableBytes(pool)) / (have / CHUNK);
      // A signed checkpoint half way, for the consistency proof from it to the end.
      if (!halfSigned && have >= wanted / 2) {
        await ledger.checkpointIfGrown('audit');
        halfSigned = true;
      }
      process.stderr.write(`audit-volume: ${have} rows, ${((have - generatedFrom) / ((performance.now() - t0) / 1000)).toFixed(0)} rows/s, ${(perMillion / 1024 ** 2).toFixed(0)} MiB per million rows\n`);
    }
    rows = have;
    const loadS = (performance.now() - t0) / 1000;
    for (const statement of recreate) await pool.query(`SET maintenance_work_mem TO '1GB'; ${statement}`);
    perMillion = (await tableBytes(pool)) / (have / CHUNK);
    const genS = (performance.now() - t0) / 1000;
    await pool.query('ANALYZE rm_audit_log; ANALYZE ledger_leaves; ANALYZE ledger_nodes');
    const half = (await ledger.latestCheckpoint('audit'))?.treeSize ?? 0;
    const latest = await ledger.checkpointIfGrown('audit');
    const first = (await pool.query<{ s: string }>(`SELECT min(tree_size)::text AS s FROM ledger_checkpoints WHERE log = 'audit'`)).rows[0]?.s;

    lines.push(`Audit volume: ${rows.toLocaleString('en')} audit records in the audit projector's read model and ledger (${target.schema})`);
    if (rows > generatedFrom) lines.push(`generated ${(rows - generatedFrom).toLocaleString('en')} rows in ${genS.toFixed(0)} s (${loadS.toFixed(0)} s loading, ${(genS - loadS).toFixed(0)} s indexing): ${((rows - generatedFrom) / genS).toFixed(0)} rows/s`);
    lines.push(`disk: ${(perMillion / 1024 ** 2).toFixed(0)} MiB per million rows (rm_audit_log + ledger_leaves + ledger_nodes, with indexes), ${((perMillion * rows) / CHUNK / 1024 ** 3).toFixed(1)} GiB in all; ${((await freeBytes()) / 1024 ** 3).toFixed(0)} GiB left free`);
    if (stoppedForDisk) lines.push(`stopped at ${rows.toLocaleString('en')} of ${wanted.toLocaleString('en')} rows: another million would leave less than 30 GiB free`);

    const queries = new ComplianceQueries(dataSource, { now: () => new Date() });
    const rand = (n: number, i: number) => Math.abs((i * 2_654_435_761) % n);
    const iso = (ms: number) => new Date(ms).toISOString();
    const pages: Array<[string, (i: number) => Record<string, string>]> = [
      [`page by key (${Math.round(rows / KEYS).toLocaleString('en')} records per key)`, (i) => ({ keyId: md5Uuid(`key${rand(KEYS, i + 7)}`), limit: '50' })],
      [`page by actor (${Math.round(rows / ACTORS).toLocaleString('en')} per actor)`, (i) => ({ actor: `svc-${rand(ACTORS, i + 3)}`, limit: '50' })],
      ['page by time range (1 hour)', (i) => ({ from: iso(START + rand(SPAN_MS - 3_600_000, i + 11)), to: iso(START + rand(SPAN_MS - 3_600_000, i + 11) + 3_600_000), limit: '50' })],
      ['page by key within a day', (i) => ({ keyId: md5Uuid(`key${rand(KEYS, i + 5)}`), from: iso(START + rand(SPAN_MS - 86_400_000, i + 13)), to: iso(START + rand(SPAN_MS - 86_400_000, i + 13) + 86_400_000), limit: '50' })],
      [`page by operation (Backup, 1 record in ${RARE.toLocaleString('en')})`, () => ({ operation: 'Backup', limit: '50' })],
    ];
    const results: Array<[string, { p50: number; p99: number }]> = [];
    for (const [name, query] of pages) results.push([name, await time(runs, (i) => queries.auditRecords(query(i < 0 ? 0 : i)))]);
    // Every policy control (GET /v1/controls); over rm_audit_log: KMS-BAK-02 (the newest Backup) and KMS-AC-01 (compliance officers' key uses).
    const ledgerHealth = { events: 0, audit: rows, eventsCheckpoint: 0, auditCheckpoint: latest.treeSize };
    results.push(['controls report (every policy control)', await time(runs, () => queries.controls(ledgerHealth))]);
    results.push([`inclusion proof (tree of ${latest.treeSize.toLocaleString('en')})`, await time(runs, (i) => ledger.inclusion('audit', md5Uuid(`rec${1 + rand(rows, i + 17)}`)))]);
    results.push([`consistency proof (${Number(first ?? half).toLocaleString('en')} → ${latest.treeSize.toLocaleString('en')})`, await time(runs, () => ledger.consistency('audit', Number(first ?? half), latest.treeSize))]);

    lines.push(`${runs} runs each, target < ${TARGET_MS} ms:`);
    lines.push(`${'operation'.padEnd(52)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}  target`);
    for (const [name, r] of results) lines.push(`${name.padEnd(52)} ${r.p50.toFixed(2).padStart(8)} ${r.p99.toFixed(2).padStart(8)}  ${r.p99 < TARGET_MS ? 'met' : 'NOT met'} (p99)`);
    // For bench:scale, which prints the latencies at the largest audit size run here.
    const { kept, saved } = saveAuditVolumeResult({ records: rows, date: new Date().toISOString(), runs, targetMs: TARGET_MS, queries: results.map(([name, r]) => ({ name, p50Ms: r.p50, p99Ms: r.p99 })) });
    lines.push(
      kept === 'this run'
        ? `saved as the audit-volume result (${AUDIT_VOLUME_RESULT_FILE}) bench:scale prints`
        : `not saved: ${AUDIT_VOLUME_RESULT_FILE} keeps the run of ${saved.records.toLocaleString('en')} records (${saved.date}), larger than this one`,
    );

    // How PostgreSQL answers each page (one sample): which index, how many buffers.
    const sample = pages.map(([name, q]) => [name, q(1)] as const);
    for (const [name, q] of sample) {
      const qb = dataSource.getRepository('AuditLogEntity').createQueryBuilder('a');
      if (q.from) qb.andWhere('a.time >= :from', { from: q.from });
      if (q.to) qb.andWhere('a.time < :to', { to: q.to });
      if (q.actor) qb.andWhere('a.actor = :actor', { actor: q.actor });
      if (q.keyId) qb.andWhere('a.keyId = :keyId', { keyId: q.keyId });
      if (q.operation) qb.andWhere('a.operation = :operation', { operation: q.operation });
      const [sql, params] = qb.orderBy('a.position').limit(51).getQueryAndParameters();
      const plan = (await dataSource.query(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) ${sql}`, params)) as Array<{ 'QUERY PLAN': string }>;
      lines.push(`plan, ${name}: ${plan.map((p) => p['QUERY PLAN'].trim()).filter((l) => /Scan|Sort|Buffers|Execution/.test(l)).slice(0, 4).join(' | ')}`);
    }
  } finally {
    await dataSource.destroy();
    await pool.end();
    if (!reuse) await dropSchema(target);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
