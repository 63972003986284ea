import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { auditMigrations, createPgPool, dropSchema, PostgresAuditLog, runMigrations, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';
import { testAuditSealer } from '@kms/persistence-postgres/testing';
import { eventStoreMigrations } from './events-table.migration';
import { PostgresEventStore } from './postgres-event-store';

const target = { url: testDatabaseUrl(), schema: uniqueTestSchema('append_only') };
let pool: Pool;

beforeAll(async () => {
  await runMigrations(target, [...eventStoreMigrations, ...auditMigrations]);
  pool = createPgPool(target, { max: 2 });
});

afterAll(async () => {
  await pool.end();
  await dropSchema(target);
});

describe('history is append-only in PostgreSQL', () => {
  it('refuses UPDATE, DELETE and TRUNCATE of events and audit records, naming the operation; inserts still work', async () => {
    const store = new PostgresEventStore(pool);
    const audit = new PostgresAuditLog(pool, testAuditSealer());
    await store.appendToStream(`key-${randomUUID()}`, [{ id: randomUUID(), type: 'KeyCreated', data: { keyId: 'k' }, metadata: { actor: 'a' } }], { expectedVersion: 'no_stream' });
    await audit.append({ id: randomUUID(), time: new Date(), requestId: 'r', operation: 'Encrypt', actor: 'a', outcome: 'SUCCESS' });
    await audit.close();

    const attempts = [
      `UPDATE events SET data = '{"keyId":"forged"}'`,
      'DELETE FROM events',
      'TRUNCATE events CASCADE',
      `UPDATE audit_records SET outcome = 'DENIED'`,
      'DELETE FROM audit_records',
      'TRUNCATE audit_records',
    ];
    const refusals: string[] = [];
    for (const sql of attempts) {
      refusals.push(await pool.query(sql).then(
        () => 'allowed',
        (e: { message: string; code: string }) => `${e.code} ${e.message}`,
      ));
    }
    expect(refusals).toEqual([
      '42501 kms: UPDATE of events is refused: history is append-only',
      '42501 kms: DELETE of events is refused: history is append-only',
      '42501 kms: TRUNCATE of events is refused: history is append-only',
      '42501 kms: UPDATE of audit_records is refused: history is append-only',
      '42501 kms: DELETE of audit_records is refused: history is append-only',
      '42501 kms: TRUNCATE of audit_records is refused: history is append-only',
    ]);
    expect((await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events')).rows[0].n).toBe(1);
    expect((await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_records')).rows[0].n).toBe(1);
  });
});
