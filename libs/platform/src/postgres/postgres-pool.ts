import { createPgPool, type PostgresTarget } from '@kms/persistence-postgres';
import type { Pool } from 'pg';

/**
 * A pg pool tagged with `application_name` (visible in pg_stat_activity). Connections open lazily,
 * so an unreachable database fails /readyz rather than boot; lost connections are logged and
 * replaced (see createPgPool).
 */
export function createPostgresPool(target: PostgresTarget, applicationName: string): Pool {
  return createPgPool(target, { application_name: applicationName });
}
