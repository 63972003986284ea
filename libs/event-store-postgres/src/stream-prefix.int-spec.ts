import type { NewEvent, StoredEvent } from '@kms/event-store';
import { createPgPool, dropSchema, runMigrations, testDatabaseUrl, uniqueTestSchema, type PostgresTarget } from '@kms/persistence-postgres';
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { eventStoreMigrations } from './events-table.migration';
import { PostgresEventStore } from './postgres-event-store';
import { streamsPageQuery, subscriptionBatchQuery } from './postgres-subscription';

/** Key events written by SQL after the identities and approvals: what a start must not read. */
const KEY_EVENTS = 200_000;
const IDENTITY_EVENTS = 100;
const APPROVAL_EVENTS = 200;

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Relation Name'?: string;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

describe('PostgresEventStore subscriptions by stream prefix', () => {
  const target: PostgresTarget = { url: testDatabaseUrl(), schema: uniqueTestSchema('event_prefix') };
  let pool: Pool;

  beforeAll(async () => {
    await runMigrations(target, eventStoreMigrations);
    // The fill below is one long statement: beyond the services' 5 s timeout when other suites run too.
    pool = createPgPool({ ...target, timeouts: { statementMs: 120_000 } });
    // Identities and approvals buried in history, as a start finds them: many key events after them,
    // in streams of 9 events (the last key stream of 2).
    const fill = (prefix: string, count: number) =>
      pool.query(
        `INSERT INTO events (event_id, stream_id, stream_version, type, data, metadata)
         SELECT gen_random_uuid(), $1 || md5($1 || (i / 9))::uuid, i % 9, 'Filled', '{}', '{}' FROM generate_series(0, $2::integer - 1) AS i`,
        [prefix, count],
      );
    await fill('identity-', IDENTITY_EVENTS);
    await fill('approval-', APPROVAL_EVENTS);
    await fill('key-', KEY_EVENTS);
  });

  afterAll(async () => {
    await pool.end();
    await dropSchema(target);
  });

  it('reads a rare prefix through events_stream_prefix_position, not the whole table (EXPLAIN)', async () => {
    const store = new PostgresEventStore(pool);
    await store.appendToStream(`identity-${randomUUID()}`, [event()], { expectedVersion: 'no_stream' });
    await pool.query('ANALYZE events');
    const { sql, prefixParams } = subscriptionBatchQuery(['identity-', 'approval-']);

    const explain = await pool.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${sql}`, ['0', 500, ...prefixParams]);
    const plan = nodes(explain.rows[0]?.['QUERY PLAN'][0].Plan as PlanNode);
    const pages = Number((await pool.query<{ pages: string }>(`SELECT relpages::text AS pages FROM pg_class WHERE oid = 'events'::regclass`)).rows[0]?.pages);

    expect(plan.map((n) => n['Index Name'])).toContain('events_stream_prefix_position');
    expect(plan.filter((n) => n['Node Type'] === 'Seq Scan' || n['Index Name'] === 'events_pkey')).toEqual([]);
    // Blocks touched, the whole plan: a few for 301 rows, where a walk of the table touches every page.
    const top = plan[0] as PlanNode;
    expect((top['Shared Hit Blocks'] ?? 0) + (top['Shared Read Blocks'] ?? 0)).toBeLessThan(pages / 20);
    // And the subscription finds exactly them.
    const seen: StoredEvent[] = [];
    let caughtUp = false;
    const subscription = store.subscribeToAll({ streamPrefixes: ['identity-', 'approval-'] }, { onEvent: (e) => void seen.push(e), onCaughtUp: () => (caughtUp = true) });
    await until(() => caughtUp, 'onCaughtUp');
    await subscription.stop();
    expect(seen).toHaveLength(IDENTITY_EVENTS + APPROVAL_EVENTS + 1);
    expect(seen.every((e) => /^(identity|approval)-/.test(e.streamId))).toBe(true);
  });

  it('reads a page of whole key streams (a first build of the key read model) in order from events_stream_prefix_position, without a sort (EXPLAIN)', async () => {
    // The key events of the fill: 200,000 of them.
    const store = new PostgresEventStore(pool);
    const head = await store.headPosition();
    const { sql, prefixParams } = streamsPageQuery('key-');
    const first = await store.readStreamsByPrefix('key-', { through: head, limit: 10_000 });
    // Whether the index gives the page in its order, not whether the planner prefers it on this table (a
    // page is 5% of it here, a thousandth of a store of millions): with sequential scans, bitmap scans and
    // sorts off, the plan still holds a Sort or another scan exactly when the index cannot.
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      for (const setting of ['enable_seqscan', 'enable_bitmapscan', 'enable_sort']) await client.query(`SET LOCAL ${setting} = off`);
      for (const after of ['', first.next as string]) {
        const explain = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (FORMAT JSON) ${sql}`, [head.toString(), 10_000, after, ...prefixParams]);
        const plan = nodes(explain.rows[0]?.['QUERY PLAN'][0].Plan as PlanNode);
        expect(plan.map((n) => n['Index Name'])).toContain('events_stream_prefix_position');
        expect(plan.filter((n) => n['Node Type'] !== 'Limit' && n['Index Name'] !== 'events_stream_prefix_position')).toEqual([]);
      }
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
    // Whole streams of 9 events (the fill's), so a page of 10,000 events gives back the last, cut one.
    expect(first.streams.every((s) => s.length === 9 && s.every((e, v) => e.streamVersion === v))).toBe(true);
    expect(first.streams.length).toBe(Math.floor(10_000 / 9));
  });

  it('matches prefixes byte for byte when the stream ids are compared under a linguistic collation (en-US)', async () => {
    // A schema of its own whose stream_id compares as en-US does (ICU): there a plain range from the prefix
    // to its successor holds ids that do not start with it.
    const icu: PostgresTarget = { url: testDatabaseUrl(), schema: uniqueTestSchema('event_prefix_icu') };
    await runMigrations(icu, eventStoreMigrations);
    const icuPool = createPgPool(icu);
    const store = new PostgresEventStore(icuPool, { channel: 'kms_events_prefix_icu' });
    try {
      await icuPool.query('ALTER TABLE events ALTER COLUMN stream_id TYPE text COLLATE "en-US-x-icu"');
      const root = `t${randomUUID().slice(0, 8)}`;
      const matching = [`${root}identity-1`, `${root}identity-Z`];
      const others = [`${root}Identity-2`, `${root}identity:3`, `${root}identity,4`, `${root}IDENTITY-5`, `${root}identityname-6`];
      for (const streamId of [others[0], matching[0], others[1], others[2], matching[1], others[3], others[4]] as string[]) {
        await store.appendToStream(streamId, [event()], { expectedVersion: 'no_stream' });
      }
      const naive = await icuPool.query<{ stream_id: string }>('SELECT stream_id FROM events WHERE stream_id >= $1 AND stream_id < $2', [`${root}identity-`, `${root}identity.`]);
      expect(naive.rows.map((r) => r.stream_id).filter((id) => !matching.includes(id)).length).toBeGreaterThan(0);

      const seen: StoredEvent[] = [];
      let caughtUp = false;
      const subscription = store.subscribeToAll({ streamPrefixes: [`${root}identity-`] }, { onEvent: (e) => void seen.push(e), onCaughtUp: () => (caughtUp = true) });
      await until(() => caughtUp, 'onCaughtUp');
      await subscription.stop();

      expect(seen.map((e) => e.streamId)).toEqual(matching);
    } finally {
      await store.close();
      await icuPool.end();
      await dropSchema(icu);
    }
  });
});

function event(): NewEvent {
  return { id: randomUUID(), type: 'IdentityRegistered', data: { n: 1 }, metadata: { actor: 'prefix-test' } };
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
