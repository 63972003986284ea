import { Logger } from '@nestjs/common';
import { Client, Pool, type PoolConfig } from 'pg';
import { DataSource, type MigrationInterface } from 'typeorm';
import { ensureAuditPartitions } from '../audit/audit-partitions';
import { grantServiceRole } from './service-role';
import { BOOTSTRAP_LOCKS, withSessionLock } from './session-lock';

/** How long the KMS waits on PostgreSQL before answering UNAVAILABLE (milliseconds). */
export interface PostgresTimeouts {
  /** Opening a connection. */
  connectMs: number;
  /** One statement, enforced by the server and, +1 s, by the client (a stopped server answers nothing). */
  statementMs: number;
  /** Waiting for a lock (row, table or advisory). */
  lockMs: number;
  /** A transaction left open by a client that went away. */
  idleInTransactionMs: number;
}

/** Bounded by default: a stalled database turns into UNAVAILABLE within seconds, never a hang. */
export const DEFAULT_POSTGRES_TIMEOUTS: PostgresTimeouts = { connectMs: 2000, statementMs: 5000, lockMs: 2000, idleInTransactionMs: 15_000 };

export interface PostgresTarget {
  /** postgres://user@host:port/database: what the services' pools connect with. */
  url: string;
  /** The owner role's URL, for migrations and schema creation. Default: `url` (one role for everything). */
  migrationUrl?: string;
  /** The services' role: after migrations it is granted exactly what the services need (see grantServiceRole). */
  serviceRole?: string;
  /** Schema every table lives in; created if missing. */
  schema: string;
  /** Connection, statement and lock timeouts; DEFAULT_POSTGRES_TIMEOUTS when absent. */
  timeouts?: Partial<PostgresTimeouts>;
}

function searchPathOption(schema: string): string {
  return `-c search_path=${schema}`;
}

/** How one pool reports a lost connection (a log line by default). */
export type PoolErrorListener = (error: Error) => void;

/**
 * The one way the KMS opens PostgreSQL connections: tagged with `application_name`, bounded by the
 * target's timeouts, TCP keep-alive on, and with every connection's 'error' handled. Unhandled, pg
 * emits a lost connection (PostgreSQL restarted, a backend terminated, a failover) as an 'error'
 * event that ends the process; handled, the query in flight fails, the pool drops the connection
 * and opens a new one on the next checkout, so the service answers UNAVAILABLE and recovers by itself.
 */
export function createPgPool(target: PostgresTarget, extra: PoolConfig & { onError?: PoolErrorListener } = {}): Pool {
  const { onError, ...config } = extra;
  const t = { ...DEFAULT_POSTGRES_TIMEOUTS, ...target.timeouts };
  const name = config.application_name ?? 'kms';
  const pool = new Pool({
    connectionString: target.url,
    options: `${searchPathOption(target.schema)} -c statement_timeout=${t.statementMs} -c lock_timeout=${t.lockMs} -c idle_in_transaction_session_timeout=${t.idleInTransactionMs}`,
    connectionTimeoutMillis: t.connectMs,
    query_timeout: t.statementMs + 1000,
    keepAlive: true,
    max: 10,
    ...config,
    application_name: name,
  });
  const logger = new Logger(name);
  const report: PoolErrorListener = onError ?? ((e) => logger.warn(`PostgreSQL connection lost: ${e.message}`));
  pool.on('error', report);
  // A checked-out client has no pool listener: without this one its connection loss would be fatal.
  pool.on('connect', (client) => client.on('error', report));
  return pool;
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
    // Under a lock: a concurrent CREATE DATABASE fails with unique_violation, not duplicate_database.
    await withSessionLock(admin, BOOTSTRAP_LOCKS.createDatabase, async () => {
      const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      if (found.rowCount === 0) await admin.query(`CREATE DATABASE "${database}"`);
    });
  } finally {
    await admin.end();
  }
}

/**
 * Apply TypeORM migrations to the target schema (created if missing), connected as the owner role
 * (`migrationUrl`, else `url`), then grant the service role its rights on every table of the
 * schema. Each adapter lib exports its own migrations; the composition root passes all of them.
 */
export async function runMigrations(target: PostgresTarget, migrations: Array<new () => MigrationInterface>): Promise<string[]> {
  const ownerUrl = target.migrationUrl ?? target.url;
  await ensureDatabase(ownerUrl);
  // One process at a time: TypeORM takes no lock, so two concurrent runs would both apply a migration.
  const lock = new Client({ connectionString: ownerUrl });
  await lock.connect();
  try {
    return await withSessionLock(lock, BOOTSTRAP_LOCKS.migrate, async () => {
      await lock.query(`CREATE SCHEMA IF NOT EXISTS "${target.schema}"`);
      const ds = new DataSource({
        type: 'postgres',
        url: ownerUrl,
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
        await partitionAuditAhead(ownerUrl, target.schema);
        if (target.serviceRole) await grantAfterMigrations(ownerUrl, target.schema, target.serviceRole);
        return applied.map((m) => m.name);
      } finally {
        await ds.destroy();
      }
    });
  } finally {
    await lock.end();
  }
}

/**
 * After every run, when audit_records is partitioned (PartitionAuditRecords): the partitions of this
 * month and the next ones, so the migrate step (and a one-role service's start) keeps them ahead.
 */
async function partitionAuditAhead(ownerUrl: string, schema: string): Promise<void> {
  const client = new Client({ connectionString: ownerUrl, options: searchPathOption(schema) });
  await client.connect();
  try {
    const { rows } = await client.query<{ fn: string | null }>(`SELECT to_regproc('kms_create_audit_partition')::text AS fn`);
    if (rows[0]?.fn) await ensureAuditPartitions(client, new Date());
  } finally {
    await client.end();
  }
}

/** Grants after every run, not in a migration: tables added by any later migration are covered too. */
async function grantAfterMigrations(ownerUrl: string, schema: string, role: string): Promise<void> {
  const client = new Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    await grantServiceRole(client, schema, role);
  } finally {
    await client.end();
  }
}

/** Drop a schema and everything in it (tests). */
export async function dropSchema(target: PostgresTarget): Promise<void> {
  const client = new Client({ connectionString: target.migrationUrl ?? target.url });
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

/**
 * A login role of one test file's own on the test database (roles are cluster-wide, so the name is
 * unique; the caller creates and drops it): its name and the test URL connecting as it, no password.
 */
export function uniqueTestRole(prefix: string): { role: string; url: string } {
  const role = `${prefix}_${process.pid}_${Math.floor(Math.random() * 1e6)}`;
  const u = new URL(testDatabaseUrl());
  u.username = role;
  u.password = '';
  return { role, url: u.toString() };
}

/** A unique schema name for one test file. */
export function uniqueTestSchema(prefix: string): string {
  return `t_${prefix.replace(/[^a-z0-9]/g, '_')}_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
}
