import { withTimeout, type HealthCheck } from './health-check';

/** The part of a pg Pool (or Client) the check needs. */
export interface QueryablePostgres {
  query(text: string): Promise<unknown>;
}

export interface DependencyCheckOptions {
  /** Check name, unique in the process. */
  name?: string;
  /** Default 2000 ms. */
  timeoutMs?: number;
}

/** Ready when `SELECT 1` answers in time. */
export function postgresCheck(pool: QueryablePostgres, options: DependencyCheckOptions = {}): HealthCheck {
  const timeoutMs = options.timeoutMs ?? 2000;
  return {
    name: options.name ?? 'postgres',
    async check() {
      await withTimeout(pool.query('SELECT 1'), timeoutMs);
    },
  };
}
