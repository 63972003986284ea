/*
 * How long loading a key's stream takes as it grows (STYLE.md 13: prints figures, asserts nothing).
 * Run: npx tsx libs/event-store-postgres/src/bench/load-stream.bench.ts
 * Uses KMS_TEST_DATABASE_URL or the local kms_test database, in a schema it drops afterwards.
 */
import type { NewEvent } from '@kms/event-store';
import { createPgPool, dropSchema, runMigrations, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { eventStoreMigrations } from '../events-table.migration';
import { PostgresEventStore } from '../postgres-event-store';

const STREAM_LENGTHS = [10, 100, 1_000, 10_000];
const APPEND_BATCH = 500;

/** Events shaped like a key's lifecycle: mostly rotations, with a realistic metadata block. */
function keyEvent(keyId: string, version: number): NewEvent {
  return {
    id: randomUUID(),
    type: version === 0 ? 'KeyCreated' : 'KeyVersionCreated',
    data: {
      keyId,
      version,
      algorithm: 'AES_256_GCM',
      protectionLevel: 'SOFTWARE',
      materialRef: `material-${randomUUID()}`,
      reason: version === 0 ? 'INITIAL' : 'SCHEDULED',
    },
    metadata: { actor: 'bench', correlationId: randomUUID(), occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, version)).toISOString() },
  };
}

async function appendStream(store: PostgresEventStore, length: number): Promise<{ streamId: string; ms: number }> {
  const streamId = `key-${randomUUID()}`;
  const started = performance.now();
  let expected: number | 'no_stream' = 'no_stream';
  for (let from = 0; from < length; from += APPEND_BATCH) {
    const batch = Array.from({ length: Math.min(APPEND_BATCH, length - from) }, (_, i) => keyEvent(streamId, from + i));
    expected = (await store.appendToStream(streamId, batch, { expectedVersion: expected })).nextExpectedVersion;
  }
  return { streamId, ms: performance.now() - started };
}

async function timeReads(store: PostgresEventStore, streamId: string, length: number): Promise<number[]> {
  // Fewer rounds for long streams keeps the run short; the first read is a warm-up and not counted.
  const rounds = length >= 10_000 ? 10 : 30;
  const times: number[] = [];
  for (let i = 0; i <= rounds; i += 1) {
    const started = performance.now();
    const { events } = await store.readStream(streamId);
    const ms = performance.now() - started;
    if (events.length !== length) throw new Error(`read ${events.length} events, expected ${length}`);
    if (i > 0) times.push(ms);
  }
  return times.sort((a, b) => a - b);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function main(): Promise<void> {
  const target = { url: testDatabaseUrl(), schema: uniqueTestSchema('bench_load_stream') };
  await runMigrations(target, eventStoreMigrations);
  const pool = createPgPool(target);
  const store = new PostgresEventStore(pool);
  try {
    // Other streams around the measured ones, so reads go through the index rather than a tiny table.
    for (let i = 0; i < 200; i += 1) await appendStream(store, 20);

    const rows: string[] = [];
    let baseline = Number.NaN;
    for (const length of STREAM_LENGTHS) {
      const { streamId, ms: appendMs } = await appendStream(store, length);
      const times = await timeReads(store, streamId, length);
      const median = percentile(times, 50);
      if (Number.isNaN(baseline)) baseline = median;
      rows.push(
        [
          String(length).padStart(6),
          `${appendMs.toFixed(1).padStart(9)} ms`,
          `${median.toFixed(2).padStart(9)} ms`,
          `${percentile(times, 90).toFixed(2).padStart(9)} ms`,
          `${((median * 1000) / length).toFixed(1).padStart(7)} µs`,
          `${(median / baseline).toFixed(1).padStart(7)}x`,
        ].join('  '),
      );
    }
    console.log(`readStream on PostgreSQL (${target.url.replace(/\/\/[^@]*@/, '//')}), appends in batches of ${APPEND_BATCH}`);
    console.log(['events'.padStart(6), 'append total'.padStart(12), 'read median'.padStart(12), 'read p90'.padStart(12), 'per event'.padStart(10), 'vs 10'.padStart(8)].join('  '));
    for (const row of rows) console.log(row);
  } finally {
    await store.close();
    await pool.end();
    await dropSchema(target);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
