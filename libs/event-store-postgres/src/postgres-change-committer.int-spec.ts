import { randomUUID } from 'node:crypto';
import { AUDIT_RECORD_ID, type AuditIntent, type AuditRecord, DuplicateRequestError, type IdempotencyEntry } from '@kms/application';
import { auditRecord } from '@kms/application/testing';
import { KmsError } from '@kms/domain';
import { type NewEvent, type StoredEvent, type StreamWrite, WrongExpectedVersionError } from '@kms/event-store';
import {
  auditMigrations,
  changeMigrations,
  createPgPool,
  dropSchema,
  PostgresChangeStore,
  type PostgresTarget,
  runMigrations,
  testDatabaseUrl,
  uniqueTestSchema,
} from '@kms/persistence-postgres';
import { testAuditSealer } from '@kms/persistence-postgres/testing';
import { Client, type Pool } from 'pg';
import { eventStoreMigrations } from './events-table.migration';
import { PostgresChangeCommitter } from './postgres-change-committer';
import { PostgresEventStore } from './postgres-event-store';

const target: PostgresTarget = { url: testDatabaseUrl(), schema: uniqueTestSchema('change_committer') };
let pool: Pool;
let store: PostgresEventStore;

beforeAll(async () => {
  await runMigrations(target, [...eventStoreMigrations, ...auditMigrations, ...changeMigrations]);
  pool = createPgPool(target, { max: 4, application_name: 'kms-change-committer-int' });
  store = new PostgresEventStore(pool);
});

afterAll(async () => {
  await store.close();
  await pool.end();
  await dropSchema(target);
});

function record(overrides: Partial<AuditRecord> = {}): AuditRecord {
  return auditRecord({ operation: 'CreateKey', actor: 'alice@example.com', ...overrides });
}

function event(type: string): NewEvent {
  return { id: randomUUID(), type, data: { n: type }, metadata: { actor: 'alice@example.com' } };
}

function write(streamId: string, expectedVersion: StreamWrite['expectedVersion'], ...types: string[]): StreamWrite {
  return { streamId, expectedVersion, events: types.map(event) };
}

function entry(audit: AuditRecord, overrides: Partial<IdempotencyEntry> = {}): IdempotencyEntry {
  return {
    actor: audit.actor,
    requestId: `client-${randomUUID()}`,
    operation: audit.operation,
    requestHash: 'b'.repeat(64),
    outcome: { kind: 'response', response: '{"keyId":"k"}' },
    auditRecordId: audit.id,
    createdAt: audit.time,
    ...overrides,
  };
}

function committer(beforeCommit?: () => void): PostgresChangeCommitter {
  return new PostgresChangeCommitter(pool, { channel: store.channel, auditSealer: testAuditSealer(), ...(beforeCommit ? { beforeCommit } : {}) });
}

/** What another session sees: only committed rows. */
async function committed<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: target.url, options: `-c search_path=${target.schema}` });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

const eventsOf = (streamIds: string[]) =>
  committed(async (c) => (await c.query<{ stream_id: string; type: string; metadata: Record<string, unknown> }>('SELECT stream_id, type, metadata FROM events WHERE stream_id = ANY($1) ORDER BY global_position', [streamIds])).rows);
const auditRows = (id: string) => committed(async (c) => (await c.query('SELECT * FROM audit_records WHERE id = $1', [id])).rows);
const idempotencyRows = (actor: string, requestId: string) =>
  committed(async (c) => (await c.query('SELECT * FROM idempotency_records WHERE actor = $1 AND request_id = $2', [actor, requestId])).rows);
const intentRows = (id: string) => committed(async (c) => (await c.query('SELECT * FROM audit_intents WHERE id = $1', [id])).rows);

async function errorOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection, but the commit succeeded');
}

