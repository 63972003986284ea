import { randomBytes, randomUUID } from 'node:crypto';
import { Client, type Pool } from 'pg';
import { auditProjectorMigrations } from '@kms/audit-projector';
import { detectorStateMigrations } from '@kms/anomaly-detector';
import { PostgresEventStore } from '@kms/event-store-postgres';
import { noticeMigrations } from '@kms/notices-kafka';
import { notificationMigrations } from '@kms/notifications';
import {
  createPgPool,
  dropSchema,
  grantServiceRole,
  PostgresAuditFeed,
  PostgresAuditLog,
  PostgresKeyMaterialStore,
  runMigrations,
  SERVICE_ROLE_PRIVILEGES,
  testDatabaseUrl,
  uniqueTestRole,
  uniqueTestSchema,
} from '@kms/persistence-postgres';
import { testAuditSealer } from '@kms/persistence-postgres/testing';
import { followerSnapshotMigrations } from '@kms/rotation-scheduler';
import { keyServiceMigrations } from './key-service.compose';
import { kmsMigrations } from './migrate/migrate-kms';

// Roles are cluster-wide: a name of this file's own, dropped after.
const { role, url: serviceUrl } = uniqueTestRole('kms_svc_t');
const ownerUrl = testDatabaseUrl();
const target = { url: serviceUrl, migrationUrl: ownerUrl, serviceRole: role, schema: uniqueTestSchema('service_role') };
// Every lib's migrations, listed here by hand: the migrate step must cover each (checked below).
const everyMigration = [...keyServiceMigrations, ...noticeMigrations, ...auditProjectorMigrations, ...detectorStateMigrations, ...followerSnapshotMigrations, ...notificationMigrations];

let owner: Client;
let service: Pool;

/** The SQLSTATE and message of a refused statement, or "allowed". */
async function attempt(sql: string): Promise<string> {
  return service.query(sql).then(
    () => 'allowed',
    (e: { code: string; message: string }) => `${e.code} ${e.message}`,
  );
}

beforeAll(async () => {
  owner = new Client({ connectionString: ownerUrl });
  await owner.connect();
  await owner.query(`CREATE ROLE "${role}" LOGIN NOSUPERUSER NOINHERIT`);
  await runMigrations(target, everyMigration);
  // The services' own connection, as the role (not the owner).
  service = createPgPool(target, { max: 2 });
});

afterAll(async () => {
  await service?.end();
  await dropSchema(target);
  await owner.query(`DROP OWNED BY "${role}"`);
  await owner.query(`DROP ROLE IF EXISTS "${role}"`);
  await owner.end();
});

