/*
 * One measurement of bench/scale.bench.ts, in a fresh process: start the key service's key catalog
 * (KeyCatalog, as the key service does at boot) on the given schema and report how long it took to
 * catch up and how much memory it holds. Prints one JSON line.
 */
import { KeyCatalog } from '@kms/application';
import { PostgresEventStore } from '@kms/event-store-postgres';
import { createPgPool } from '@kms/persistence-postgres';

async function main(): Promise<void> {
  const [url, schema] = process.argv.slice(2);
  if (!url || !schema) throw new Error('usage: scale-catalog.child.ts <database url> <schema>');
  const pool = createPgPool({ url, schema }, { max: 4 });
  const store = new PostgresEventStore(pool);
  global.gc?.();
  const before = process.memoryUsage();
  const started = process.hrtime.bigint();
  const catalog = new KeyCatalog(store);
  await catalog.start(store);
  const startMs = Number(process.hrtime.bigint() - started) / 1e6;
  global.gc?.();
  const after = process.memoryUsage();
  const keys = catalog.all().length;
  await catalog.stop();
  await store.close();
  await pool.end();
  process.stdout.write(`${JSON.stringify({ keys, startMs, heapMiB: (after.heapUsed - before.heapUsed) / 2 ** 20, rssMiB: after.rss / 2 ** 20 })}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
