import { Client } from 'pg';
import type { MigrationInterface } from 'typeorm';
import { type PostgresTarget, runMigrations } from './postgres-connection';

/** The command that applies every KMS migration as the owner (named in the refusal below). */
export const MIGRATE_COMMAND = 'npx tsx apps/key-service/src/migrate.ts';

/** The name TypeORM records in `kms_migrations` for a migration class (its `name`, else the class name). */
export function migrationName(migration: new () => MigrationInterface): string {
  return new migration().name ?? migration.name;
}

/** A URL fit for a message: the user, host and database, never the password. */
export function describeDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.username ? `${decodeURIComponent(u.username)}@` : ''}${u.host}${u.pathname}`;
  } catch {
    return '(unparseable URL)';
  }
}

/** A service found its schema short of the migrations it needs, and may not apply them itself. */
export class MigrationsMissingError extends Error {
  constructor(
    readonly schema: string,
    readonly missing: string[],
  ) {
    super(
      `schema "${schema}" is missing the migrations ${missing.join(', ')}; this service connects as the service role and does not migrate: ` +
        `run the migrate step first (${MIGRATE_COMMAND}, or the provision step kms-init / Job kms-provision, which runs it) ` +
        `with KMS_MIGRATION_DATABASE_URL set to the owner role`,
    );
    this.name = 'MigrationsMissingError';
  }
}

/**
 * Which of `migrations` are not recorded in the target schema's `kms_migrations`, read as the
 * services' role (`url`; it may SELECT the table and nothing more). All of them when the schema or
 * the table does not exist yet.
 */
export async function missingMigrations(target: PostgresTarget, migrations: Array<new () => MigrationInterface>): Promise<string[]> {
  const wanted = migrations.map(migrationName);
  const client = new Client({ connectionString: target.url, connectionTimeoutMillis: target.timeouts?.connectMs ?? 2000 });
  try {
    await client.connect();
  } catch (e) {
    // The database itself is not there yet: nothing was migrated.
    if ((e as { code?: string }).code === '3D000') return wanted;
    throw e;
  }
  try {
    const table = await client.query<{ t: string | null }>(`SELECT to_regclass(format('%I.kms_migrations', $1::text))::text AS t`, [target.schema]);
    if (!table.rows[0]?.t) return wanted;
    const { rows } = await client.query<{ name: string }>(`SELECT name FROM ${table.rows[0].t}`);
    const applied = new Set(rows.map((r) => r.name));
    return wanted.filter((name) => !applied.has(name));
  } catch (e) {
    // Not granted yet (a schema migrated before services checked, or never granted): the migrate step grants it.
    if ((e as { code?: string }).code === '42501') {
      throw new Error(`the service role may not read the migrations of schema "${target.schema}" (${(e as Error).message}): run the migrate step (${MIGRATE_COMMAND}), which grants it`);
    }
    throw e;
  } finally {
    await client.end();
  }
}

/**
 * Whether a process migrates at start: only when one role does everything (dev, tests). When a
 * separate service role is in use — an owner URL other than `url` is configured, or `url` connects
 * as `serviceRole` — migrations belong to the migrate step and the process only checks.
 */
export async function migratesAtStart(target: PostgresTarget): Promise<boolean> {
  if (target.migrationUrl !== undefined && target.migrationUrl !== target.url) return false;
  if (!target.serviceRole) return true;
  const user = decodeURIComponent(new URL(target.url).username);
  if (user) return user !== target.serviceRole;
  // No user in the URL (PGUSER or the OS user): ask the server who we are.
  const client = new Client({ connectionString: target.url, connectionTimeoutMillis: target.timeouts?.connectMs ?? 2000 });
  await client.connect();
  try {
    const { rows } = await client.query<{ me: string }>('SELECT current_user AS me');
    return rows[0]?.me !== target.serviceRole;
  } finally {
    await client.end();
  }
}

/**
 * What every service does with its migrations at start: with one role for everything, apply them
 * (as before); with a separate service role, check they were applied by the migrate step and refuse
 * to start (MigrationsMissingError, naming them and the command) otherwise.
 */
export async function prepareSchema(target: PostgresTarget, migrations: Array<new () => MigrationInterface>): Promise<'migrated' | 'checked'> {
  if (await migratesAtStart(target)) {
    await runMigrations(target, migrations);
    return 'migrated';
  }
  const missing = await missingMigrations(target, migrations);
  if (missing.length > 0) throw new MigrationsMissingError(target.schema, missing);
  return 'checked';
}
