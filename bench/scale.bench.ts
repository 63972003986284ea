/*
 * Start time and memory of the key service's key catalog against the size of history (issue #23,
 * "start and memory independent of history"). For each size in BENCH_SCALE_KEYS (default
 * 1000,100000,1000000) a fresh schema gets that many keys, each created and rotated
 * BENCH_SCALE_ROTATIONS times (default 3: 9 events a key, so 9,000,000 events at a million keys):
 *   1. fill: the events as the key decider decides them, written by SQL straight into the event
 *      store's table (round by round: every key's creation, then every key's first rotation, ...), so
 *      a million keys take minutes, not hours. Unsealed, as every event of the bench's store (its
 *      reader checks no seals, like the previous version of this bench);
 *   2. build: the real snapshot follower (followKeySnapshots) builds the key read model (key_snapshots)
 *      from the whole history, as the first start of a key service on an existing store does: key
 *      stream by key stream (BENCH_SCALE_BUILD=streams, the default), or following the store from its
 *      start (BENCH_SCALE_BUILD=follow, as with EventStoreDB);
 *   3. tail: 200 more keys appended through the event store, for the next start to catch up with;
 *   4. start: a fresh process (scale-catalog.child.ts, --expose-gc) starts a KeyCatalog on the read
 *      model (the follower catching up from its checkpoint), then reads BENCH_SCALE_GETS keys (default
 *      3000) among 1000 picked at random, so every size holds the same 1000 keys; it reports start
 *      time, heap held after start and reads, and RSS. Then it starts the identity and approval views
 *      as the key service does (followStore over an IdentityService's and an ApprovalService's caches):
 *      the fill wrote 200 identities and 200 approval requests at every size (half before the keys,
 *      half after), so that start should not grow with the keys.
 * Prints the table and the largest size's ratios to the smallest against the 2× target, then the
 * audit query latencies bench:audit-volume saved for the largest audit it ran (or that none is saved).
 * Figures, never an exit code for a missed target; non-zero only when it could not measure.
 * Run: npm run bench:scale   (BENCH_SCALE_KEYS=1000,100000 BENCH_DATABASE_URL=...)
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { followKeySnapshots } from '@kms/application';
import { ConfigError } from '@kms/config';
import { APPROVAL_STREAM_PREFIX, approvalDecider, decide, IDENTITY_STREAM_PREFIX, identityDecider, type KeyCommand, keyDecider, type KeyState, keyStreamId } from '@kms/domain';
import { eventStoreMigrations, PostgresEventStore } from '@kms/event-store-postgres';
import type { EventStore } from '@kms/event-store';
import { createPgPool, dropSchema, ensureDatabase, keySnapshotMigrations, PostgresKeySnapshots, runMigrations } from '@kms/persistence-postgres';
import type { Pool } from 'pg';
import { AUDIT_VOLUME_RESULT_FILE, type AuditVolumeResult, loadAuditVolumeResult } from './audit-volume-result';
import { integerSetting } from './settings';

const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/kms_bench';
const TARGET_RATIO = 2;
/** Keys per fill statement. */
const FILL_CHUNK = 20_000;
/** Keys appended after the read model was built: what every start catches up with. */
const TAIL_KEYS = 200;
/** Distinct keys every size reads (and so holds) after start. */
const HELD_KEYS = 1000;
/** Identities, and as many approval requests, at every size: what the key service's access views fold at start. */
const ACCESS_STREAMS = 200;
/** Stands for an identity's or approval's id in their event templates. */
const ACCESS_ID = '00000000-0000-4000-8000-00000000acce';

function sizes(): number[] {
  const raw = process.env['BENCH_SCALE_KEYS'] || '1000,100000,1000000';
  const list = raw.split(',').map((s) => Number(s.trim()));
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < HELD_KEYS || n > 10_000_000)) {
    throw new ConfigError('BENCH_SCALE_KEYS', `must be whole numbers from ${HELD_KEYS} to 10000000, comma-separated, got "${raw}"`);
  }
  return [...new Set(list)].sort((a, b) => a - b);
}

