import { randomBytes, randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { EventIntegrityError, EventSealer, type NewEvent } from '@kms/event-store';
import { auditMigrations, createPgPool, dropSchema, PostgresAuditFeed, PostgresAuditLog, runMigrations, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';
import { testAuditSealer } from '@kms/persistence-postgres/testing';
import { eventStoreMigrations } from './events-table.migration';
import { PostgresEventStore } from './postgres-event-store';
import { sealExistingHistory } from './seal-history';

const target = { url: testDatabaseUrl(), schema: uniqueTestSchema('sealed_store') };
let pool: Pool;
const sealer = new EventSealer(randomBytes(32));

beforeAll(async () => {
  await runMigrations(target, eventStoreMigrations);
  pool = createPgPool(target, { max: 3 });
});

afterAll(async () => {
  await pool.end();
  await dropSchema(target);
});

const policy = (grants: Record<string, string[]>): NewEvent => ({ id: randomUUID(), type: 'KeyPolicyChanged', data: { keyId: 'k', policy: { grants } }, metadata: { actor: 'alice' } });

/** What someone with write access to PostgreSQL (a superuser: triggers off) can do to the rows. */
async function asSuperuser(sql: string, params: unknown[] = []): Promise<void> {
  await pool.query('ALTER TABLE events DISABLE TRIGGER USER');
  try {
    await pool.query(sql, params);
  } finally {
    await pool.query('ALTER TABLE events ENABLE TRIGGER USER');
  }
}

async function readProblem(store: PostgresEventStore, streamId: string): Promise<string> {
  return store.readStream(streamId).then(
    () => 'accepted',
    (e: unknown) => (e instanceof EventIntegrityError ? `v${e.streamVersion}: ${e.problem}` : `other: ${String(e)}`),
  );
}

async function sealedStream(store: PostgresEventStore, n: number): Promise<string> {
  const streamId = `key-${randomUUID()}`;
  for (let v = 0; v < n; v++) await store.appendToStream(streamId, [policy({ app: ['ENCRYPT'] })], { expectedVersion: v === 0 ? 'no_stream' : v - 1 });
  return streamId;
}

describe('sealed PostgreSQL event store: the attacks of an insider with database access', () => {
  it('reads back what it sealed', async () => {
    const store = new PostgresEventStore(pool, { sealer });
    const streamId = await sealedStream(store, 3);
    expect((await store.readStream(streamId)).events).toHaveLength(3);
  });

  it('refuses a row INSERTed into a stream, naming it, whether unsealed or sealed with another key', async () => {
    const store = new PostgresEventStore(pool, { sealer });
    const streamId = await sealedStream(store, 2);
    // A forged KeyPolicyChanged with made-up actor and approvers, granting DECRYPT.
    await pool.query(
      `INSERT INTO events (event_id, stream_id, stream_version, type, data, metadata) VALUES ($1, $2, 2, 'KeyPolicyChanged', $3, $4)`,
      [randomUUID(), streamId, JSON.stringify({ keyId: 'k', policy: { grants: { mallory: ['DECRYPT'] } } }), JSON.stringify({ actor: 'bob', approvers: ['carol'], changeTicket: 'CHG-1' })],
    );
    expect(await readProblem(store, streamId)).toBe('v2: the event is not sealed');
    // Read as stored (for evidence), the forged row is there, after the two the KMS sealed.
    const stored = await store.readStoredStream(streamId);
    expect(stored.map((e) => [e.streamVersion, e.type, e.metadata['actor']])).toEqual([
      [0, 'KeyPolicyChanged', 'alice'],
      [1, 'KeyPolicyChanged', 'alice'],
      [2, 'KeyPolicyChanged', 'bob'],
    ]);
    expect(stored[2]?.metadata['seal']).toBeUndefined();

    const other = await sealedStream(new PostgresEventStore(pool, { sealer: new EventSealer(randomBytes(32)) }), 1);
    expect(await readProblem(store, other)).toBe('v0: the seal was not made with the KMS key (forged)');
  });

  it('detects a row UPDATEd in place, a swap of two global positions and a DELETEd row', async () => {
    const store = new PostgresEventStore(pool, { sealer });
    const edited = await sealedStream(store, 3);
    await asSuperuser(`UPDATE events SET data = jsonb_set(data, '{policy,grants}', '{"mallory":["DECRYPT"]}') WHERE stream_id = $1 AND stream_version = 1`, [edited]);
    expect(await readProblem(store, edited)).toBe('v1: the event differs from what was sealed (edited or moved)');

    const swapped = await sealedStream(store, 2);
    const rows = (await pool.query<{ p: string }>('SELECT global_position::text AS p FROM events WHERE stream_id = $1 ORDER BY stream_version', [swapped])).rows.map((r) => r.p);
    await asSuperuser(
      `UPDATE events SET global_position = CASE global_position WHEN $1::bigint THEN $2::bigint ELSE $1::bigint END WHERE global_position IN ($1::bigint, $2::bigint)`,
      [rows[0], rows[1]],
    ).catch(async () => {
      // The primary key forbids an in-place swap in one statement on some plans: go through a free value.
      await asSuperuser(`UPDATE events SET global_position = -global_position WHERE global_position = $1::bigint`, [rows[0]]);
      await asSuperuser(`UPDATE events SET global_position = $1::bigint WHERE global_position = $2::bigint`, [rows[0], rows[1]]);
      await asSuperuser(`UPDATE events SET global_position = $1::bigint WHERE global_position = -$2::bigint`, [rows[1], rows[0]]);
    });
    expect(await readProblem(store, swapped)).toBe('v0: the event differs from what was sealed (edited or moved)');

    const deleted = await sealedStream(store, 3);
    await asSuperuser('DELETE FROM events WHERE stream_id = $1 AND stream_version = 1', [deleted]);
    expect(await readProblem(store, deleted)).toBe('v2: expected version 1: an event is missing');
  });

  it('refuses a page of streams read by prefix that holds a forged, edited or removed row, naming it', async () => {
    const store = new PostgresEventStore(pool, { sealer });
    const prefix = `scan-${randomUUID().slice(0, 8)}-`;
    const append = async (id: string, n: number): Promise<string> => {
      for (let v = 0; v < n; v++) await store.appendToStream(`${prefix}${id}`, [policy({ app: ['ENCRYPT'] })], { expectedVersion: v === 0 ? 'no_stream' : v - 1 });
      return `${prefix}${id}`;
    };
    const pageProblem = (limit: number): Promise<string> =>
      store.headPosition().then((through) =>
        store.readStreamsByPrefix(prefix, { through, limit }).then(
          (page) => `accepted ${page.streams.length}`,
          (e: unknown) => (e instanceof EventIntegrityError ? `${e.streamId} v${e.streamVersion}: ${e.problem}` : `other: ${String(e)}`),
        ),
      );
    await append('a', 2);
    expect(await pageProblem(10)).toBe('accepted 1');

    const forged = await append('b', 2);
    await pool.query(`INSERT INTO events (event_id, stream_id, stream_version, type, data, metadata) VALUES ($1, $2, 2, 'KeyPolicyChanged', '{}', '{}')`, [randomUUID(), forged]);
    expect(await pageProblem(10)).toBe(`${forged} v2: the event is not sealed`);
    // Page by page too: 'a' fills the first page, 'b' (longer than the limit) is read whole.
    await expect(store.readStreamsByPrefix(prefix, { through: await store.headPosition(), limit: 2 })).resolves.toMatchObject({ next: `${prefix}a` });
    await expect(store.readStreamsByPrefix(prefix, { through: await store.headPosition(), limit: 2, afterStreamId: `${prefix}a` })).rejects.toThrow(EventIntegrityError);

    const removed = await append('0', 3);
    await asSuperuser('DELETE FROM events WHERE stream_id = $1 AND stream_version = 1', [removed]);
    expect(await pageProblem(10)).toBe(`${removed} v2: expected version 1: an event is missing`);
  });

  it('stops a subscription at a forged row instead of delivering or skipping it', async () => {
    const store = new PostgresEventStore(pool, { sealer, pollIntervalMs: 100 });
    const head = BigInt((await pool.query<{ h: string }>('SELECT coalesce(max(global_position), 0)::text AS h FROM events')).rows[0].h);
    const streamId = await sealedStream(store, 1);
    await pool.query(`INSERT INTO events (event_id, stream_id, stream_version, type, data, metadata) VALUES ($1, $2, 1, 'KeyPolicyChanged', '{}', '{}')`, [randomUUID(), streamId]);
    const after = await sealedStream(store, 1);
    const delivered: string[] = [];
    const failure = await new Promise<Error>((resolve) => {
      store.subscribeToAll({ fromPosition: head }, { onEvent: (e) => void delivered.push(`${e.streamId}@${e.streamVersion}`), onError: resolve });
    });
    expect(failure).toBeInstanceOf(EventIntegrityError);
    expect(failure.message).toContain(`${streamId} version 1`);
    expect(delivered).toEqual([`${streamId}@0`]);
    expect(delivered).not.toContain(`${after}@0`);
    await store.close();
  });

  it('seals a store written before sealing once (an upgrade); never a store that already holds sealed events', async () => {
    const legacy = { url: testDatabaseUrl(), schema: uniqueTestSchema('sealed_upgrade') };
    await runMigrations(legacy, [...eventStoreMigrations, ...auditMigrations]);
    const legacyPool = createPgPool(legacy, { max: 2 });
    try {
      const before = new PostgresEventStore(legacyPool); // the old writer: no seals
      const old = `key-${randomUUID()}`;
      await before.appendToStream(old, [policy({ a: ['ENCRYPT'] }), policy({ b: ['ENCRYPT'] })], { expectedVersion: 'no_stream' });
      const store = new PostgresEventStore(legacyPool, { sealer });
      expect(await readProblem(store, old)).toBe('v0: the event is not sealed');

      // An audit trail written before sealing too: both are sealed by the one upgrade.
      await legacyPool.query(`INSERT INTO audit_records (id, "time", request_id, operation, actor, outcome) VALUES ($1, now(), 'r', 'CreateKey', 'alice', 'SUCCESS')`, [randomUUID()]);
      const sealers = { events: sealer, audit: testAuditSealer() };
      expect(await sealExistingHistory(legacyPool, sealers)).toEqual({ events: 2, auditRecords: 1 });
      expect(await readProblem(store, old)).toBe('accepted');
      expect(await sealExistingHistory(legacyPool, sealers)).toEqual({ events: 0, auditRecords: 0 });
      // The audit trail reads back verified, and the next record chains onto it.
      const audit = new PostgresAuditLog(legacyPool, sealers.audit);
      await audit.append({ id: randomUUID(), time: new Date(), requestId: 'r2', operation: 'SealExistingHistory', actor: 'system:seal-history', outcome: 'SUCCESS' });
      await audit.close();
      expect((await new PostgresAuditFeed(legacyPool, sealers.audit).readAfter(0n, 10)).map((r) => r.operation)).toEqual(['CreateKey', 'SealExistingHistory']);
      // Appends chain onto the sealed history, and the trigger is back on.
      await store.appendToStream(old, [policy({ c: ['ENCRYPT'] })], { expectedVersion: 1 });
      expect(await readProblem(store, old)).toBe('accepted');
      await expect(legacyPool.query(`UPDATE events SET data = '{}' WHERE stream_id = $1`, [old])).rejects.toThrow(/append-only/);

      // Once anything is sealed, an unsealed row is a forgery: it is not sealed at the next start.
      await legacyPool.query(`INSERT INTO events (event_id, stream_id, stream_version, type, data, metadata) VALUES ($1, $2, 3, 'KeyPolicyChanged', '{}', '{}')`, [randomUUID(), old]);
      expect(await sealExistingHistory(legacyPool, sealers)).toEqual({ events: 0, auditRecords: 0 });
      expect(await readProblem(store, old)).toBe('v3: the event is not sealed');
    } finally {
      await legacyPool.end();
      await dropSchema(legacy);
    }
  });
});
