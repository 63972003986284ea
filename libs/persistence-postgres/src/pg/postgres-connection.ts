import { Client, Pool, type PoolConfig } from 'pg';
import { DataSource, type MigrationInterface } from 'typeorm';

export interface PostgresTarget {
  /** postgres://user@host:port/database */
  url: string;
  /** Schema every table lives in; created if missing. */
  schema: string;
}

function searchPathOption(schema: string): string {
  return `-c search_path=${schema}`;
}

/** A pg pool whose connections use the target schema. */
export function createPgPool(target: PostgresTarget, extra: PoolConfig = {}): Pool {
  return new Pool({ connectionString: target.url, options: searchPathOption(target.schema), max: 10, ...extra });
}

/** Create the database named in the URL if it does not exist (standalone first start, tests). */
export async function ensureDatabase(url: string): Promise<void> {
  const u = new URL(url);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(database)) throw new Error(`database name "${database}" is not a plain identifier`);
  u.pathname = '/postgres';
  const admin = new Client({ connectionString: u.toString() });
  await admin.connect();
  try {
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) {
      try {
        await admin.query(`CREATE DATABASE "${database}"`);
      } catch (e) {
        // Another process created it meanwhile.
        if ((e as { code?: string }).code !== '42P04') throw e;
      }
    }
  } finally {
    await admin.end();
  }
}

/**
 * Apply TypeORM migrations to the target schema (created if missing). Each adapter lib exports its
 * own migrations; the composition root passes all of them.
 */
export async function runMigrations(target: PostgresTarget, migrations: Array<new () => MigrationInterface>): Promise<string[]> {
  await ensureDatabase(target.url);
  const client = new Client({ connectionString: target.url });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${target.schema}"`);
  } finally {
    await client.end();
  }
  const ds = new DataSource({
    type: 'postgres',
    url: target.url,
    schema: target.schema,
    extra: { options: searchPathOption(target.schema) },
    migrations,
    migrationsTableName: 'kms_migrations',
    migrationsTransactionMode: 'each',
    logging: false,
  });
  await ds.initialize();
  try {
    const applied = await ds.runMigrations();
    return applied.map((m) => m.name);
  } finally {
    await ds.destroy();
  }
}

/** Drop a schema and everything in it (tests). */
export async function dropSchema(target: PostgresTarget): Promise<void> {
  const client = new Client({ connectionString: target.url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${target.schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** Test database URL: KMS_TEST_DATABASE_URL or the local kms_test database. */
export function testDatabaseUrl(): string {
  return process.env['KMS_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/kms_test';
}

/** A unique schema name for one test file. */
export function uniqueTestSchema(prefix: string): string {
  return `t_${prefix.replace(/[^a-z0-9]/g, '_')}_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
}
