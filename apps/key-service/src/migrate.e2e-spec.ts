// The migrate step and a key service that never holds the owner's URL, as separate processes the way
// the deployments run them (compose's kms-init, then key-service with KMS_DATABASE_URL only).
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { createKmsClient } from '@kms/contracts';
import { AUDIT_SEAL_KEY_PURPOSE, MasterKey } from '@kms/key-backend-software';
import {
  auditMigrations,
  AuditSealer,
  createPgPool,
  dropSchema,
  migrationName,
  PostgresAuditFeed,
  runMigrations,
  testDatabaseUrl,
  uniqueTestRole,
  uniqueTestSchema,
} from '@kms/persistence-postgres';
import { REPO_ROOT } from '@kms/testing';
import { eventStoreMigrations, IndexEventsByStreamPrefix1796740000000 } from '@kms/event-store-postgres';
import { keyServiceMigrations } from './key-service.compose';
import { freePort, killHard, type KeyServiceProcess, processPeople, spawnKeyService, waitForGrpc } from './testing/key-service-process';

const run = promisify(execFile);
const MIGRATE = resolve(__dirname, 'migrate.ts');

// Roles are cluster-wide: a name of this file's own, dropped after. Both URLs carry a password (the
// test database's trust authentication ignores it) so the test can show none is ever printed.
const { role, url } = uniqueTestRole('kms_svc_migrate');
const servicePassword = 'service-password-never-printed';
const ownerPassword = 'owner-password-never-printed';
const serviceUrl = Object.assign(new URL(url), { password: servicePassword }).toString();
const ownerUrl = Object.assign(new URL(testDatabaseUrl()), { password: ownerPassword }).toString();
const schema = uniqueTestSchema('e2e_migrate');
const masterKeyBase64 = randomBytes(32).toString('base64');
const auditSealer = new AuditSealer(MasterKey.fromBytes(Buffer.from(masterKeyBase64, 'base64')).derive(AUDIT_SEAL_KEY_PURPOSE));