describe('PostgresChangeCommitter', () => {
  it('given a change with two streams, an audit record and an idempotency entry, then all of it commits together', async () => {
    const name = `keyname-${randomUUID()}`;
    const key = `key-${randomUUID()}`;
    const audit = record({ keyId: randomUUID(), details: { purpose: 'DATA_PROTECTION' } });
    const idempotency = entry(audit);

    const results = await committer().commit({ writes: [write(name, 'no_stream', 'KeyNameReserved'), write(key, 'no_stream', 'KeyCreated', 'KeyVersionCreated')], audit, idempotency });

    expect(results.map((r) => r.nextExpectedVersion)).toEqual([0, 1]);
    expect(results[1]?.lastGlobalPosition).toBeGreaterThan(results[0]?.lastGlobalPosition ?? 0n);
    const rows = await eventsOf([name, key]);
    expect(rows.map((r) => [r.stream_id, r.type, r.metadata[AUDIT_RECORD_ID], r.metadata['actor']])).toEqual([
      [name, 'KeyNameReserved', audit.id, 'alice@example.com'],
      [key, 'KeyCreated', audit.id, 'alice@example.com'],
      [key, 'KeyVersionCreated', audit.id, 'alice@example.com'],
    ]);
    expect(await auditRows(audit.id)).toEqual([expect.objectContaining({ operation: 'CreateKey', outcome: 'SUCCESS', key_id: audit.keyId, details: { purpose: 'DATA_PROTECTION' } })]);
    expect(await idempotencyRows(audit.actor, idempotency.requestId)).toEqual([
      expect.objectContaining({ operation: 'CreateKey', request_hash: 'b'.repeat(64), audit_record_id: audit.id, outcome: { kind: 'response', response: '{"keyId":"k"}' } }),
    ]);
  });

  it('given a wrong expected version on the second stream, then WrongExpectedVersionError and nothing of the change: no events, no audit row, no idempotency row', async () => {
    const first = `keyname-${randomUUID()}`;
    const second = `key-${randomUUID()}`;
    await store.appendToStream(second, [event('KeyCreated')], { expectedVersion: 'no_stream' });
    const audit = record();
    const idempotency = entry(audit);

    const err = await errorOf(committer().commit({ writes: [write(first, 'no_stream', 'KeyNameReserved'), write(second, 'no_stream', 'KeyCreated')], audit, idempotency }));

    expect(err).toBeInstanceOf(WrongExpectedVersionError);
    expect(err).toMatchObject({ streamId: second, expected: 'no_stream', actual: 0 });
    expect(await eventsOf([first])).toEqual([]);
    expect((await eventsOf([second])).map((r) => r.type)).toEqual(['KeyCreated']);
    expect(await auditRows(audit.id)).toEqual([]);
    expect(await idempotencyRows(audit.actor, idempotency.requestId)).toEqual([]);
  });

  it('given a request id already committed, then DuplicateRequestError and nothing of the second change is committed', async () => {
    const firstAudit = record();
    const requestId = `client-${randomUUID()}`;
    await committer().commit({ writes: [write(`key-${randomUUID()}`, 'no_stream', 'KeyRotated')], audit: firstAudit, idempotency: entry(firstAudit, { requestId }) });
    const secondStream = `key-${randomUUID()}`;
    const secondAudit = record();

    const err = await errorOf(committer().commit({ writes: [write(secondStream, 'no_stream', 'KeyRotated')], audit: secondAudit, idempotency: entry(secondAudit, { requestId }) }));

    expect(err).toBeInstanceOf(DuplicateRequestError);
    expect(err).toMatchObject({ actor: 'alice@example.com', requestId });
    expect(await eventsOf([secondStream])).toEqual([]);
    expect(await auditRows(secondAudit.id)).toEqual([]);
    expect(await idempotencyRows('alice@example.com', requestId)).toEqual([expect.objectContaining({ audit_record_id: firstAudit.id })]);
  });

  it('given a malformed audit record (id not a UUID), then it is refused with INVALID_ARGUMENT before anything is written', async () => {
    const stream = `key-${randomUUID()}`;
    const audit = record({ id: 'not-a-uuid' });

    // Wrapped: commit currently throws this synchronously (see the next test).
    const err = await errorOf(Promise.resolve().then(() => committer().commit({ writes: [write(stream, 'no_stream', 'KeyCreated')], audit })));

    expect(err).toBeInstanceOf(KmsError);
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'id' });
    expect(await eventsOf([stream])).toEqual([]);
  });

  it('reports a malformed audit record as a rejected promise, like every other refusal of the ChangeCommitter port', async () => {
    let thrown: unknown;
    let returned: Promise<unknown> | undefined;
    try {
      returned = committer().commit({ writes: [write(`key-${randomUUID()}`, 'no_stream', 'KeyCreated')], audit: record({ id: 'not-a-uuid' }) });
    } catch (e) {
      thrown = e;
    }

    expect(thrown).toBeUndefined();
    await expect(returned).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'id' });
  });

  it('given the process fails just before COMMIT (beforeCommit hook throws), then nothing is committed and the pool still works', async () => {
    const stream = `key-${randomUUID()}`;
    const audit = record();
    const idempotency = entry(audit);

    await expect(
      committer(() => {
        throw new Error('killed before commit');
      }).commit({ writes: [write(stream, 'no_stream', 'KeyCreated')], audit, idempotency }),
    ).rejects.toThrow('killed before commit');

    expect(await eventsOf([stream])).toEqual([]);
    expect(await auditRows(audit.id)).toEqual([]);
    expect(await idempotencyRows(audit.actor, idempotency.requestId)).toEqual([]);
    const again = record();
    await committer().commit({ writes: [write(stream, 'no_stream', 'KeyCreated')], audit: again });
    expect((await eventsOf([stream])).map((r) => r.metadata[AUDIT_RECORD_ID])).toEqual([again.id]);
  });

  it('a subscription sees the committed events of changes in commit order, never those of a rolled-back change', async () => {
    const start = BigInt((await pool.query<{ p: string }>('SELECT coalesce(max(global_position), 0) AS p FROM events')).rows[0]?.p ?? '0');
    const seen: StoredEvent[] = [];
    const subscription = store.subscribeToAll({ fromPosition: start }, { onEvent: (e) => void seen.push(e) });
    const a = `key-${randomUUID()}`;
    const b = `key-${randomUUID()}`;
    const rolledBack = `key-${randomUUID()}`;
    const first = record();
    const second = record();

    await committer().commit({ writes: [write(a, 'no_stream', 'KeyCreated', 'KeyVersionCreated')], audit: first });
    await errorOf(committer().commit({ writes: [write(rolledBack, 'no_stream', 'KeyCreated'), write(a, 'no_stream', 'KeyCreated')], audit: record() }));
    await committer().commit({ writes: [write(b, 'no_stream', 'KeyCreated'), write(a, 1, 'KeyRotated')], audit: second });

    await until(() => seen.length >= 4, 'the committed events');
    // Long enough for a stray event of the rolled-back change to show up.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await subscription.stop();
    expect(seen.map((e) => [e.streamId, e.type, e.streamVersion, e.metadata[AUDIT_RECORD_ID]])).toEqual([
      [a, 'KeyCreated', 0, first.id],
      [a, 'KeyVersionCreated', 1, first.id],
      [b, 'KeyCreated', 0, second.id],
      [a, 'KeyRotated', 2, second.id],
    ]);
  });
});