describe('append-only storage: the service role', () => {
  it('connects as itself, not as the owner', async () => {
    const { rows } = await service.query<{ u: string; s: boolean }>('SELECT current_user AS u, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS s');
    expect(rows[0]).toEqual({ u: role, s: false });
  });

  it('appends and reads events and audit records through the real adapters', async () => {
    const store = new PostgresEventStore(service);
    // Sealing reserves positions with nextval: the role's USAGE on the sequence is enough.
    const audit = new PostgresAuditLog(service, testAuditSealer());
    const stream = `key-${randomUUID()}`;
    await store.appendToStream(stream, [{ id: randomUUID(), type: 'KeyCreated', data: { keyId: 'k' }, metadata: { actor: 'a' } }], { expectedVersion: 'no_stream' });
    // The first flush reads the head under the lock; the next ones go through kms_append_sealed_audit
    // (the role's own rights: INSERT, the sequence, tracked ciphertexts), and a ciphertext is tracked.
    const tracked = { keyId: randomUUID(), version: 1, ref: 'ab'.repeat(16) };
    for (const operation of ['Encrypt', 'Decrypt', 'Encrypt']) {
      await audit.append({ id: randomUUID(), time: new Date(), requestId: 'r', operation, actor: 'a', outcome: 'SUCCESS', ...(operation === 'Decrypt' ? { ciphertexts: { handedOut: tracked } } : {}) });
    }
    expect(audit.stats()).toMatchObject({ flushes: 3, failedFlushes: 0, resealedFlushes: 0 });
    await audit.close();
    expect((await store.readStream(stream)).events.map((e) => e.type)).toEqual(['KeyCreated']);
    expect((await service.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_records')).rows[0].n).toBe(3);
    expect((await service.query<{ n: number }>('SELECT count(*)::int AS n FROM tracked_ciphertexts')).rows[0].n).toBe(1);
    expect((await new PostgresAuditFeed(service, testAuditSealer()).readAfter(0n, 10)).map((r) => r.operation)).toEqual(['Encrypt', 'Decrypt', 'Encrypt']);
  });

  it('is refused UPDATE, DELETE and TRUNCATE of history by its grants, before any trigger', async () => {
    const refusals = await Promise.all(
      [
        `UPDATE events SET data = '{"keyId":"forged"}'`,
        'DELETE FROM events',
        'TRUNCATE events',
        `UPDATE audit_records SET outcome = 'DENIED'`,
        'DELETE FROM audit_records',
        'TRUNCATE audit_records',
      ].map(attempt),
    );
    // "permission denied for table": the privilege check, not the triggers' "history is append-only".
    expect(refusals).toEqual([
      '42501 permission denied for table events',
      '42501 permission denied for table events',
      '42501 permission denied for table events',
      '42501 permission denied for table audit_records',
      '42501 permission denied for table audit_records',
      '42501 permission denied for table audit_records',
    ]);
    const { rows } = await owner.query<{ t: string; p: string; has: boolean }>(
      `SELECT t, p, has_table_privilege($1, format('%I.%I', $2::text, t), p) AS has
         FROM unnest(ARRAY['events', 'audit_records']) AS t, unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) AS p ORDER BY 1, 2`,
      [role, target.schema],
    );
    expect(rows.filter((r) => r.has).map((r) => `${r.t}:${r.p}`)).toEqual(['audit_records:INSERT', 'audit_records:SELECT', 'events:INSERT', 'events:SELECT']);
  });

  it('has no rights on an audit partition itself: only through audit_records, append-only', async () => {
    expect(await attempt('SELECT count(*) FROM audit_records_default')).toBe('42501 permission denied for table audit_records_default');
    expect(await attempt('DELETE FROM audit_records_default')).toBe('42501 permission denied for table audit_records_default');
    expect(await attempt('TRUNCATE audit_records_default')).toBe('42501 permission denied for table audit_records_default');
    expect(await attempt('DROP TABLE audit_records_default')).toBe('42501 must be owner of table audit_records_default');
  });

  it('may not change the schema, the triggers or the position sequences', async () => {
    expect(await attempt('CREATE TABLE sneaky (x int)')).toMatch(/^42501 permission denied for schema/);
    expect(await attempt('ALTER TABLE events DISABLE TRIGGER events_append_only')).toBe('42501 must be owner of table events');
    expect(await attempt(`SELECT setval('events_global_position_seq', 1)`)).toBe('42501 permission denied for sequence events_global_position_seq');
  });

  it('still destroys key material: crypto-shredding deletes the wrapped key', async () => {
    const material = new PostgresKeyMaterialStore(service);
    const materialId = randomUUID();
    await material.put({ materialId, keyId: randomUUID(), version: 1, algorithm: 'AES_256_GCM', kekId: 'kek-1', wrapped: randomBytes(60), createdAt: new Date() });
    expect(await material.delete(materialId)).toBe(true);
    expect(await material.get(materialId)).toBeUndefined();
    // ... but cannot empty the table wholesale.
    expect(await attempt('TRUNCATE key_material')).toBe('42501 permission denied for table key_material');
  });

  it('has a decision for every table the migrations create (a new table must be placed in SERVICE_ROLE_PRIVILEGES)', async () => {
    // Partitions (of audit_records) are not tables of their own here: their parent's rights cover them.
    const { rows } = await owner.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1`,
      [target.schema],
    );
    expect(rows.map((r) => r.name)).toEqual(Object.keys(SERVICE_ROLE_PRIVILEGES).sort());
    // The migration bookkeeping: read (a service checks the migrate step ran), never written.
    expect(await attempt('SELECT count(*) FROM kms_migrations')).toBe('allowed');
    expect(await attempt(`DELETE FROM kms_migrations`)).toBe('42501 permission denied for table kms_migrations');
  });

  it('is what the migrate step applies: every migration of every service, nothing left to a service', () => {
    expect(kmsMigrations({ eventStore: { kind: 'postgres' } }).map((m) => m.name).sort()).toEqual(everyMigration.map((m) => m.name).sort());
  });

  it('grants again idempotently, and a missing role is skipped rather than failing the migration', async () => {
    await runMigrations(target, everyMigration);
    expect(await attempt('DELETE FROM events')).toBe('42501 permission denied for table events');
    expect(await grantServiceRole(owner, target.schema, `${role}_missing`)).toEqual({ skipped: expect.stringContaining('does not exist') });
    expect(await grantServiceRole(owner, target.schema, 'postgres')).toEqual({ skipped: expect.stringMatching(/migration role itself|superuser/) });
  });
});
