import { randomBytes, randomUUID } from 'node:crypto';
import type { AuditRecord } from '@kms/application';
import type { Pool } from 'pg';
import { insertAuditRecord, inTransaction } from '../changes/postgres-change-store';
import { createPgPool, dropSchema, type PostgresTarget, runMigrations, testDatabaseUrl, uniqueTestSchema } from '../pg/postgres-connection';
import { testAuditSealer } from '../testing';
import { readStoredAuditRows } from './audit-chain';
import { auditMigrations } from './audit-records.migration';
import { AuditIntegrityError, AuditSealer } from './audit-seal';
import { PostgresAuditFeed } from './postgres-audit-feed';
import { PostgresAuditLog } from './postgres-audit-log';
import { sealExistingAuditRecords } from './seal-audit-history';

const sealer = testAuditSealer();

interface Trail {
  pool: Pool;
  feed: PostgresAuditFeed;
  /** Record ids in position order. */
  ids: string[];
  positions: bigint[];
  cleanup(): Promise<void>;
}

const open: Trail[] = [];

afterAll(async () => {
  for (const t of open) await t.cleanup();
});

function record(i: number, overrides: Partial<AuditRecord> = {}): AuditRecord {
  return {
    id: randomUUID(),
    time: new Date(Date.UTC(2026, 2, 4, 5, 6, 7, i)),
    requestId: `req-${i}`,
    operation: i % 2 === 0 ? 'Encrypt' : 'Decrypt',
    keyId: randomUUID(),
    keyVersion: 1 + (i % 3),
    actor: 'svc-payments',
    ...(i % 2 === 0 ? { actorRole: 'service' } : {}),
    outcome: i % 5 === 4 ? 'DENIED' : 'SUCCESS',
    ...(i % 5 === 4 ? { errorCode: 'PERMISSION_DENIED' } : {}),
    sourceAddress: 'ipv4:10.1.2.3:5000',
    // Keys in an order jsonb does not keep (it sorts by length, then bytes).
    details: { zeta: i, alpha: 'a', mid: i % 2 === 0 },
    ...overrides,
  };
}

async function schema(prefix: string): Promise<{ target: PostgresTarget; pool: Pool }> {
  const target = { url: testDatabaseUrl(), schema: uniqueTestSchema(prefix) };
  await runMigrations(target, auditMigrations);
  const pool = createPgPool(target, { max: 6 });
  return { target, pool };
}

/** A trail of `n` records written by both writers, interleaved: the group-commit log and insertAuditRecord. */
async function trail(prefix: string, n = 6): Promise<Trail> {
  const { target, pool } = await schema(prefix);
  const log = new PostgresAuditLog(pool, sealer);
  for (let i = 0; i < n; i++) {
    const r = record(i);
    if (i % 2 === 0) await log.append(r);
    else await inTransaction(pool, (c) => insertAuditRecord(c, r, sealer));
  }
  await log.close();
  const { rows } = await pool.query<{ id: string; p: string }>('SELECT id, "position"::text AS p FROM audit_records ORDER BY "position"');
  const t: Trail = {
    pool,
    feed: new PostgresAuditFeed(pool, sealer),
    ids: rows.map((r) => r.id),
    positions: rows.map((r) => BigInt(r.p)),
    cleanup: async () => {
      await pool.end();
      await dropSchema(target);
    },
  };
  open.push(t);
  return t;
}

/** Read as the projector does, a few records per call, until the end or a refusal. */
async function readAll(feed: PostgresAuditFeed, from = 0n, page = 2): Promise<{ ids: string[]; refused?: AuditIntegrityError }> {
  const ids: string[] = [];
  let after = from;
  for (;;) {
    let batch;
    try {
      batch = await feed.readAfter(after, page);
    } catch (e) {
      if (e instanceof AuditIntegrityError) return { ids, refused: e };
      throw e;
    }
    if (batch.length === 0) return { ids };
    ids.push(...batch.map((r) => r.id));
    after = batch[batch.length - 1]?.position ?? after;
  }
}

