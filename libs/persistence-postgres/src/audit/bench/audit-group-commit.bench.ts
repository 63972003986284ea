/*
 * Group-commit benchmark for PostgresAuditLog against the test PostgreSQL (KMS_TEST_DATABASE_URL).
 * Run: npx tsx libs/persistence-postgres/src/audit/bench/audit-group-commit.bench.ts
 * Prints figures and ratios only; nothing here is asserted (STYLE.md 13).
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { AuditRecord } from '@kms/application';
import type { Pool } from 'pg';
import { createPgPool, dropSchema, runMigrations, testDatabaseUrl, uniqueTestSchema } from '../../pg/postgres-connection';
import { auditMigrations } from '../audit-records.migration';
import { PostgresAuditLog } from '../postgres-audit-log';
import { testAuditSealer } from '../../testing';

const sealer = testAuditSealer();

const SEQUENTIAL_RECORDS = 2_000;
const CONCURRENT_APPENDERS = 64;
const CONCURRENT_RECORDS = 64 * 320;
const MANY_BATCH = 100;
const MANY_BATCHES = 200;

interface Result {
  name: string;
  records: number;
  seconds: number;
  /** Milliseconds per call (one append, or one appendMany). */
  latencies: number[];
  flushes: number;
}

/** A DATA_PROTECTION GenerateDataKey: its record carries a ciphertext reference, tracked in the same commit. */
function trackedRecord(): AuditRecord {
  const base = record();
  const ref = randomUUID().replace(/-/g, '');
  return { ...base, operation: 'GenerateDataKey', details: { dataKeyBytes: 32 }, ciphertexts: { handedOut: { ref, keyId: base.keyId ?? randomUUID(), version: base.keyVersion ?? 1 } } };
}

function record(): AuditRecord {
  return {
    id: randomUUID(),
    time: new Date(),
    requestId: randomUUID(),
    operation: 'Encrypt',
    keyId: randomUUID(),
    keyVersion: 1,
    actor: 'bench',
    actorRole: 'service',
    outcome: 'SUCCESS',
    sourceAddress: '127.0.0.1',
    details: { plaintextBytes: 256 },
  };
}

async function timed(call: () => Promise<void>, latencies: number[]): Promise<void> {
  const start = performance.now();
  await call();
  latencies.push(performance.now() - start);
}

async function scenario(pool: Pool, name: string, records: number, body: (log: PostgresAuditLog, latencies: number[]) => Promise<void>): Promise<Result> {
  const log = new PostgresAuditLog(pool, sealer);
  const latencies: number[] = [];
  const start = performance.now();
  await body(log, latencies);
  const seconds = (performance.now() - start) / 1000;
  await log.close();
  return { name, records, seconds, latencies, flushes: log.stats().flushes };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function print(results: Result[]): void {
  const base = results[0];
  const baseRate = base.records / base.seconds;
  const header = ['scenario', 'records', 'records/s', 'x seq', 'p50 ms', 'p99 ms', 'flushes', 'rec/flush'];
  const rows = results.map((r) => {
    const rate = r.records / r.seconds;
    return [
      r.name,
      String(r.records),
      rate.toFixed(0),
      (rate / baseRate).toFixed(1),
      percentile(r.latencies, 50).toFixed(2),
      percentile(r.latencies, 99).toFixed(2),
      String(r.flushes),
      (r.records / r.flushes).toFixed(1),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
  console.log('p50/p99: per append call; for appendMany, per call of 100 records.');
}

async function main(): Promise<void> {
  const target = { url: testDatabaseUrl(), schema: uniqueTestSchema('audit_bench') };
  await runMigrations(target, auditMigrations);
  const pool = createPgPool(target);
  try {
    const settings = await pool.query<{ version: string; sc: string; fsync: string; wal_sync_method: string }>(
      `SELECT version() AS version, current_setting('synchronous_commit') AS sc, current_setting('fsync') AS fsync,
              current_setting('wal_sync_method') AS wal_sync_method`,
    );
    const s = settings.rows[0];
    console.log(`${s.version.split(' on ')[0]}; synchronous_commit=${s.sc} (forced on per flush), fsync=${s.fsync}, wal_sync_method=${s.wal_sync_method}`);

    // Warm-up: connections, plan cache, JIT.
    await scenario(pool, 'warm-up', 500, async (log) => {
      await Promise.all(Array.from({ length: 500 }, () => log.append(record())));
    });

    const results: Result[] = [];
    results.push(
      await scenario(pool, 'sequential append', SEQUENTIAL_RECORDS, async (log, latencies) => {
        for (let i = 0; i < SEQUENTIAL_RECORDS; i++) await timed(() => log.append(record()), latencies);
      }),
    );
    results.push(
      await scenario(pool, `${CONCURRENT_APPENDERS} concurrent appenders`, CONCURRENT_RECORDS, async (log, latencies) => {
        const perAppender = CONCURRENT_RECORDS / CONCURRENT_APPENDERS;
        await Promise.all(
          Array.from({ length: CONCURRENT_APPENDERS }, async () => {
            for (let i = 0; i < perAppender; i++) await timed(() => log.append(record()), latencies);
          }),
        );
      }),
    );
    results.push(
      await scenario(pool, `appendMany x${MANY_BATCH} (sequential)`, MANY_BATCH * MANY_BATCHES, async (log, latencies) => {
        for (let i = 0; i < MANY_BATCHES; i++) {
          const batch = Array.from({ length: MANY_BATCH }, record);
          await timed(() => log.appendMany(batch), latencies);
        }
      }),
    );
    results.push(
      await scenario(pool, `${CONCURRENT_APPENDERS} concurrent, DATA_PROTECTION (tracked)`, CONCURRENT_RECORDS, async (log, latencies) => {
        const perAppender = CONCURRENT_RECORDS / CONCURRENT_APPENDERS;
        await Promise.all(
          Array.from({ length: CONCURRENT_APPENDERS }, async () => {
            for (let i = 0; i < perAppender; i++) await timed(() => log.append(trackedRecord()), latencies);
          }),
        );
      }),
    );
    print(results);
    const untracked = results[1];
    const tracked = results[3];
    console.log(
      `ciphertext tracking: ${(tracked.records / tracked.seconds / (untracked.records / untracked.seconds)).toFixed(2)}x the rate of untracked records (same run, ${CONCURRENT_APPENDERS} appenders)`,
    );
  } finally {
    await pool.end();
    await dropSchema(target);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
