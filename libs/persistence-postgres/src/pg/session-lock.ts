import type { ClientBase } from 'pg';

/**
 * Advisory lock keys of the bootstrap steps. Database, role and schema creation plus migrations
 * are check-then-create: two processes starting together on an empty cluster (standalone mode's
 * services, several replicas, a test run) both see "missing" and one of them fails with a
 * unique-violation that no IF NOT EXISTS prevents. Each step runs under its own lock instead.
 */
export const BOOTSTRAP_LOCKS = {
  /** Taken on the maintenance database: databases are cluster-wide. */
  createDatabase: 7_313_370_101,
  /** Taken on the maintenance database: roles are cluster-wide. */
  createRole: 7_313_370_102,
  /** Taken on the target database: schema creation, migrations and grants, one process at a time. */
  migrate: 7_313_370_103,
} as const;

/** How long a bootstrap step waits for another process's run of it before giving up. */
export const BOOTSTRAP_LOCK_WAIT_MS = 120_000;

/**
 * Run `work` while holding the session-level advisory lock `key` on `client` (advisory locks are
 * scoped to the client's database). Waits at most `waitMs`; the lock is released even if `work` fails.
 */
export async function withSessionLock<T>(client: ClientBase, key: number, work: () => Promise<T>, waitMs = BOOTSTRAP_LOCK_WAIT_MS): Promise<T> {
  await client.query(`SET lock_timeout = ${Math.max(1, Math.floor(waitMs))}`);
  await client.query('SELECT pg_advisory_lock($1)', [key]);
  try {
    return await work();
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [key]).catch(() => undefined);
  }
}
