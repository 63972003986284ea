import { Client } from 'pg';
import { auditMigrations } from '../audit/audit-records.migration';
import { keyMaterialMigrations } from '../key-material/key-material.migration';
import { ensureDatabase, runMigrations, testDatabaseUrl, uniqueTestRole } from './postgres-connection';
import { ensureLoginRole } from './service-role';

// Processes that start together on an empty cluster (standalone mode's services, replicas, test
// workers) all find the database, role and tables missing. Each bootstrap step must let exactly one
// of them create the thing and the others go on, never fail on the other's creation.
const RACERS = 6;
const suffix = `${process.pid}_${Math.floor(Math.random() * 1e6)}`;
const database = `kms_race_${suffix}`;
const url = Object.assign(new URL(testDatabaseUrl()), { pathname: `/${database}` }).toString();
const { role } = uniqueTestRole('kms_race_role');
const maintenance = Object.assign(new URL(testDatabaseUrl()), { pathname: '/postgres' }).toString();

async function onMaintenance<T>(work: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: maintenance });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

afterAll(async () => {
  await onMaintenance(async (c) => {
    await c.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    await c.query(`DROP ROLE IF EXISTS "${role}"`);
  });
});

describe('bootstrap steps run by several processes at once', () => {
  it('creates a missing database once, every caller succeeds', async () => {
    const results = await Promise.allSettled(Array.from({ length: RACERS }, () => ensureDatabase(url)));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const { rows } = await onMaintenance((c) => c.query('SELECT count(*)::int AS n FROM pg_database WHERE datname = $1', [database]));
    expect(rows[0].n).toBe(1);
  });

  it('applies every migration exactly once on an empty schema, every caller succeeds', async () => {
    const migrations = [...auditMigrations, ...keyMaterialMigrations];
    const schema = 'raced';
    const results = await Promise.allSettled(Array.from({ length: RACERS }, () => runMigrations({ url, schema }, migrations)));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    // Exactly one caller applied them; the others found nothing left to do.
    const applied = results.map((r) => (r.status === 'fulfilled' ? r.value.length : -1));
    expect(applied.filter((n) => n === migrations.length)).toHaveLength(1);
    expect(applied.filter((n) => n === 0)).toHaveLength(RACERS - 1);
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ name: string; n: number }>(`SELECT name, count(*)::int AS n FROM "${schema}".kms_migrations GROUP BY name`);
      expect(rows).toHaveLength(migrations.length);
      expect(rows.every((r) => r.n === 1)).toBe(true);
    } finally {
      await client.end();
    }
  });

  it('creates a missing login role once, exactly one caller reports it created', async () => {
    const created = await Promise.all(Array.from({ length: RACERS }, () => onMaintenance((c) => ensureLoginRole(c, role))));
    expect(created.filter(Boolean)).toHaveLength(1);
    const { rows } = await onMaintenance((c) => c.query('SELECT rolcanlogin FROM pg_roles WHERE rolname = $1', [role]));
    expect(rows).toEqual([{ rolcanlogin: true }]);
  });
});
