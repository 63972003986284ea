import { Redis } from 'ioredis';
import { Client } from 'pg';

/**
 * Redis connections named `name` (CLIENT SETNAME) on the database index that `url` selects, as Redis
 * itself sees them. Other test files run the same services at the same time under the same names, so
 * a count only means something on a database index of the caller's own: see {@link ownRedisUrl}.
 */
export async function redisConnectionsNamed(url: string, name: string): Promise<number> {
  const db = redisDatabaseOf(url);
  const probe = new Redis(url);
  try {
    const list = (await probe.call('CLIENT', 'LIST')) as string;
    return list.split('\n').filter((line) => line.includes(` name=${name} `) && line.includes(` db=${db} `)).length;
  } finally {
    probe.disconnect();
  }
}

/** `url` moved to database index `db` (1–15; 0 is where the other tests and standalone run). */
export function ownRedisUrl(url: string, db: number): string {
  if (!Number.isInteger(db) || db < 1 || db > 15) throw new Error(`db must be an integer from 1 to 15, got ${db}`);
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

function redisDatabaseOf(url: string): number {
  const path = new URL(url).pathname.replace(/^\//, '');
  return path === '' ? 0 : Number(path);
}

/**
 * PostgreSQL connections with `application_name = name` to the database that `url` names, as
 * PostgreSQL itself sees them (pg_stat_activity). As with Redis, confine a count to a database of the
 * caller's own ({@link ownDatabaseUrl}).
 */
export async function postgresConnectionsNamed(url: string, name: string): Promise<number> {
  const probe = new Client({ connectionString: url });
  await probe.connect();
  try {
    const { rows } = await probe.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()',
      [name],
    );
    return rows[0].n;
  } finally {
    await probe.end();
  }
}

/** `url` moved to a database named `prefix_<pid>` (create it with ensureDatabase, drop it with dropOwnDatabase). */
export function ownDatabaseUrl(url: string, prefix: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(prefix)) throw new Error(`prefix must be a lower-case identifier, got "${prefix}"`);
  const u = new URL(url);
  u.pathname = `/${prefix}_${process.pid}`;
  return u.toString();
}

/** Drop the database that `url` names, closing its connections first. */
export async function dropOwnDatabase(url: string): Promise<void> {
  const u = new URL(url);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  u.pathname = '/postgres';
  const admin = new Client({ connectionString: u.toString() });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${database.replace(/"/g, '""')}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}
