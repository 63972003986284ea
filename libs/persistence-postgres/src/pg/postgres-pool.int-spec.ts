import { Logger } from '@nestjs/common';
import { Client, DatabaseError, type Pool, type PoolClient } from 'pg';
import { createPgPool, dropSchema, type PostgresTarget, type PostgresTimeouts, runMigrations, testDatabaseUrl, uniqueTestSchema } from './postgres-connection';

/*
 * Without a handled 'error', pg turns a lost connection into an uncaught exception; jest reports that
 * as a failure of the running test, so every test below also fails if createPgPool stops handling it.
 */

const target: PostgresTarget = { url: testDatabaseUrl(), schema: uniqueTestSchema('pg_pool') };
const pools: Pool[] = [];
const LOCK_KEY = 918_273_645;

function pool(timeouts: Partial<PostgresTimeouts> = {}, extra: Parameters<typeof createPgPool>[1] = {}): Pool {
  const p = createPgPool({ ...target, timeouts }, { max: 2, ...extra });
  pools.push(p);
  return p;
}

/** A plain connection outside the pool under test (the "other session", the operator). */
async function admin<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: target.url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function backendPid(c: Pool | PoolClient): Promise<number> {
  return (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid as number;
}

async function terminate(pid: number): Promise<void> {
  const r = await admin((c) => c.query<{ ok: boolean }>('SELECT pg_terminate_backend($1) AS ok', [pid]));
  expect(r.rows[0]?.ok).toBe(true);
}

async function failureOf(p: Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = Date.now();
  try {
    await p;
  } catch (error) {
    return { error, ms: Date.now() - started };
  }
  throw new Error('expected the query to fail, but it succeeded');
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  await runMigrations(target, []);
});

afterEach(() => jest.restoreAllMocks());

afterAll(async () => {
  await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
  await dropSchema(target);
});

describe('createPgPool', () => {
  it('given statementMs 500, then a 10 s statement fails with a statement timeout well before the sleep would end, and the pool still serves', async () => {
    const p = pool({ statementMs: 500 });

    const { error, ms } = await failureOf(p.query('SELECT pg_sleep(10)'));

    expect(error).toBeInstanceOf(DatabaseError);
    expect(error).toMatchObject({ code: '57014', message: expect.stringContaining('statement timeout') });
    expect(ms).toBeGreaterThanOrEqual(400);
    expect(ms).toBeLessThan(5_000);
    expect((await p.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('given lockMs 300, then waiting on a lock held by another connection fails with lock_timeout (55P03), not after the statement timeout', async () => {
    const p = pool({ lockMs: 300, statementMs: 20_000 });
    const holder = await p.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);

      const { error, ms } = await failureOf(p.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]));

      expect(error).toBeInstanceOf(DatabaseError);
      expect(error).toMatchObject({ code: '55P03' });
      expect(ms).toBeLessThan(10_000);
    } finally {
      await holder.query('SELECT pg_advisory_unlock_all()');
      holder.release();
    }
  });

  it('given a transaction left idle longer than idleInTransactionMs, then the server ends it and the pool recovers', async () => {
    const onError = jest.fn();
    const p = pool({ idleInTransactionMs: 300 }, { max: 1, onError });
    const client = await p.connect();
    await client.query('BEGIN');

    await pause(1_500);
    await expect(client.query('SELECT 1')).rejects.toThrow();
    client.release(true);

    expect(onError).toHaveBeenCalled();
    expect((await p.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('sets application_name on every connection (visible in pg_stat_activity)', async () => {
    const name = `kms-pool-int-${process.pid}`;
    const p = pool({}, { application_name: name });
    const pid = await backendPid(p);

    const seen = await admin((c) => c.query<{ application_name: string }>('SELECT application_name FROM pg_stat_activity WHERE pid = $1', [pid]));

    expect(seen.rows).toEqual([{ application_name: name }]);
  });

  it('applies the timeouts and the schema to the session', async () => {
    const p = pool({ statementMs: 1_234, lockMs: 567, idleInTransactionMs: 8_900 });
    const r = await p.query<Record<string, string>>(
      "SELECT current_setting('statement_timeout') AS st, current_setting('lock_timeout') AS lt, current_setting('idle_in_transaction_session_timeout') AS it, current_setting('search_path') AS sp",
    );
    expect(r.rows[0]).toEqual({ st: '1234ms', lt: '567ms', it: '8900ms', sp: target.schema });
  });

  describe('when the server ends a connection', () => {
    it('given an idle pooled connection is terminated, then the loss is logged, the process lives on and the next query succeeds on a new connection', async () => {
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      const p = pool({}, { max: 1, application_name: 'kms-pool-int-idle' });
      const pid = await backendPid(p);

      await terminate(pid);
      await pause(300);

      expect(warn).toHaveBeenCalledWith(expect.stringContaining('PostgreSQL connection lost'));
      const next = await backendPid(p);
      expect(next).not.toBe(pid);
    });

    it('given a checked-out connection is terminated, then its error is handled, its holder sees the query fail, and the pool serves the next query', async () => {
      const onError = jest.fn();
      const p = pool({}, { max: 1, onError });
      const client = await p.connect();
      const pid = await backendPid(client);

      await terminate(pid);
      await pause(300);

      expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: expect.stringMatching(/terminat/i) }));
      await expect(client.query('SELECT 1')).rejects.toThrow();
      client.release();
      const next = await backendPid(p);
      expect(next).not.toBe(pid);
    });

    it('given a connection is terminated in the middle of a statement, then that statement fails and the pool serves the next one', async () => {
      const onError = jest.fn();
      const p = pool({ statementMs: 20_000 }, { max: 1, onError });
      const pid = await backendPid(p);
      const running = failureOf(p.query('SELECT pg_sleep(10)'));
      await pause(200);

      await terminate(pid);
      const { ms } = await running;

      expect(ms).toBeLessThan(5_000);
      expect(await backendPid(p)).not.toBe(pid);
    });
  });
});
