import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { AuditRecord } from '@kms/application';
import { auditLogContract, auditRecord as record, auditRecords as records, outcome } from '@kms/application/testing';
import { Client, Pool } from 'pg';
import { createPgPool, dropSchema, type PostgresTarget, runMigrations, testDatabaseUrl, uniqueTestSchema } from '../pg/postgres-connection';
import { auditMigrations } from './audit-records.migration';
import { PostgresAuditFeed } from './postgres-audit-feed';
import { PostgresAuditLog } from './postgres-audit-log';
import { testAuditSealer } from '../testing';

const sealer = testAuditSealer();

const target: PostgresTarget = { url: testDatabaseUrl(), schema: uniqueTestSchema('audit_log') };
let pool: Pool;

const outcomes = (ps: Array<Promise<unknown>>): Promise<string[]> => Promise.all(ps.map(outcome));

/** Reads through its own connection, not the log's pool: what another session sees is what is committed. */
async function withReader<T>(t: PostgresTarget, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: t.url, options: `-c search_path=${t.schema}` });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function storedIds(ids: string[], t: PostgresTarget = target): Promise<string[]> {
  return withReader(t, async (c) => {
    const r = await c.query<{ id: string }>('SELECT id FROM audit_records WHERE id = ANY($1::uuid[]) ORDER BY "position"', [ids]);
    return r.rows.map((row) => row.id);
  });
}

function poolFor(t: PostgresTarget, extra: Parameters<typeof createPgPool>[1] = {}): Pool {
  const p = createPgPool(t, extra);
  // An idle connection the server drops must not crash the test process.
  p.on('error', () => undefined);
  return p;
}

beforeAll(async () => {
  await runMigrations(target, auditMigrations);
  pool = poolFor(target);
});

afterAll(async () => {
  await pool.end();
  await dropSchema(target);
});

