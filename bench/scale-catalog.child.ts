/*
 * One measurement of bench/scale.bench.ts, in a fresh process: start the key service's key catalog
 * (KeyCatalog on the PostgreSQL key read model, as the key service does at boot: the snapshot follower
 * catches up from the read model's checkpoint), then make `gets` reads of `distinct` keys picked at
 * random (the first read of each a miss read from its stream, then held), and report start time, heap
 * held and RSS; then start the identity and approval views as the key service does (followStore) and
 * report that start too. Prints one JSON line.
 */
import { randomBytes } from 'node:crypto';
import { ApprovalService, followStore, IdentityService, InMemoryNotificationSink, KeyCatalog } from '@kms/application';
import { PostgresEventStore } from '@kms/event-store-postgres';
import { createPgPool, PostgresKeySnapshots } from '@kms/persistence-postgres';

async function main(): Promise<void> {
  const [url, schema, getsRaw, distinctRaw] = process.argv.slice(2);
  const gets = Number(getsRaw);
  const distinct = Number(distinctRaw);
  if (!url || !schema || !Number.isInteger(gets) || !Number.isInteger(distinct)) throw new Error('usage: scale-catalog.child.ts <database url> <schema> <gets> <distinct keys>');
  const pool = createPgPool({ url, schema }, { max: 4 });
  const store = new PostgresEventStore(pool);
  // The keys to read, picked before the baseline so the list itself is not counted.
  // A sample of pages, not a sort of every row: on a million keys that outlasts the statement timeout.
  const sample = createPgPool({ url, schema, timeouts: { statementMs: 600_000 } }, { max: 1 });
  const rows = Number((await sample.query<{ n: string }>("SELECT greatest(reltuples, 1)::bigint AS n FROM pg_class WHERE oid = 'key_snapshots'::regclass")).rows[0]?.n ?? 1);
  const percent = Math.min(100, (100 * distinct * 4) / rows);
  const picked = (await sample.query<{ key_id: string }>('SELECT key_id FROM key_snapshots TABLESAMPLE SYSTEM ($1) ORDER BY random() LIMIT $2', [percent, distinct])).rows.map((r) => r.key_id);
  await sample.end();
  const reads = Array.from({ length: gets }, (_, i) => picked[i < picked.length ? i : Math.floor(Math.random() * picked.length)] as string);
  global.gc?.();
  const before = process.memoryUsage();
  const started = process.hrtime.bigint();
  const catalog = new KeyCatalog(store, { snapshots: new PostgresKeySnapshots(pool) });
  await catalog.start(store);
  const startMs = Number(process.hrtime.bigint() - started) / 1e6;
  const caughtUpTo = catalog.status()?.position ?? 0n;
  const t0 = process.hrtime.bigint();
  for (const keyId of reads) await catalog.get(keyId);
  const getsMs = Number(process.hrtime.bigint() - t0) / 1e6;
  global.gc?.();
  const after = process.memoryUsage();
  // The key service's other views, started as it starts them (KeyServiceLifecycle): after the catalog's
  // figures were taken, so these do not change them.
  const identities = new IdentityService(store, { tokenSigningKey: randomBytes(32), credentialPepper: randomBytes(32) }, { now: () => new Date() });
  const approvals = new ApprovalService(store, { now: () => new Date() }, new InMemoryNotificationSink());
  const viewsStarted = process.hrtime.bigint();
  const views = await followStore(store, [identities.cache, approvals.cache]);
  const viewsMs = Number(process.hrtime.bigint() - viewsStarted) / 1e6;
  await views.stop();
  await catalog.stop();
  await store.close();
  await pool.end();
  process.stdout.write(
    `${JSON.stringify({ startMs, viewsMs, identities: identities.cache.size, approvals: approvals.cache.size, caughtUpTo: caughtUpTo.toString(), gets: reads.length, held: picked.length, getsMs, heapMiB: (after.heapUsed - before.heapUsed) / 2 ** 20, rssMiB: after.rss / 2 ** 20 })}\n`,
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
