import { createPgPool, type PostgresTarget } from '@kms/persistence-postgres';
import { Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import { describeCheckError } from '../health/health-check';

/**
 * A pg pool tagged with `application_name` (visible in pg_stat_activity) whose idle-connection
 * errors are logged: unhandled, pg emits them as an 'error' event that would kill the process.
 * Connections open lazily, so an unreachable database fails /readyz rather than boot.
 */
export function createPostgresPool(target: PostgresTarget, applicationName: string): Pool {
  const pool = createPgPool(target, { application_name: applicationName });
  const logger = new Logger(applicationName);
  pool.on('error', (e) => logger.warn(`idle PostgreSQL connection lost: ${describeCheckError(e)}`));
  return pool;
}
