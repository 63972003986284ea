import { Registry } from 'prom-client';
import { describeCheckError, type HealthCheck } from './health-check';
import { HealthRegistry } from './health-registry';
import { postgresCheck } from './postgres.health-check';
import { redisCheck } from './redis.health-check';

const passing = (name: string): HealthCheck => ({ name, check: async () => undefined });
const failing = (name: string, error: unknown): HealthCheck => ({
  name,
  check: async () => {
    throw error;
  },
});

describe('HealthRegistry', () => {
  let metrics: Registry;
  let registry: HealthRegistry;
  beforeEach(() => {
    metrics = new Registry();
    registry = new HealthRegistry(metrics);
  });

  it('is ready with one result per check when every check passes', async () => {
    registry.register(passing('a.redis'));
    registry.register(passing('b.postgres'));

    const report = await registry.runAll();

    expect(report.status).toBe('ok');
    expect(report.checks.map((c) => [c.name, c.status])).toEqual([
      ['a.redis', 'ok'],
      ['b.postgres', 'ok'],
    ]);
  });

  it('is unavailable when one check fails, naming it with its error', async () => {
    registry.register(passing('a.redis'));
    registry.register(failing('b.postgres', new Error('connect ECONNREFUSED 10.0.0.5:5432')));

    const report = await registry.runAll();

    expect(report.status).toBe('unavailable');
    expect(report.checks).toContainEqual(expect.objectContaining({ name: 'a.redis', status: 'ok' }));
    expect(report.checks).toContainEqual(
      expect.objectContaining({ name: 'b.postgres', status: 'failed', error: 'connect ECONNREFUSED 10.0.0.5:5432' }),
    );
  });

  it('is degraded, not unavailable, when a check passes but reports degraded, and says why', async () => {
    registry.register(passing('a.redis'));
    registry.register({ name: 'b.relay', check: async () => ({ degraded: 'publishing failed 3 times, 12 positions behind' }) });

    const report = await registry.runAll();

    expect(report.status).toBe('degraded');
    expect(report.checks).toContainEqual(expect.objectContaining({ name: 'b.relay', status: 'degraded', reason: 'publishing failed 3 times, 12 positions behind' }));
    const text = await metrics.metrics();
    expect(text).toContain('kms_health_check_up{check="b.relay"} 1');
    expect(text).toContain('kms_health_check_degraded{check="b.relay"} 1');
    expect(text).toContain('kms_health_check_degraded{check="a.redis"} 0');
  });

  it('is unavailable when one check fails even if another is only degraded', async () => {
    registry.register({ name: 'a.relay', check: async () => ({ degraded: 'behind' }) });
    registry.register(failing('b.postgres', new Error('down')));

    expect((await registry.runAll()).status).toBe('unavailable');
  });

  it('never echoes a connection string from an error', async () => {
    registry.register(failing('db', new Error('cannot reach postgres://kms:hunter2@db:5432/kms (timeout)')));

    const report = await registry.runAll();

    expect(JSON.stringify(report)).not.toContain('hunter2');
    expect(report.checks[0]).toMatchObject({ error: 'cannot reach [url] (timeout)' });
  });

  it('refuses a second check with a name already registered', () => {
    registry.register(passing('shared.redis'));
    expect(() => registry.register(passing('shared.redis'))).toThrow('health check "shared.redis" is already registered');
  });

  it('exports each outcome as kms_health_check_up', async () => {
    registry.register(passing('good'));
    registry.register(failing('bad', new Error('down')));

    await registry.runAll();
    const text = await metrics.metrics();

    expect(text).toContain('kms_health_check_up{check="good"} 1');
    expect(text).toContain('kms_health_check_up{check="bad"} 0');
    expect(text).toMatch(/kms_health_check_duration_seconds\{check="bad"\} \d/);
  });

  it('is ready with no checks registered', async () => {
    expect(await registry.runAll()).toEqual({ status: 'ok', checks: [] });
  });
});

describe('ready-made checks', () => {
  it('postgresCheck fails when SELECT 1 does not answer in time', async () => {
    const hung = { query: () => new Promise<never>(() => undefined) };
    await expect(postgresCheck(hung, { timeoutMs: 20 }).check()).rejects.toThrow('timed out after 20 ms');
  });

  it('postgresCheck passes when SELECT 1 answers', async () => {
    const queries: string[] = [];
    const pool = { query: async (sql: string) => queries.push(sql) };
    await postgresCheck(pool).check();
    expect(queries).toEqual(['SELECT 1']);
  });

  it('redisCheck fails at once while the client is reconnecting, without queueing a PING', async () => {
    let pinged = false;
    const client = { status: 'reconnecting', ping: async () => ((pinged = true), 'PONG') };
    await expect(redisCheck(client, { name: 'x.redis' }).check()).rejects.toThrow('not connected (reconnecting)');
    expect(pinged).toBe(false);
  });

  it('redisCheck fails when PING does not answer in time', async () => {
    const client = { status: 'ready', ping: () => new Promise<string>(() => undefined) };
    await expect(redisCheck(client, { timeoutMs: 20 }).check()).rejects.toThrow('timed out after 20 ms');
  });
});

describe('describeCheckError', () => {
  it('describes a message-less AggregateError by its parts', () => {
    const e = new AggregateError([new Error('connect ECONNREFUSED ::1:5432'), new Error('connect ECONNREFUSED 127.0.0.1:5432')], '');
    expect(describeCheckError(e)).toBe('connect ECONNREFUSED ::1:5432; connect ECONNREFUSED 127.0.0.1:5432');
  });

  it('truncates long messages', () => {
    expect(describeCheckError(new Error('x'.repeat(1000)))).toHaveLength(200);
  });
});
