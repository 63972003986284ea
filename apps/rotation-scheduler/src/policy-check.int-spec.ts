import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import type { NewEvent } from '@kms/event-store';
import { eventStoreMigrations, PostgresEventStore } from '@kms/event-store-postgres';
import { createPgPool, dropSchema, runMigrations, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';
import type { Pool } from 'pg';

const ROOT = resolve(__dirname, '../../..');
const SCRIPT = resolve(ROOT, 'scripts/policy-check.ts');
const T0 = Date.parse('2026-03-01T09:00:00.000Z');
const DAY = 86_400_000;
const day = (n: number): string => new Date(T0 + n * DAY).toISOString();

function run(schema: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, ...args], {
      cwd: ROOT,
      env: { ...process.env, KMS_DATABASE_URL: testDatabaseUrl(), KMS_DATABASE_SCHEMA: schema },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => done({ code, stdout, stderr }));
  });
}

/** Key events as the key service writes them. */
function created(keyId: string, name: string, purpose: string, periodDays: number, at: number): NewEvent[] {
  const metadata = { actor: 'admin', correlationId: randomUUID(), occurredAt: day(at) };
  return [
    {
      id: randomUUID(),
      type: 'KeyCreated',
      data: { keyId, tenant: 'acme', name, purpose, algorithm: 'AES_256_GCM', protectionLevel: 'SOFTWARE', labels: {}, owner: 'team', rotationPeriodDays: periodDays, policy: { grants: {} } },
      metadata,
    },
    { id: randomUUID(), type: 'KeyVersionCreated', data: { keyId, version: 1, algorithm: 'AES_256_GCM', protectionLevel: 'SOFTWARE', materialRef: 'm1', reason: 'INITIAL' }, metadata },
    { id: randomUUID(), type: 'PrimaryVersionChanged', data: { keyId, version: 1, previousVersion: null, reason: 'INITIAL' }, metadata },
  ];
}

function rotated(keyId: string, version: number, at: number): NewEvent[] {
  const metadata = { actor: 'rotation-scheduler', correlationId: randomUUID(), occurredAt: day(at) };
  return [
    { id: randomUUID(), type: 'KeyVersionCreated', data: { keyId, version, algorithm: 'AES_256_GCM', protectionLevel: 'SOFTWARE', materialRef: `m${version}`, reason: 'SCHEDULED' }, metadata },
    { id: randomUUID(), type: 'PrimaryVersionChanged', data: { keyId, version, previousVersion: version - 1, reason: 'SCHEDULED' }, metadata },
  ];
}

describe('scripts/policy-check.ts against PostgreSQL', () => {
  const url = testDatabaseUrl();
  const schema = uniqueTestSchema('policycheck');
  let pool: Pool;
  let store: PostgresEventStore;
  const envelope = randomUUID();
  const root = randomUUID();
  const breakGlass = randomUUID();

  beforeAll(async () => {
    await runMigrations({ url, schema }, eventStoreMigrations);
    pool = createPgPool({ url, schema }, { max: 2 });
    store = new PostgresEventStore(pool);
    await store.appendToStream(`key-${envelope}`, [...created(envelope, 'payments', 'SERVICE_ENVELOPE', 60, 0), ...rotated(envelope, 2, 55)], { expectedVersion: 'no_stream' });
    await store.appendToStream(`key-${root}`, [...created(root, 'tenant-root', 'ROOT_TENANT', 90, 0), ...rotated(root, 2, 1)], { expectedVersion: 'no_stream' });
    // Written before the 30-day limit existed in this form: the check must still catch it.
    await store.appendToStream(`key-${breakGlass}`, created(breakGlass, 'bg', 'BREAK_GLASS', 45, 0), { expectedVersion: 'no_stream' });
  });
  afterAll(async () => {
    await store.close();
    await pool.end();
    await dropSchema({ url, schema });
  });

  it('exits 1 listing the break-glass key whose period is longer than its purpose allows', async () => {
    const r = await run(schema, ['--now', day(10)]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('3 keys, 5 versions: 1 violation(s)');
    expect(r.stdout).toContain(`ROTATION_PERIOD_TOO_LONG ${breakGlass} (acme/bg, BREAK_GLASS): rotation period 45 days is longer than BREAK_GLASS allows (30 days)`);
  });

  it('exits 1 listing keys overdue for rotation and retired versions kept beyond retention, one per line', async () => {
    const r = await run(schema, ['--now', day(367)]);
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n').slice(1).map((l) => l.trim().split(' ').slice(0, 2).join(' '));
    expect(lines.sort()).toEqual(
      [
        `ROTATION_OVERDUE ${envelope}`,
        `RETENTION_EXCEEDED ${root}`,
        `ROTATION_OVERDUE ${root}`,
        `ROTATION_PERIOD_TOO_LONG ${breakGlass}`,
        `ROTATION_OVERDUE ${breakGlass}`,
      ].sort(),
    );
    expect(r.stdout).toMatch(new RegExp(`RETENTION_EXCEEDED ${root} \\(acme/tenant-root, ROOT_TENANT, v1\\): v1 retired at ${day(1)} is kept 1\\.0 days beyond its 365-day retention`));
  });

  it('exits 0 with a summary when nothing is wrong, and prints JSON for machines', async () => {
    const empty = uniqueTestSchema('policycheck_empty');
    try {
      const r = await run(empty, []);
      expect(r).toMatchObject({ code: 0 });
      expect(r.stdout).toMatch(/0 keys, 0 versions: OK, no violations/);
    } finally {
      await dropSchema({ url, schema: empty });
    }
    const json = await run(schema, ['--now', day(10), '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ keys: 3, versions: 5, violations: [{ code: 'ROTATION_PERIOD_TOO_LONG', keyId: breakGlass }] });
  });

  it('tolerates deadlines within --grace-hours', async () => {
    // The envelope key was rotated at day 55: due day 115.
    const at = new Date(Date.parse(day(115)) + 3 * 3_600_000).toISOString();
    const strict = await run(schema, ['--now', at]);
    expect(strict.stdout).toContain(`ROTATION_OVERDUE ${envelope}`);
    const lenient = await run(schema, ['--now', at, '--grace-hours', '4']);
    expect(lenient.stdout).not.toContain(`ROTATION_OVERDUE ${envelope}`);
  });

  it('exits 2 on bad usage and when the database cannot be read, without echoing the URL', async () => {
    expect((await run(schema, ['--now', 'yesterday'])).code).toBe(2);
    const r = await new Promise<{ code: number | null; stderr: string }>((done) => {
      const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT], {
        cwd: ROOT,
        env: { ...process.env, KMS_DATABASE_URL: 'postgres://kms:hunter2@127.0.0.1:1/kms', KMS_DATABASE_SCHEMA: schema },
      });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('exit', (code) => done({ code, stderr }));
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('policy-check: could not read the event store');
    expect(r.stderr).not.toContain('hunter2');
  });
});