describe('migrate step (owner) and a service that only checks (service role)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kms-migrate-'));
  // Exactly what a service container gets: its own URL, the role's name, never KMS_MIGRATION_DATABASE_URL.
  const serviceEnv = {
    KMS_DATABASE_URL: serviceUrl,
    KMS_DATABASE_SERVICE_ROLE: role,
    KMS_DATABASE_SCHEMA: schema,
    KMS_MASTER_KEY: masterKeyBase64,
    KMS_STATE_DIR: join(dir, 'state'),
    KMS_BOOTSTRAP_CREDENTIAL_FILE: join(dir, 'bootstrap-admin.json'),
  };
  let owner: Client;
  let svc: KeyServiceProcess | undefined;

  const startService = async () => spawnKeyService(serviceEnv, { grpc: await freePort(), http: await freePort() });
  const migrate = () =>
    run(process.execPath, ['--import', 'tsx', MIGRATE], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...serviceEnv, KMS_MIGRATION_DATABASE_URL: ownerUrl, KMS_SEAL_EXISTING_HISTORY: 'true', NO_COLOR: '1' },
      timeout: 120_000,
    });
  const operations = async () => (await owner.query<{ operation: string }>(`SELECT operation FROM "${schema}".audit_records ORDER BY "position"`)).rows.map((r) => r.operation);

  beforeAll(async () => {
    // Nothing in this test's own environment may hand the service the owner's URL.
    delete process.env['KMS_MIGRATION_DATABASE_URL'];
    owner = new Client({ connectionString: testDatabaseUrl() });
    await owner.connect();
    await owner.query(`CREATE ROLE "${role}" LOGIN NOSUPERUSER NOINHERIT`);
  });

  afterAll(async () => {
    await killHard(svc);
    await dropSchema({ url: testDatabaseUrl(), schema });
    await owner.query(`DROP OWNED BY "${role}"`);
    await owner.query(`DROP ROLE IF EXISTS "${role}"`);
    await owner.end();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses to start on an un-migrated schema, naming every missing migration and the command, and creates nothing', async () => {
    const refused = await startService();
    expect(await refused.exited).toEqual({ code: 1, signal: null });
    const output = refused.output();
    for (const name of keyServiceMigrations.map(migrationName)) expect(output).toContain(name);
    expect(output).toContain('npx tsx apps/key-service/src/migrate.ts');
    expect(output).not.toContain(servicePassword);
    expect((await owner.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).rowCount).toBe(0);
  });

  it('refuses a schema an older version migrated, naming only what is missing', async () => {
    // An older deployment: events (without the stream-prefix index) and audit records only, written before sealing.
    const olderEventStore = eventStoreMigrations.filter((m) => m !== IndexEventsByStreamPrefix1796740000000);
    await runMigrations({ url: testDatabaseUrl(), serviceRole: role, schema }, [...olderEventStore, ...auditMigrations]);
    await owner.query(`INSERT INTO "${schema}".audit_records (id, "time", request_id, operation, actor, outcome) VALUES ($1, now(), 'r', 'CreateKey', 'alice', 'SUCCESS')`, [randomUUID()]);
    const refused = await startService();
    expect(await refused.exited).toEqual({ code: 1, signal: null });
    expect(refused.output()).toMatch(/missing the migrations IndexEventsByStreamPrefix1796740000000, CreateKeyMaterial1795359260616, CreateChangeTables1796000000000, CreateSecondFactors1796400000000, CreateConsoleSessions1796500000000, CreateImportParameters1796414400000, CreateEscrowCeremonyKeys1796600000000, CreateKeySnapshots1796730000000, CreateKeySnapshotBuild1796770000000;/);
  });

  it('the migrate step applies every migration as the owner and seals the older history on the record, without printing a password', async () => {
    const first = await migrate();
    const printed = first.stdout + first.stderr;
    expect(printed).toContain('CreateKeyMaterial1795359260616');
    expect(printed).toContain('sealed 0 events and 1 audit records written before sealing (audited as SealExistingHistory)');
    expect(printed).not.toContain(ownerPassword);
    expect(printed).not.toContain(servicePassword);
    // The upgrade is in the audit trail, and the whole trail reads back verified under the service's seal key.
    expect(await operations()).toEqual(['CreateKey', 'SealExistingHistory']);
    const pool = createPgPool({ url: testDatabaseUrl(), schema }, { max: 1 });
    try {
      const records = await new PostgresAuditFeed(pool, auditSealer).readAfter(0n, 10);
      expect(records.map((r) => [r.operation, r.actor, r.details ?? null])).toEqual([
        ['CreateKey', 'alice', null],
        ['SealExistingHistory', 'system:seal-history', { events: 0, auditRecords: 1 }],
      ]);
    } finally {
      await pool.end();
    }
    // Idempotent: nothing left to apply or seal, so nothing more is recorded.
    const again = await migrate();
    expect(again.stdout + again.stderr).toContain(`schema ${schema} is up to date`);
    expect(await operations()).toEqual(['CreateKey', 'SealExistingHistory']);
  });

  it('then the service starts as the service role with no owner URL in its environment, and serves', async () => {
    svc = await startService();
    await waitForGrpc(svc, 60_000);
    const environ = readFileSync(`/proc/${svc.pid}/environ`, 'utf8').split('\0');
    expect(environ.filter((v) => v.startsWith('KMS_MIGRATION_DATABASE_URL='))).toEqual([]);
    expect(environ.filter((v) => v.includes(ownerPassword))).toEqual([]);
    // Its first start wrote the bootstrap administrator (events and audit records) as the role.
    // The administrator enrols and signs in (second-factor tables, written as the role too), then calls.
    const { people, admin } = await processPeople(serviceEnv.KMS_BOOTSTRAP_CREDENTIAL_FILE, svc.httpPort);
    const { accessToken } = await people.signIn(admin.identity_id);
    const client = createKmsClient(svc.grpcAddress);
    try {
      await expect(client.call('ListKeys', {}, { token: accessToken })).resolves.toHaveProperty('keys');
    } finally {
      client.close();
    }
    const sessions = await owner.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1 AND application_name = 'kms-key-service'`, [role]);
    expect(sessions.rows[0].n).toBeGreaterThan(0);
    expect(await operations()).toEqual(expect.arrayContaining(['CreateKey', 'SealExistingHistory', 'CreateEnrolmentLink', 'SignIn', 'ListKeys']));
  });
});