interface TemplateEvent {
  v: number;
  type: string;
  data: string;
  metadata: string;
}

/**
 * One key's events as the key decider decides them, by round (creation, then each rotation), with
 * placeholders for what differs between keys: __KEY__ (id), __I__ (number), __SHARD__ (a label).
 */
function templateRounds(rotations: number): TemplateEvent[][] {
  const now = new Date('2026-12-05T00:00:00.000Z');
  const metadata = { now, actor: 'bench', correlationId: 'bench-scale' };
  const commands: KeyCommand[] = [
    {
      type: 'CreateKey',
      data: { keyId: '__KEY__', tenant: 'bench', name: 'scale-__I__', purpose: 'SERVICE_ENVELOPE', algorithm: 'AES_256_GCM', protectionLevel: 'SOFTWARE', labels: { shard: '__SHARD__' }, owner: 'bench', material: { version: 1, materialRef: 'bench-__KEY__-1' } },
      metadata,
    },
  ];
  for (let v = 2; v <= rotations + 1; v++) commands.push({ type: 'RotateKey', data: { rotationReason: 'SCHEDULED', material: { version: v, materialRef: `bench-__KEY__-${v}` } }, metadata });
  let state: KeyState = keyDecider.initialState();
  let version = -1;
  return commands.map((command) => {
    const events = decide(command, state);
    return events.map((e) => {
      state = keyDecider.evolve(state, e);
      return { v: ++version, type: e.type, data: JSON.stringify(e.data), metadata: JSON.stringify(e.metadata) };
    });
  });
}

/**
 * A registered identity's and a pending approval request's events, as their deciders decide them, with
 * ACCESS_ID and `seqno` where they differ (placeholders the deciders accept): what the key service's
 * identity and approval views fold at start.
 */
function accessTemplates(): { identity: TemplateEvent[]; approval: TemplateEvent[] } {
  const now = new Date('2026-12-05T00:00:00.000Z');
  const metadata = { now, actor: 'bench', correlationId: 'bench-scale' };
  const identity = identityDecider.decide(
    { type: 'RegisterIdentity', data: { identityId: ACCESS_ID, name: 'bench-workload-seqno', kind: 'WORKLOAD', roles: ['rotation-scheduler'], credentialVerifier: `bench-${ACCESS_ID}` }, metadata },
    identityDecider.initialState(),
  );
  const approval = approvalDecider.decide(
    {
      type: 'RequestApproval',
      data: { approvalId: ACCESS_ID, operation: 'ScheduleKeyVersionDestruction', targetId: ACCESS_ID, params: { version: 1, delayDays: null }, changeTicket: 'CHG-seqno', expiresAt: new Date('2027-12-05T00:00:00.000Z') },
      metadata: { ...metadata, changeTicket: 'CHG-seqno' },
    },
    approvalDecider.initialState(),
  );
  const template = (events: Array<{ type: string; data: unknown; metadata: unknown }>) => events.map((e, v) => ({ v, type: e.type, data: JSON.stringify(e.data), metadata: JSON.stringify(e.metadata) }));
  return { identity: template(identity), approval: template(approval) };
}

/** Write `count` identities' and as many approvals' streams (numbered from `first`), by SQL like the keys. */
async function fillAccess(pool: Pool, first: number, count: number): Promise<number> {
  let written = 0;
  const templates = accessTemplates();
  for (const [prefix, events] of [[IDENTITY_STREAM_PREFIX, templates.identity], [APPROVAL_STREAM_PREFIX, templates.approval]] as const) {
    const r = await pool.query(
      `INSERT INTO events (event_id, stream_id, stream_version, type, data, metadata)
       SELECT gen_random_uuid(), $4 || k.id, t.v, t.type, replace(replace(t.data, $5, k.id), 'seqno', k.i::text)::jsonb, replace(t.metadata, 'seqno', k.i::text)::jsonb
         FROM (SELECT i, md5($4 || i)::uuid::text AS id FROM generate_series($1::integer, $2::integer) AS i) AS k
        CROSS JOIN jsonb_to_recordset($3::jsonb) AS t(v integer, type text, data text, metadata text)
        ORDER BY k.i, t.v`,
      [first, first + count - 1, JSON.stringify(events), prefix, ACCESS_ID],
    );
    written += r.rowCount ?? 0;
  }
  return written;
}