describe('PostgresChangeStore', () => {
  const changes = () => new PostgresChangeStore(pool, testAuditSealer());

  function intent(createdAt: Date, overrides: Partial<AuditIntent> = {}): AuditIntent {
    const r = record({ time: createdAt });
    return { id: r.id, record: r, idempotency: entry(r), streams: [`key-${randomUUID()}`, `keyname-${randomUUID()}`], createdAt, ...overrides };
  }

  it('put, then pending(before) returns the intent with every field, only when created before the bound, oldest first', async () => {
    const older = intent(new Date('2030-01-01T00:00:00.000Z'));
    const { idempotency: _none, ...newer } = intent(new Date('2030-01-01T00:00:10.000Z'));
    await changes().put(newer);
    await changes().put(older);

    const due = (await changes().pending(new Date('2030-01-01T00:00:05.000Z'))).filter((i) => [older.id, newer.id].includes(i.id));
    const both = (await changes().pending(new Date('2030-01-01T00:01:00.000Z'))).filter((i) => [older.id, newer.id].includes(i.id));

    expect(due).toEqual([older]);
    expect(due[0]?.record.time).toBeInstanceOf(Date);
    expect(due[0]?.idempotency?.createdAt).toBeInstanceOf(Date);
    expect(both.map((i) => i.id)).toEqual([older.id, newer.id]);
    expect(both[1]).toEqual(newer);
    await changes().discard(older.id);
    await changes().discard(newer.id);
  });

  it('put refuses a malformed record before writing', async () => {
    const bad = intent(new Date(), { record: record({ outcome: 'MAYBE' as AuditRecord['outcome'] }) });
    await expect(changes().put(bad)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'outcome' });
    expect(await intentRows(bad.id)).toEqual([]);
  });

  it('complete writes the audit row and the idempotency row and drops the intent, in one transaction', async () => {
    const i = intent(new Date('2030-02-01T00:00:00.000Z'));
    await changes().put(i);
    const final = { ...i.record, details: { reconciled: true } };

    await changes().complete(i.id, final, i.idempotency);

    expect(await auditRows(i.id)).toEqual([expect.objectContaining({ operation: 'CreateKey', details: { reconciled: true } })]);
    expect(await intentRows(i.id)).toEqual([]);
    expect(await changes().find(i.record.actor, i.idempotency?.requestId ?? '')).toEqual(i.idempotency);
  });

  it('complete with an idempotency entry already present does not fail and keeps the first entry', async () => {
    const i = intent(new Date('2030-02-02T00:00:00.000Z'));
    const firstAudit = record();
    const first = entry(firstAudit, { requestId: i.idempotency?.requestId ?? '' });
    await committer().commit({ writes: [write(`key-${randomUUID()}`, 'no_stream', 'KeyRotated')], audit: firstAudit, idempotency: first });
    await changes().put(i);

    await changes().complete(i.id, i.record, i.idempotency);

    expect(await auditRows(i.id)).toHaveLength(1);
    expect(await intentRows(i.id)).toEqual([]);
    expect((await changes().find(i.record.actor, first.requestId))?.auditRecordId).toBe(firstAudit.id);
  });

  it('given complete fails (the audit record id is already stored), then the intent stays', async () => {
    const i = intent(new Date('2030-02-03T00:00:00.000Z'));
    await changes().put(i);
    await committer().commit({ writes: [write(`key-${randomUUID()}`, 'no_stream', 'KeyRotated')], audit: i.record });

    await expect(changes().complete(i.id, i.record, i.idempotency)).rejects.toThrow();

    expect(await intentRows(i.id)).toHaveLength(1);
    expect(await idempotencyRows(i.record.actor, i.idempotency?.requestId ?? '')).toEqual([]);
    await changes().discard(i.id);
  });

  it('discard drops the intent without an audit row', async () => {
    const i = intent(new Date('2030-03-01T00:00:00.000Z'));
    await changes().put(i);

    await changes().discard(i.id);

    expect(await intentRows(i.id)).toEqual([]);
    expect(await auditRows(i.id)).toEqual([]);
  });

  it('find returns the entry of that actor and request id only', async () => {
    const audit = record();
    const e = entry(audit, { outcome: { kind: 'error', code: 'APPROVAL_REQUIRED', message: 'approval required', field: 'key_id', facts: { approval_id: 'a-1' } } });
    await committer().commit({ writes: [write(`key-${randomUUID()}`, 'no_stream', 'KeyRotated')], audit, idempotency: e });

    expect(await changes().find(e.actor, e.requestId)).toEqual(e);
    expect(await changes().find('bob@example.com', e.requestId)).toBeUndefined();
    expect(await changes().find(e.actor, `client-${randomUUID()}`)).toBeUndefined();
  });

  it('prune(before) forgets entries created before the bound and keeps the others', async () => {
    const oldAudit = record({ time: new Date('2000-01-01T00:00:00.000Z') });
    const youngAudit = record({ time: new Date('2000-01-03T00:00:00.000Z') });
    const old = entry(oldAudit);
    const young = entry(youngAudit);
    await committer().commit({ writes: [write(`key-${randomUUID()}`, 'no_stream', 'KeyRotated')], audit: oldAudit, idempotency: old });
    await committer().commit({ writes: [write(`key-${randomUUID()}`, 'no_stream', 'KeyRotated')], audit: youngAudit, idempotency: young });

    const pruned = await changes().prune(new Date('2000-01-02T00:00:00.000Z'));

    expect(pruned).toBe(1);
    expect(await changes().find(old.actor, old.requestId)).toBeUndefined();
    expect(await changes().find(young.actor, young.requestId)).toEqual(young);
  });
});

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