/** What someone who owns the tables can do: the append-only triggers lifted around the statements. */
async function asOwner(pool: Pool, ...statements: Array<[string, unknown[]?]>): Promise<void> {
  await inTransaction(pool, async (c) => {
    await c.query('ALTER TABLE audit_records DISABLE TRIGGER USER');
    for (const [sql, params] of statements) await c.query(sql, params ?? []);
    await c.query('ALTER TABLE audit_records ENABLE TRIGGER USER');
  });
}

describe('sealed audit trail on PostgreSQL', () => {
  it('round trip: records from both writers, written concurrently, are sealed in one chain and all read back verified', async () => {
    const { target, pool } = await schema('audit_seal_rt');
    try {
      const log = new PostgresAuditLog(pool, sealer, { maxBatch: 7 });
      // Every tenth without its optional columns (stored as null).
      const bare = ({ details: _d, keyId: _k, keyVersion: _v, ...rest }: AuditRecord): AuditRecord => rest;
      const written = Array.from({ length: 60 }, (_, i) => (i % 10 === 0 ? bare(record(i)) : record(i)));
      await Promise.all(
        written.map((r, i) =>
          i % 3 === 0 ? inTransaction(pool, (c) => insertAuditRecord(c, r, sealer)) : i % 3 === 1 ? log.append(r) : log.appendMany([r]),
        ),
      );
      await log.close();
      const feed = new PostgresAuditFeed(pool, sealer);
      const read = await readAll(feed, 0n, 7);
      expect(read.refused).toBeUndefined();
      expect(new Set(read.ids)).toEqual(new Set(written.map((r) => r.id)));
      const all = await feed.readAfter(0n, 100);
      // What was written is what is read: every field, details as given.
      const byId = new Map(written.map((r) => [r.id, r]));
      for (const r of all) {
        const { position: _p, ...rest } = r;
        const w = byId.get(r.id) as AuditRecord;
        expect(rest).toStrictEqual(w);
      }
      // One chain in position order, the first record's prev null.
      const { rows } = await readStoredAuditRows(pool, 0n, 100);
      expect(rows[0]?.seal_prev).toBeNull();
      for (let i = 1; i < rows.length; i++) expect(rows[i]?.seal_prev).toBe(rows[i - 1]?.seal_hash);
      // A key's uses read back checked too.
      const some = written[1] as AuditRecord;
      const uses = await feed.readKeyUses({ keyId: some.keyId as string, version: null, from: new Date(0), afterPosition: 0n, throughPosition: 1000n, limit: 10 });
      expect(uses.map((u) => u.id)).toEqual([some.id]);
    } finally {
      await pool.end();
      await dropSchema(target);
    }
  });

  describe('a writer that knows where its last flush left the chain', () => {
    /** Every statement text the pool's connections send, in order. */
    function recordStatements(pool: Pool): string[] {
      const texts: string[] = [];
      pool.on('connect', (client) => {
        const query = client.query.bind(client) as (...args: unknown[]) => unknown;
        (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
          const q = args[0] as string | { text: string };
          texts.push(typeof q === 'string' ? q : q.text);
          return query(...args);
        };
      });
      return texts;
    }

    it('sends its next flush as one statement, and seals again after the head when another writer appended in between: one chain', async () => {
      const { target, pool } = await schema('audit_seal_next');
      const statements = recordStatements(pool);
      try {
        const a = new PostgresAuditLog(pool, sealer);
        const b = new PostgresAuditLog(pool, sealer);
        const written: AuditRecord[] = [];
        const step = async (write: (r: AuditRecord) => Promise<unknown>): Promise<string[]> => {
          const r = record(written.length);
          written.push(r);
          const from = statements.length;
          await write(r);
          return statements.slice(from);
        };
        const oneStatement = [expect.stringContaining('kms_append_sealed_audit')];
        const headUnderLock = [expect.stringMatching(/^BEGIN;.*pg_advisory_xact_lock/s), expect.stringMatching(/^INSERT INTO audit_records/), 'COMMIT'];
        // The first flush reads the head under the lock: BEGIN with the lock and the head, INSERT, COMMIT.
        expect(await step((r) => a.append(r))).toEqual(headUnderLock);
        // The next: one statement, one round trip.
        expect(await step((r) => a.append(r))).toEqual(oneStatement);
        expect(await step((r) => a.appendMany([r]))).toEqual(oneStatement);
        // Another log appends: a's next statement is refused as a whole (KM001) and the flush is sealed again.
        expect(await step((r) => b.append(r))).toEqual(headUnderLock);
        expect(await step((r) => a.append(r))).toEqual([...oneStatement, ...headUnderLock]);
        expect(a.stats()).toMatchObject({ flushes: 4, records: 4, resealedFlushes: 1, failedFlushes: 0 });
        // Having seen the chain move, a reads the head under the lock at once; finding it where it left it, it goes back to one statement.
        expect(await step((r) => a.append(r))).toEqual(headUnderLock);
        expect(await step((r) => a.append(r))).toEqual(oneStatement);
        expect(a.stats().resealedFlushes).toBe(1);
        // The single-record writer (lifecycle changes) in between, then a batch call's record (several positions).
        await step((r) => inTransaction(pool, (c) => insertAuditRecord(c, r, sealer)));
        const batchItems = [0, 1, 2].map((i) => ({ id: randomUUID(), batchIndex: i, outcome: 'SUCCESS' as const }));
        expect(await step((r) => b.appendMany([{ ...r, items: batchItems }]))).toEqual([...oneStatement, ...headUnderLock]);
        const batchAt = written.length - 1;
        expect(await step((r) => a.append(r))).toEqual([...oneStatement, ...headUnderLock]);
        expect(a.stats()).toMatchObject({ flushes: 7, resealedFlushes: 2, failedFlushes: 0 });
        expect(b.stats()).toMatchObject({ flushes: 2, resealedFlushes: 1, failedFlushes: 0 });
        await a.close();
        await b.close();

        const { rows } = await readStoredAuditRows(pool, 0n, 100);
        expect(rows.map((r) => r.id)).toEqual(written.map((r) => r.id));
        expect(rows[0]?.seal_prev).toBeNull();
        for (let i = 1; i < rows.length; i++) expect(rows[i]?.seal_prev).toBe(rows[i - 1]?.seal_hash);
        // Positions in commit order; the batch record stands at the last of its three.
        const positions = rows.map((r) => r.position);
        expect(positions).toEqual([...positions].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)));
        expect((positions[batchAt] as bigint) - (positions[batchAt - 1] as bigint)).toBe(3n);
        const read = await readAll(new PostgresAuditFeed(pool, sealer), 0n, 4);
        expect(read.refused).toBeUndefined();
        expect(read.ids).toHaveLength(written.length + batchItems.length - 1);
      } finally {
        await pool.end();
        await dropSchema(target);
      }
    });

    it('a row INSERTed behind its back by anyone with INSERT moves the head: the next flush chains after that row, it does not fork', async () => {
      const { target, pool } = await schema('audit_seal_behind');
      try {
        const log = new PostgresAuditLog(pool, sealer);
        await log.append(record(0));
        await log.append(record(1));
        const forged = randomUUID();
        const forger = new AuditSealer(randomBytes(32));
        const { rows: last } = await pool.query<{ h: string }>('SELECT seal_hash AS h FROM audit_records ORDER BY "position" DESC LIMIT 1');
        const { rows: taken } = await pool.query<{ p: string }>(`SELECT nextval('audit_records_position_seq')::text AS p`);
        const at = BigInt(taken[0]?.p as string);
        const time = new Date(Date.UTC(2026, 2, 4, 5, 6, 8));
        const seal = forger.seal(
          { position: at, id: forged, time, request_id: 'r', operation: 'Encrypt', key_id: null, key_version: null, actor: 'mallory', actor_role: null, outcome: 'SUCCESS', error_code: null, source_address: null, details: null, items: null },
          last[0]?.h as string,
        );
        await pool.query(
          `INSERT INTO audit_records ("position", id, "time", request_id, operation, actor, outcome, seal_prev, seal_hash, seal_mac) VALUES ($1, $2, $3, 'r', 'Encrypt', 'mallory', 'SUCCESS', $4, $5, $6)`,
          [at.toString(), forged, time, seal.prev, seal.hash, seal.mac],
        );
        const next = record(2);
        await log.append(next);
        expect(log.stats().resealedFlushes).toBe(1);
        await log.close();
        const { rows } = await readStoredAuditRows(pool, 0n, 10);
        expect(rows.map((r) => r.id)).toEqual([expect.any(String), expect.any(String), forged, next.id]);
        expect(rows[3]?.seal_prev).toBe(rows[2]?.seal_hash);
        // The forged row itself is still refused by every reader.
        expect((await readAll(new PostgresAuditFeed(pool, sealer))).refused).toMatchObject({ recordId: forged });
      } finally {
        await pool.end();
        await dropSchema(target);
      }
    });
  });

  it('a record DELETEd from the middle: the ones before it are delivered, the next one is refused naming its position and id', async () => {
    const t = await trail('audit_seal_del');
    await asOwner(t.pool, ['DELETE FROM audit_records WHERE "position" = $1', [t.positions[2]?.toString()]]);
    const read = await readAll(t.feed);
    expect(read.ids).toEqual(t.ids.slice(0, 2));
    expect(read.refused?.position).toBe(t.positions[3]);
    expect(read.refused?.recordId).toBe(t.ids[3]);
    expect(read.refused?.message).toContain(`record ${t.ids[3]} at position ${t.positions[3]}`);
    expect(read.refused?.problem).toMatch(/does not follow the previous one/);
  });

  it('the first record DELETEd: the new first one claims a predecessor and is refused', async () => {
    const t = await trail('audit_seal_del1', 3);
    await asOwner(t.pool, ['DELETE FROM audit_records WHERE "position" = $1', [t.positions[0]?.toString()]]);
    const read = await readAll(t.feed);
    expect(read.ids).toEqual([]);
    expect(read.refused?.recordId).toBe(t.ids[1]);
    expect(read.refused?.problem).toMatch(/claims a predecessor/);
  });

  it('a record UPDATEd in place: refused from the start and, as the anchor, by a reader already past it', async () => {
    const t = await trail('audit_seal_upd');
    await asOwner(t.pool, [`UPDATE audit_records SET actor = 'someone-else', details = '{"alpha":"b","zeta":2,"mid":true}' WHERE "position" = $1`, [t.positions[2]?.toString()]]);
    const read = await readAll(t.feed);
    expect(read.ids).toEqual(t.ids.slice(0, 2));
    expect(read.refused?.position).toBe(t.positions[2]);
    expect(read.refused?.recordId).toBe(t.ids[2]);
    expect(read.refused?.problem).toBe('the record differs from what was sealed (edited or moved)');
    expect(read.refused?.message).not.toContain('someone-else');
    // A consumer whose checkpoint is that record: the link to it is checked, so is its own seal.
    await expect(t.feed.readAfter(t.positions[2] as bigint, 10)).rejects.toMatchObject({ position: t.positions[2], recordId: t.ids[2] });
  });

  it('an INSERTed record with a correct hash and chain but a MAC not made with the KMS key is refused', async () => {
    const t = await trail('audit_seal_forge');
    const other = new AuditSealer(randomBytes(32));
    const { rows } = await readStoredAuditRows(t.pool, t.positions[5] as bigint, 1);
    const { anchor } = await readStoredAuditRows(t.pool, t.positions[5] as bigint, 0);
    expect(rows).toEqual([]);
    const forged = { ...(anchor as NonNullable<typeof anchor>), position: (t.positions[5] as bigint) + 100n, id: randomUUID(), actor: 'mallory' };
    const seal = other.seal(forged, anchor?.seal_hash ?? null);
    // The hash is what the KMS would compute: only the MAC gives the forgery away.
    expect(seal.hash).toBe(sealer.seal(forged, anchor?.seal_hash ?? null).hash);
    await t.pool.query(
      `INSERT INTO audit_records ("position", id, "time", request_id, operation, key_id, key_version, actor, actor_role, outcome, error_code, source_address, details, seal_prev, seal_hash, seal_mac)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14, $15, $16)`,
      [forged.position.toString(), forged.id, forged.time, forged.request_id, forged.operation, forged.key_id, forged.key_version, forged.actor, forged.actor_role, forged.outcome, forged.error_code, forged.source_address, JSON.stringify(forged.details), seal.prev, seal.hash, seal.mac],
    );
    const read = await readAll(t.feed);
    expect(read.ids).toEqual(t.ids);
    expect(read.refused).toMatchObject({ position: forged.position, recordId: forged.id, problem: 'the seal was not made with the KMS key (forged)' });
  });

  it('an INSERTed record without a seal (the old writer, or anyone with INSERT) is refused', async () => {
    const t = await trail('audit_seal_bare');
    const id = randomUUID();
    await t.pool.query(`INSERT INTO audit_records (id, "time", request_id, operation, actor, outcome) VALUES ($1, now(), 'r', 'Encrypt', 'mallory', 'SUCCESS')`, [id]);
    const read = await readAll(t.feed);
    expect(read.ids).toEqual(t.ids);
    expect(read.refused).toMatchObject({ recordId: id, problem: 'the record is not sealed' });
  });

  it('two records swapping positions are refused at the first of them', async () => {
    const t = await trail('audit_seal_swap');
    const [a, b] = [t.positions[2]?.toString(), t.positions[3]?.toString()];
    await asOwner(
      t.pool,
      ['UPDATE audit_records SET "position" = -1 WHERE "position" = $1', [a]],
      ['UPDATE audit_records SET "position" = $1 WHERE "position" = $2', [a, b]],
      ['UPDATE audit_records SET "position" = $1 WHERE "position" = -1', [b]],
    );
    const read = await readAll(t.feed);
    expect(read.ids).toEqual(t.ids.slice(0, 2));
    expect(read.refused).toMatchObject({ position: t.positions[2], recordId: t.ids[3], problem: 'the record differs from what was sealed (edited or moved)' });
  });

  it('seals a trail written before sealing once (an upgrade), as it is; never a trail that already holds a sealed record', async () => {
    const { target, pool } = await schema('audit_seal_upgrade');
    try {
      // The old writer: positions from the bigserial, no seals; an upper-case uuid and details jsonb re-orders.
      // More than 9, so an order by position as text would show (10 before 2).
      const old = [randomUUID().toUpperCase(), ...Array.from({ length: 11 }, () => randomUUID())];
      for (const id of old) {
        await pool.query(
          `INSERT INTO audit_records (id, "time", request_id, operation, key_id, actor, outcome, details) VALUES ($1, $2, 'r', 'CreateKey', $3, 'alice', 'SUCCESS', $4::jsonb)`,
          [id, new Date('2026-01-02T03:04:05.678Z'), randomUUID(), JSON.stringify({ zz: 1, a: 'x' })],
        );
      }
      const feed = new PostgresAuditFeed(pool, sealer);
      expect((await readAll(feed)).refused?.problem).toBe('the record is not sealed');

      expect(await sealExistingAuditRecords(pool, sealer)).toBe(12);
      expect(await readAll(feed)).toEqual({ ids: old.map((id) => id.toLowerCase()) });
      expect(await sealExistingAuditRecords(pool, sealer)).toBe(0);
      // New records chain onto the sealed history, and the trigger is back on.
      const log = new PostgresAuditLog(pool, sealer);
      const next = record(1);
      await log.append(next);
      await log.close();
      expect((await readAll(feed)).ids).toEqual([...old.map((id) => id.toLowerCase()), next.id]);
      await expect(pool.query(`UPDATE audit_records SET actor = 'x'`)).rejects.toThrow(/append-only/);

      // Once anything is sealed, an unsealed row is a forgery: it is not sealed at the next start.
      const bare = randomUUID();
      await pool.query(`INSERT INTO audit_records (id, "time", request_id, operation, actor, outcome) VALUES ($1, now(), 'r', 'Encrypt', 'mallory', 'SUCCESS')`, [bare]);
      expect(await sealExistingAuditRecords(pool, sealer)).toBe(0);
      expect((await readAll(feed)).refused).toMatchObject({ recordId: bare, problem: 'the record is not sealed' });
    } finally {
      await pool.end();
      await dropSchema(target);
    }
  });
});