/**
 * Write `count` keys' events into the events table, round by round, by SQL, with half the identities and
 * approvals before them and half after. Returns the events written.
 */
async function fill(pool: Pool, count: number, rotations: number): Promise<number> {
  let written = await fillAccess(pool, 1, ACCESS_STREAMS / 2);
  for (const round of templateRounds(rotations)) {
    for (let from = 1; from <= count; from += FILL_CHUNK) {
      const to = Math.min(count, from + FILL_CHUNK - 1);
      const r = await pool.query(
        `INSERT INTO events (event_id, stream_id, stream_version, type, data, metadata)
         SELECT gen_random_uuid(), 'key-' || k.id, t.v, t.type,
                replace(replace(replace(t.data, '__KEY__', k.id), '__I__', k.i::text), '__SHARD__', (k.i % 16)::text)::jsonb, t.metadata::jsonb
           FROM (SELECT i, md5('scale-' || i)::uuid::text AS id FROM generate_series($1::integer, $2::integer) AS i) AS k
          CROSS JOIN jsonb_to_recordset($3::jsonb) AS t(v integer, type text, data text, metadata text)
          ORDER BY k.i, t.v`,
        [from, to, JSON.stringify(round)],
      );
      written += r.rowCount ?? 0;
    }
  }
  written += await fillAccess(pool, ACCESS_STREAMS / 2 + 1, ACCESS_STREAMS / 2);
  await pool.query('ANALYZE events');
  return written;
}

/**
 * How the first start builds the read model: `streams` (the default, as the key service does on
 * PostgreSQL: key stream by key stream, buildKeySnapshots) or `follow` (the follower folding the store
 * from its start, as with EventStoreDB and as every first start did before).
 */
function buildMode(): 'streams' | 'follow' {
  const raw = process.env['BENCH_SCALE_BUILD'] || 'streams';
  if (raw !== 'streams' && raw !== 'follow') throw new ConfigError('BENCH_SCALE_BUILD', `must be streams or follow, got "${raw}"`);
  return raw;
}

/** Build the read model from the whole store with the real follower, as a first start does; seconds taken. */
async function build(store: PostgresEventStore, pool: Pool, events: number): Promise<number> {
  const t0 = Date.now();
  // Without its stream reads the store is followed from its start.
  const source: EventStore =
    buildMode() === 'streams'
      ? store
      : { readStream: (id) => store.readStream(id), appendToStream: (id, e, o) => store.appendToStream(id, e, o), subscribeToAll: (o, h) => store.subscribeToAll(o, h), close: async () => undefined };
  const follower = followKeySnapshots(source, new PostgresKeySnapshots(pool), {
    name: 'bench build',
    onBuilt: (b) => process.stderr.write(`scale:   built from the key streams through position ${b.through}: ${b.keys} keys, ${b.events} events\n`),
  });
  const progress = setInterval(() => process.stderr.write(`scale:   build ${follower.status().state} at position ${follower.status().position} of ${events}\n`), 30_000);
  try {
    await follower.caughtUp();
  } finally {
    clearInterval(progress);
    await follower.stop();
  }
  await pool.query('ANALYZE key_snapshots');
  return (Date.now() - t0) / 1000;
}

/** Append keys through the event store, as the key service writes them. */
async function tail(store: PostgresEventStore, count: number): Promise<void> {
  const now = new Date();
  for (let i = 0; i < count; i++) {
    const keyId = randomUUID();
    const events = decide(
      {
        type: 'CreateKey',
        data: { keyId, tenant: 'bench', name: `tail-${i}`, purpose: 'SERVICE_ENVELOPE', algorithm: 'AES_256_GCM', protectionLevel: 'SOFTWARE', labels: {}, owner: 'bench', material: { version: 1, materialRef: `bench-${keyId}-1` } },
        metadata: { now, actor: 'bench', correlationId: keyId },
      },
      { status: 'NotCreated' },
    );
    await store.appendToStream(keyStreamId(keyId), events.map((e) => ({ id: randomUUID(), type: e.type, data: { ...e.data }, metadata: { ...e.metadata } })), { expectedVersion: 'no_stream' });
  }
}

