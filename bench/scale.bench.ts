/*
 * Start time and memory of the key service's key catalog against the number of keys (issue #23,
 * "start and memory independent of history"). For each size in BENCH_SCALE_KEYS (default
 * 1000,10000,100000; 1000000 when the disk and the hour allow) a fresh schema gets that many keys
 * (KeyCreated + KeyVersionCreated each, decided by the key decider, appended through the event
 * store), then a fresh process starts a KeyCatalog on it (bench/scale-catalog.child.ts) and reports
 * catch-up time and heap. Prints the table and each size's ratio to the smallest, against the 2×
 * target. Figures, never an exit code for a missed target; non-zero only when it could not measure.
 * Run: npm run bench:scale   (BENCH_SCALE_KEYS=1000,100000 BENCH_DATABASE_URL=...)
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { ConfigError } from '@kms/config';
import { decide, keyStreamId } from '@kms/domain';
import { eventStoreMigrations, PostgresEventStore } from '@kms/event-store-postgres';
import { createPgPool, dropSchema, ensureDatabase, runMigrations } from '@kms/persistence-postgres';

const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/kms_bench';
const APPEND_CONCURRENCY = 32;
const TARGET_RATIO = 2;

function sizes(): number[] {
  const raw = process.env['BENCH_SCALE_KEYS'] || '1000,10000,100000';
  const list = raw.split(',').map((s) => Number(s.trim()));
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 1 || n > 10_000_000)) throw new ConfigError('BENCH_SCALE_KEYS', `must be whole numbers from 1 to 10000000, comma-separated, got "${raw}"`);
  return [...new Set(list)].sort((a, b) => a - b);
}

/** Append `count` keys, each as the key decider decides a CreateKey (two events on its own stream). */
async function fill(store: PostgresEventStore, count: number): Promise<void> {
  let next = 0;
  const now = new Date();
  const worker = async (): Promise<void> => {
    for (let i = next++; i < count; i = next++) {
      const keyId = randomUUID();
      const events = decide(
        {
          type: 'CreateKey',
          data: { keyId, tenant: 'bench', name: `scale-${i}`, purpose: 'SERVICE_ENVELOPE', algorithm: 'AES_256_GCM', protectionLevel: 'SOFTWARE', labels: { shard: String(i % 16) }, owner: 'bench', material: { version: 1, materialRef: `bench-${i}` } },
          metadata: { now, actor: 'bench', correlationId: keyId },
        },
        { status: 'NotCreated' },
      );
      await store.appendToStream(keyStreamId(keyId), events.map((e) => ({ id: randomUUID(), type: e.type, data: { ...e.data }, metadata: { ...e.metadata } })), { expectedVersion: 'no_stream' });
    }
  };
  await Promise.all(Array.from({ length: APPEND_CONCURRENCY }, worker));
}

function measure(url: string, schema: string): Promise<{ keys: number; startMs: number; heapMiB: number; rssMiB: number }> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, ['--expose-gc', '--import', 'tsx', join(__dirname, 'scale-catalog.child.ts'), url, schema], { maxBuffer: 1 << 20 }, (e, stdout, stderr) => {
      if (e) reject(new Error(`the catalog process failed: ${stderr}`));
      else resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { keys: number; startMs: number; heapMiB: number; rssMiB: number });
    }),
  );
}

async function main(): Promise<void> {
  const url = process.env['BENCH_DATABASE_URL'] || DEFAULT_DATABASE_URL;
  await ensureDatabase(url);
  const rows: Array<{ size: number; fillS: number; keys: number; startMs: number; heapMiB: number; rssMiB: number }> = [];
  for (const size of sizes()) {
    const target = { url, schema: `bench_scale_${size}_${process.pid}` };
    await runMigrations(target, eventStoreMigrations);
    const pool = createPgPool(target, { max: APPEND_CONCURRENCY + 2 });
    const store = new PostgresEventStore(pool);
    try {
      const t0 = Date.now();
      await fill(store, size);
      const fillS = (Date.now() - t0) / 1000;
      const m = await measure(url, target.schema);
      if (m.keys !== size) throw new Error(`correctness: the catalog holds ${m.keys} keys, ${size} were written`);
      rows.push({ size, fillS, ...m });
      process.stderr.write(`scale: ${size} keys written in ${fillS.toFixed(1)} s, catalog caught up in ${m.startMs.toFixed(0)} ms\n`);
    } finally {
      await store.close();
      await pool.end();
      await dropSchema(target);
    }
  }
  const base = rows[0];
  const lines = [
    'Key catalog start (catch-up replay of the event store) and memory, by number of keys (2 events each)',
    `${'keys'.padStart(10)} ${'start ms'.padStart(10)} ${'× smallest'.padStart(11)} ${'heap MiB'.padStart(9)} ${'× smallest'.padStart(11)} ${'rss MiB'.padStart(8)}`,
    ...rows.map(
      (r) =>
        `${String(r.size).padStart(10)} ${r.startMs.toFixed(0).padStart(10)} ${(r.startMs / base.startMs).toFixed(1).padStart(11)} ${r.heapMiB.toFixed(1).padStart(9)} ${(r.heapMiB / Math.max(base.heapMiB, 0.1)).toFixed(1).padStart(11)} ${r.rssMiB.toFixed(0).padStart(8)}`,
    ),
  ];
  const largest = rows[rows.length - 1];
  if (rows.length > 1) {
    const startRatio = largest.startMs / base.startMs;
    const heapRatio = largest.heapMiB / Math.max(base.heapMiB, 0.1);
    const met = startRatio <= TARGET_RATIO && heapRatio <= TARGET_RATIO;
    lines.push(`target: start and heap with ${largest.size} keys within ${TARGET_RATIO}× of ${base.size}: ${met ? 'met' : 'NOT met'} (start ${startRatio.toFixed(1)}×, heap ${heapRatio.toFixed(1)}×)`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