describe('PostgresAuditLog', () => {
  it('given append resolved, then another session reads the record with every field', async () => {
    const log = new PostgresAuditLog(pool, sealer);
    const r = record({
      keyId: '5d3a1c9e-2b4f-4e6a-8d7c-0f1e2d3c4b5a',
      keyVersion: 3,
      actorRole: 'service',
      outcome: 'DENIED',
      errorCode: 'PERMISSION_DENIED',
      sourceAddress: '192.0.2.10',
      details: { plaintextBytes: 1024, batch: true, mode: 'gcm' },
    });
    await log.append(r);

    const row = await withReader(target, async (c) => (await c.query('SELECT * FROM audit_records WHERE id = $1', [r.id])).rows[0]);
    expect(row).toMatchObject({
      id: r.id,
      time: r.time,
      request_id: r.requestId,
      operation: 'Encrypt',
      key_id: r.keyId,
      key_version: 3,
      actor: 'svc-billing',
      actor_role: 'service',
      outcome: 'DENIED',
      error_code: 'PERMISSION_DENIED',
      source_address: '192.0.2.10',
      details: { plaintextBytes: 1024, batch: true, mode: 'gcm' },
    });
    expect(Number(row.position)).toBeGreaterThan(0);
    expect(row.recorded_at).toBeInstanceOf(Date);
  });

  it('given a record without optional fields, then those columns are NULL', async () => {
    const log = new PostgresAuditLog(pool, sealer);
    const r = record();
    await log.append(r);
    const row = await withReader(target, async (c) => (await c.query('SELECT * FROM audit_records WHERE id = $1', [r.id])).rows[0]);
    expect(row).toMatchObject({ key_id: null, key_version: null, actor_role: null, error_code: null, source_address: null, details: null });
  });

  it('given 1,000 concurrent appends, then all are stored in far fewer flushes than records', async () => {
    const log = new PostgresAuditLog(pool, sealer);
    const batch = records(1000);
    expect(await outcomes(batch.map((r) => log.append(r)))).toEqual(batch.map(() => 'RESOLVED'));

    const stats = log.stats();
    expect(stats.records).toBe(1000);
    expect(stats.flushes).toBeLessThan(1000 / 5);
    expect(await storedIds(batch.map((r) => r.id))).toHaveLength(1000);
  });

  it('given 50 appenders each awaiting its previous append, then records arriving during a flush share the next one', async () => {
    const log = new PostgresAuditLog(pool, sealer);
    const ids: string[] = [];
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        for (let i = 0; i < 20; i++) {
          const r = record();
          await log.append(r);
          ids.push(r.id);
        }
      }),
    );
    const stats = log.stats();
    expect(stats.records).toBe(1000);
    expect(stats.flushes).toBeLessThan(1000 / 5);
    expect(stats.largestBatch).toBeGreaterThan(1);
    expect(await storedIds(ids)).toHaveLength(1000);
  });

  it('given maxBatch 10, then no flush of single appends carries more than 10 records', async () => {
    const log = new PostgresAuditLog(pool, sealer, { maxBatch: 10 });
    const batch = records(25);
    await Promise.all(batch.map((r) => log.append(r)));
    expect(log.stats()).toMatchObject({ records: 25, largestBatch: 10, flushes: 3 });
    expect(await storedIds(batch.map((r) => r.id))).toHaveLength(25);
  });

  it('given appendMany larger than maxBatch, then it is one flush and its rows are contiguous and in order', async () => {
    const log = new PostgresAuditLog(pool, sealer, { maxBatch: 10 });
    const batch = records(30);
    await log.appendMany(batch);
    expect(log.stats()).toMatchObject({ flushes: 1, records: 30, largestBatch: 30 });
    const rows = await withReader(target, async (c) =>
      (await c.query<{ id: string; position: string }>('SELECT id, "position" FROM audit_records WHERE id = ANY($1::uuid[]) ORDER BY "position"', [batch.map((r) => r.id)])).rows,
    );
    expect(rows.map((r) => r.id)).toEqual(batch.map((r) => r.id));
    const first = Number(rows[0].position);
    expect(rows.map((r) => Number(r.position))).toEqual(batch.map((_, i) => first + i));
  });

  it('given appendMany whose last chunk PostgreSQL refuses, then none of its records is stored', async () => {
    const log = new PostgresAuditLog(pool, sealer, { maxBatch: 10 });
    const existing = record();
    await log.append(existing);
    // 25 fresh records then a duplicate id: the refusal comes in the third INSERT of the transaction.
    const fresh = records(25);
    expect(await outcome(log.appendMany([...fresh, { ...existing, requestId: 'replay' }]))).toBe('AUDIT_UNAVAILABLE');
    expect(await storedIds(fresh.map((r) => r.id))).toEqual([]);
  });

  it('tells flush observers of every flush, committed or failed, with its rows and duration; an observer that throws changes nothing', async () => {
    const log = new PostgresAuditLog(pool, sealer);
    const seen: Array<{ rows: number; committed: boolean; seconds: number }> = [];
    const stop = log.observeFlushes((f) => seen.push(f));
    log.observeFlushes(() => {
      throw new Error('a broken metrics exporter');
    });
    const existing = record();
    await log.append(existing);
    await log.appendMany(records(3));
    // A duplicate id: PostgreSQL refuses the flush.
    expect(await outcome(log.append({ ...existing, requestId: 'replay' }))).toBe('AUDIT_UNAVAILABLE');
    stop();
    await log.append(record());

    expect(seen.map((f) => [f.rows, f.committed])).toEqual([
      [1, true],
      [3, true],
      [1, false],
    ]);
    for (const f of seen) expect(f.seconds).toBeGreaterThan(0);
    expect(log.stats()).toMatchObject({ flushes: 3, failedFlushes: 1 });
  });

  it('given a record PostgreSQL would refuse, then it alone is rejected and its neighbours commit', async () => {
    const log = new PostgresAuditLog(pool, sealer);
    const ok1 = record();
    const bad = record({ requestId: 'nul\u0000inside' });
    const ok2 = record();
    expect(await outcomes([log.append(ok1), log.append(bad), log.append(ok2)])).toEqual(['RESOLVED', 'INVALID_ARGUMENT', 'RESOLVED']);
    expect(await storedIds([ok1.id, bad.id, ok2.id])).toEqual([ok1.id, ok2.id]);
    // The guard is real: PostgreSQL itself refuses NUL in text.
    await expect(withReader(target, (c) => c.query('SELECT $1::text', ['nul\u0000inside']))).rejects.toThrow();
  });

  describe('ciphertext tracking (DATA_PROTECTION versions)', () => {
    const key = () => randomUUID();
    const ref = () => randomUUID().replace(/-/g, '');
    const issued = (keyId: string, version: number, r: string, over: Partial<AuditRecord> = {}) =>
      record({ operation: 'GenerateDataKey', keyId, keyVersion: version, details: { dataKeyBytes: 32 }, ciphertexts: { handedOut: { ref: r, keyId, version } }, ...over });
    const moved = (keyId: string, from: number, to: number, src: string, dst: string) =>
      record({
        operation: 'ReEncrypt',
        keyId,
        keyVersion: from,
        details: { sourceKeyId: keyId, sourceKeyVersion: from, destinationKeyId: keyId, destinationKeyVersion: to },
        ciphertexts: { released: src, handedOut: { ref: dst, keyId, version: to } },
      });
    const counts = async (log: PostgresAuditLog, keyId: string) => Object.fromEntries(await log.outstanding(keyId));

    it('counts what successful calls handed out per version, and ReEncrypt moves each reference once', async () => {
      const log = new PostgresAuditLog(pool, sealer);
      const k = key();
      const [a, b, c] = [ref(), ref(), ref()];
      await Promise.all([log.append(issued(k, 1, a)), log.append(issued(k, 1, b)), log.append(issued(k, 1, c))]);
      await log.append(issued(k, 1, ref(), { outcome: 'FAILURE', errorCode: 'KEY_DISABLED' }));
      expect(await counts(log, k)).toEqual({ 1: 3 });

      const a2 = ref();
      await log.append(moved(k, 1, 2, a, a2));
      // The same source again: version 1 is not released twice.
      await log.append(moved(k, 1, 2, a, ref()));
      expect(await counts(log, k)).toEqual({ 1: 2, 2: 2 });
      // Moves within one flush apply in record order.
      await log.appendMany([moved(k, 1, 2, b, ref()), moved(k, 1, 2, c, ref())]);
      expect(await counts(log, k)).toEqual({ 2: 4 });
    });

    it('the tracking commits with the audit record or not at all', async () => {
      const log = new PostgresAuditLog(pool, sealer, { maxBatch: 10 });
      const k = key();
      const existing = record();
      await log.append(existing);
      // A batch PostgreSQL refuses (duplicate id): its tracking must not be applied either.
      const refused = [issued(k, 1, ref()), { ...existing, requestId: 'replay' }];
      expect(await outcome(log.appendMany(refused))).toBe('AUDIT_UNAVAILABLE');
      expect(await counts(log, k)).toEqual({});
    });

    it('the table is reproducible from the audit trail alone', async () => {
      const log = new PostgresAuditLog(pool, sealer);
      const k = key();
      const [a, b] = [ref(), ref()];
      await log.appendMany([issued(k, 1, a), issued(k, 1, b), moved(k, 1, 2, a, ref())]);
      const fromTrail = await withReader(target, async (c) => {
        const r = await c.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM audit_records i
            WHERE i.key_id = $1 AND i.outcome = 'SUCCESS' AND i.details->>'ciphertextRef' IS NOT NULL
              AND COALESCE((i.details->>'destinationKeyVersion')::int, i.key_version) = 1
              AND NOT EXISTS (SELECT 1 FROM audit_records m WHERE m.outcome = 'SUCCESS' AND m.details->>'sourceCiphertextRef' = i.details->>'ciphertextRef')`,
          [k],
        );
        return r.rows[0].n;
      });
      expect(fromTrail).toBe(1);
      expect(await counts(log, k)).toEqual({ 1: 1, 2: 1 });
    });
  });

  describe('durability of the one-statement flush', () => {
    it('given sessions whose default is synchronous_commit off, then every flush still commits with it on', async () => {
      const own: PostgresTarget = { url: target.url, schema: uniqueTestSchema('audit_sync_off') };
      await runMigrations(own, auditMigrations);
      const lax = new Pool({ connectionString: own.url, options: `-c search_path=${own.schema} -c synchronous_commit=off` });
      lax.on('error', () => undefined);
      try {
        const log = new PostgresAuditLog(lax, sealer);
        const written = records(6);
        // One at a time: the first flush reads the head, the others go as one statement each.
        for (const r of written) await log.append(r);
        expect(log.stats()).toMatchObject({ flushes: 6, failedFlushes: 0 });
        expect(await storedIds(written.map((r) => r.id), own)).toHaveLength(6);
      } finally {
        await lax.end();
        await dropSchema(own);
      }
    });

    it('given a database whose append function commits without synchronous_commit, then the flush is refused (AUDIT_UNAVAILABLE)', async () => {
      const own: PostgresTarget = { url: target.url, schema: uniqueTestSchema('audit_sync_tamper') };
      await runMigrations(own, auditMigrations);
      const ownPool = poolFor(own);
      try {
        const log = new PostgresAuditLog(ownPool, sealer);
        await log.append(record());
        // Someone replaces the function with one that turns durability off for its transaction.
        await withReader(own, async (c) => {
          await c.query('ALTER FUNCTION kms_append_sealed_audit(text, timestamptz, bigint, bigint, json, text[], text[], uuid[], integer[]) RENAME TO kms_append_sealed_audit_real');
          await c.query(`CREATE FUNCTION kms_append_sealed_audit(a text, t timestamptz, b bigint, c bigint, d json, e text[], f text[], g uuid[], h integer[]) RETURNS text LANGUAGE plpgsql AS $$
            BEGIN PERFORM kms_append_sealed_audit_real(a, t, b, c, d, e, f, g, h); PERFORM set_config('synchronous_commit', 'off', true); RETURN current_setting('synchronous_commit'); END $$`);
        });
        expect(await outcome(log.append(record()))).toBe('AUDIT_UNAVAILABLE');
        expect(log.stats().failedFlushes).toBe(1);
      } finally {
        await ownPool.end();
        await dropSchema(own);
      }
    });
  });

  describe('when PostgreSQL refuses', () => {
    async function unusedPort(): Promise<number> {
      const server = createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const address = server.address();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (address === null || typeof address === 'string') throw new Error('no port');
      return address.port;
    }

    it.each([
      ['a database that does not exist', async () => testDatabaseUrl().replace(/\/[^/]*$/, '/kms_no_such_database')],
      ['a port nothing listens on', async () => `postgres://postgres@127.0.0.1:${await unusedPort()}/kms_test`],
    ])('given %s, then every pending append rejects with AUDIT_UNAVAILABLE and none resolves', async (_, url) => {
      const badPool = poolFor({ url: await url(), schema: target.schema });
      try {
        const log = new PostgresAuditLog(badPool, sealer);
        const pending = [...records(100).map((r) => log.append(r)), log.appendMany(records(5))];
        expect(new Set(await outcomes(pending))).toEqual(new Set(['AUDIT_UNAVAILABLE']));
        expect(log.stats()).toMatchObject({ flushes: 0, records: 0 });
        expect(log.stats().failedFlushes).toBeGreaterThan(0);
      } finally {
        await badPool.end();
      }
    });

    it('given the table is dropped mid-test, then appends before it are stored and every one after it rejects', async () => {
      const own: PostgresTarget = { url: target.url, schema: uniqueTestSchema('audit_drop') };
      await runMigrations(own, auditMigrations);
      const ownPool = poolFor(own);
      try {
        const log = new PostgresAuditLog(ownPool, sealer);
        const before = records(10);
        await Promise.all(before.map((r) => log.append(r)));
        expect(await storedIds(before.map((r) => r.id), own)).toHaveLength(10);

        await withReader(own, (c) => c.query('DROP TABLE audit_records'));
        const after = [...records(200).map((r) => log.append(r)), log.appendMany(records(20))];
        expect(new Set(await outcomes(after))).toEqual(new Set(['AUDIT_UNAVAILABLE']));
        expect(log.stats().records).toBe(10);
      } finally {
        await ownPool.end();
        await dropSchema(own);
      }
    });

    it('given a server that never answers, then appends reject once the flush timeout passes', async () => {
      const sockets = new Set<Socket>();
      const silent: Server = createServer((s) => sockets.add(s));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const address = silent.address();
      if (address === null || typeof address === 'string') throw new Error('no port');
      const silentPool = poolFor({ url: `postgres://postgres@127.0.0.1:${address.port}/kms_test`, schema: target.schema });
      try {
        const log = new PostgresAuditLog(silentPool, sealer, { flushTimeoutMs: 300 });
        expect(new Set(await outcomes(records(20).map((r) => log.append(r))))).toEqual(new Set(['AUDIT_UNAVAILABLE']));
        expect(log.stats().records).toBe(0);
      } finally {
        for (const s of sockets) s.destroy();
        await new Promise<void>((resolve) => silent.close(() => resolve()));
        await silentPool.end();
      }
    });

    it('given a flush stuck behind a lock, then it is rejected at the timeout, not committed later, and the log recovers', async () => {
      const log = new PostgresAuditLog(pool, sealer, { flushTimeoutMs: 500 });
      const stuck = records(5);
      const locker = new Client({ connectionString: target.url, options: `-c search_path=${target.schema}` });
      await locker.connect();
      try {
        await locker.query('BEGIN');
        await locker.query('LOCK TABLE audit_records IN ACCESS EXCLUSIVE MODE');
        expect(await outcome(log.appendMany(stuck))).toBe('AUDIT_UNAVAILABLE');
      } finally {
        await locker.query('ROLLBACK');
        await locker.end();
      }
      const later = record();
      await log.append(later);
      expect(await storedIds([...stuck.map((r) => r.id), later.id])).toEqual([later.id]);
    });
  });

  describe('back-pressure', () => {
    it('given more records than the queue bound, then the excess is rejected at once and the rest commit', async () => {
      const log = new PostgresAuditLog(pool, sealer, { maxQueued: 100 });
      const batch = records(150);
      const pending = batch.map((r) => log.append(r));

      // Rejected before any flush ran: refusal is immediate, not after a round trip.
      expect(new Set(await outcomes(pending.slice(100)))).toEqual(new Set(['AUDIT_UNAVAILABLE']));
      expect(log.stats()).toMatchObject({ flushes: 0, queued: 100 });

      expect(new Set(await outcomes(pending.slice(0, 100)))).toEqual(new Set(['RESOLVED']));
      expect(await storedIds(batch.map((r) => r.id))).toEqual(batch.slice(0, 100).map((r) => r.id));
    });

    it('given an appendMany larger than the bound, then it is rejected whole', async () => {
      const log = new PostgresAuditLog(pool, sealer, { maxQueued: 10 });
      const batch = records(11);
      expect(await outcome(log.appendMany(batch))).toBe('AUDIT_UNAVAILABLE');
      expect(await storedIds(batch.map((r) => r.id))).toEqual([]);
    });
  });

  describe('close', () => {
    it('given queued appends, when closed, then they are all committed before close resolves and later appends reject', async () => {
      const log = new PostgresAuditLog(pool, sealer, { maxBatch: 50 });
      const batch = records(200);
      const settled: string[] = [];
      const pending = batch.map((r) => log.append(r).then(() => settled.push(r.id)));

      await log.close();
      expect(settled).toHaveLength(200);
      await Promise.all(pending);
      expect(await storedIds(batch.map((r) => r.id))).toHaveLength(200);

      expect(await outcome(log.append(record()))).toBe('AUDIT_UNAVAILABLE');
      expect(await outcome(log.appendMany(records(2)))).toBe('AUDIT_UNAVAILABLE');
    });

    it('given nothing queued, then close resolves at once', async () => {
      const log = new PostgresAuditLog(pool, sealer);
      await expect(log.close()).resolves.toBeUndefined();
    });
  });
});