interface Measured {
  startMs: number;
  /** Start of the identity and approval views (followStore), and what they hold after it. */
  viewsMs: number;
  identities: number;
  approvals: number;
  caughtUpTo: string;
  gets: number;
  held: number;
  getsMs: number;
  heapMiB: number;
  rssMiB: number;
}

function measure(url: string, schema: string, gets: number): Promise<Measured> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, ['--expose-gc', '--import', 'tsx', join(__dirname, 'scale-catalog.child.ts'), url, schema, String(gets), String(HELD_KEYS)], { maxBuffer: 1 << 20 }, (e, stdout, stderr) => {
      if (e) reject(new Error(`the catalog process failed: ${stderr}`));
      else resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Measured);
    }),
  );
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

async function main(): Promise<void> {
  const url = process.env['BENCH_DATABASE_URL'] || DEFAULT_DATABASE_URL;
  const rotations = integerSetting('BENCH_SCALE_ROTATIONS', 3, 0, 50);
  const gets = integerSetting('BENCH_SCALE_GETS', 3000, HELD_KEYS, 1_000_000);
  const mode = buildMode();
  await ensureDatabase(url);
  const rows: Array<{ size: number; events: number; fillS: number; buildS: number } & Measured> = [];
  for (const size of sizes()) {
    const target = { url, schema: `bench_scale_${size}_${process.pid}` };
    await runMigrations(target, [...eventStoreMigrations, ...keySnapshotMigrations]);
    // Fill and build statements run long on a big schema; the measured start uses the service's defaults.
    const pool = createPgPool({ ...target, timeouts: { statementMs: 3_600_000 } }, { max: 4 });
    const store = new PostgresEventStore(pool, { batchSize: 5000 });
    try {
      let t0 = Date.now();
      const events = await fill(pool, size, rotations);
      const fillS = (Date.now() - t0) / 1000;
      process.stderr.write(`scale: ${fmt(size)} keys, ${fmt(events)} events written in ${fillS.toFixed(1)} s\n`);
      const buildS = await build(store, pool, events);
      process.stderr.write(`scale:   read model built (${mode}) in ${buildS.toFixed(1)} s\n`);
      t0 = Date.now();
      await tail(store, TAIL_KEYS);
      const m = await measure(url, target.schema, gets);
      const head = (await pool.query<{ p: string }>('SELECT max(global_position)::text AS p FROM events')).rows[0]?.p;
      const held = Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM key_snapshots')).rows[0]?.n);
      if (m.caughtUpTo !== head || held !== size + TAIL_KEYS) throw new Error(`correctness: the catalog caught up to ${m.caughtUpTo} of ${head}, the read model has ${held} keys, ${size + TAIL_KEYS} were written`);
      if (m.identities !== ACCESS_STREAMS || m.approvals !== ACCESS_STREAMS) throw new Error(`correctness: the views hold ${m.identities} identities and ${m.approvals} approvals, ${ACCESS_STREAMS} of each were written`);
      rows.push({ size, events: events + TAIL_KEYS * 3, fillS, buildS, ...m });
      process.stderr.write(`scale:   catalog started in ${m.startMs.toFixed(0)} ms, ${m.gets} reads in ${m.getsMs.toFixed(0)} ms; identity and approval views started in ${m.viewsMs.toFixed(0)} ms\n`);
    } finally {
      await store.close();
      await pool.end();
      await dropSchema(target);
    }
  }
  const base = rows[0];
  if (!base) return;
  const ratio = (a: number, b: number) => a / Math.max(b, 0.1);
  const lines = [
    `Key catalog start (snapshot follower catching up from its checkpoint: ${TAIL_KEYS} keys written since) and memory after start and ${gets} reads of ${HELD_KEYS} keys, by size of history;`,
    `views ms: start of the identity and approval views (followStore, as the key service starts them) over ${ACCESS_STREAMS} identities and ${ACCESS_STREAMS} approvals at every size;`,
    `build s: the first start's build of the read model, ${mode === 'streams' ? 'key stream by key stream (BENCH_SCALE_BUILD=streams)' : 'following the store from its start (BENCH_SCALE_BUILD=follow)'}`,
    `${'keys'.padStart(10)} ${'events'.padStart(11)} ${'fill s'.padStart(7)} ${'build s'.padStart(8)} ${'start ms'.padStart(9)} ${'×'.padStart(5)} ${'views ms'.padStart(9)} ${'×'.padStart(5)} ${'heap MiB'.padStart(9)} ${'×'.padStart(5)} ${'rss MiB'.padStart(8)} ${'×'.padStart(5)} ${'reads ms'.padStart(9)}`,
    ...rows.map(
      (r) =>
        `${fmt(r.size).padStart(10)} ${fmt(r.events).padStart(11)} ${r.fillS.toFixed(0).padStart(7)} ${r.buildS.toFixed(0).padStart(8)} ${r.startMs.toFixed(0).padStart(9)} ${ratio(r.startMs, base.startMs).toFixed(2).padStart(5)} ${r.viewsMs.toFixed(0).padStart(9)} ${ratio(r.viewsMs, base.viewsMs).toFixed(2).padStart(5)} ${r.heapMiB.toFixed(1).padStart(9)} ${ratio(r.heapMiB, base.heapMiB).toFixed(2).padStart(5)} ${r.rssMiB.toFixed(0).padStart(8)} ${ratio(r.rssMiB, base.rssMiB).toFixed(2).padStart(5)} ${r.getsMs.toFixed(0).padStart(9)}`,
    ),
  ];
  const largest = rows[rows.length - 1] as (typeof rows)[number];
  if (rows.length > 1) {
    const start = ratio(largest.startMs, base.startMs);
    const heap = ratio(largest.heapMiB, base.heapMiB);
    const rss = ratio(largest.rssMiB, base.rssMiB);
    const views = ratio(largest.viewsMs, base.viewsMs);
    const met = start <= TARGET_RATIO && views <= TARGET_RATIO && heap <= TARGET_RATIO && rss <= TARGET_RATIO;
    lines.push(
      `target: start (catalog and views), heap and RSS with ${fmt(largest.size)} keys within ${TARGET_RATIO}× of ${fmt(base.size)}: ${met ? 'met' : 'NOT met'} (start ${start.toFixed(2)}×, views ${views.toFixed(2)}×, heap ${heap.toFixed(2)}×, RSS ${rss.toFixed(2)}×)`,
    );
  }
  lines.push('', ...auditVolumeLines());
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** The audit query latencies bench:audit-volume saved for the largest audit it ran, or what to run when none is saved. */
function auditVolumeLines(): string[] {
  let saved: AuditVolumeResult | undefined;
  try {
    saved = loadAuditVolumeResult();
  } catch (e) {
    return [`Audit at volume: the saved result cannot be read (${e instanceof Error ? e.message : String(e)}); run npm run bench:audit-volume again.`];
  }
  if (!saved) return [`Audit at volume: no result saved (${AUDIT_VOLUME_RESULT_FILE}); run npm run bench:audit-volume to measure the query latencies at an audit size.`];
  return [
    `Audit at volume: ${fmt(saved.records)} audit records (the largest run of bench:audit-volume saved, ${saved.date}; ${saved.runs} runs each, target < ${saved.targetMs} ms):`,
    `${'operation'.padEnd(52)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}`,
    ...saved.queries.map((q) => `${q.name.padEnd(52)} ${q.p50Ms.toFixed(2).padStart(8)} ${q.p99Ms.toFixed(2).padStart(8)}`),
  ];
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