auditLogContract(
  'PostgresAuditLog',
  async () => {
    const own: PostgresTarget = { url: testDatabaseUrl(), schema: uniqueTestSchema('audit_contract') };
    await runMigrations(own, auditMigrations);
    const ownPool = poolFor(own);
    // A real refusal inside the flush's transaction: a trigger that raises for listed ids ('*': every row).
    await ownPool.query(`
      CREATE TABLE ${own.schema}.contract_refusals (id text PRIMARY KEY);
      CREATE FUNCTION ${own.schema}.contract_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM ${own.schema}.contract_refusals WHERE id IN ('*', NEW.id::text)) THEN
          RAISE EXCEPTION 'audit record % refused by the test', NEW.id;
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER contract_refuse BEFORE INSERT ON ${own.schema}.audit_records FOR EACH ROW EXECUTE FUNCTION ${own.schema}.contract_refuse();`);
    const log = new PostgresAuditLog(ownPool, sealer);
    const feed = new PostgresAuditFeed(ownPool, sealer);
    const refuse = (id: string) => ownPool.query('INSERT INTO contract_refusals (id) VALUES ($1) ON CONFLICT DO NOTHING', [id]).then(() => undefined);
    return {
      log,
      ciphertexts: log,
      read: async () => (await feed.readAfter(0n, 1_000_000)).map(({ position: _position, ...r }) => r),
      breakStorage: () => refuse('*'),
      heal: () => ownPool.query(`DELETE FROM contract_refusals WHERE id = '*'`).then(() => undefined),
      refuseRecord: refuse,
      cleanup: async () => {
        await log.close();
        await ownPool.end();
        await dropSchema(own);
      },
    };
  },
  { tracksCiphertexts: true },
);
