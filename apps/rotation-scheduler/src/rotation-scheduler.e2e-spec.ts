import { loadConfig } from '@kms/config';
import { createHttpApp, type HttpApp } from '@kms/platform';
import { dropSchema, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';
import { RotationSchedulerModule } from '@kms/rotation-scheduler';
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { eventually, exitOf, ownRedisUrl, redisConnectionsNamed, startMainProcess } from '@kms/testing';
import { resolve } from 'node:path';

const REDIS_URL = process.env['KMS_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const MAIN = resolve(__dirname, 'main.ts');
const SCHEMA = uniqueTestSchema('rotsched_main');
const OWN_REDIS_URL = ownRedisUrl(REDIS_URL, 15);
const PREFIX = `kms-test-main-${process.pid}-${randomBytes(4).toString('hex')}`;

function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    KMS_HTTP_ADDRESS: '127.0.0.1:0',
    KMS_REDIS_URL: REDIS_URL,
    KMS_MASTER_KEY: randomBytes(32).toString('base64'),
    KMS_DATABASE_URL: testDatabaseUrl(),
    KMS_DATABASE_SCHEMA: SCHEMA,
    // An empty store: the scheduler never calls the key service, so the credential is not checked.
    KMS_SCHEDULER_CLIENT_ID: 'c0ffee00-0000-4000-8000-000000000000',
    KMS_SCHEDULER_CLIENT_SECRET: 'not-used',
    KMS_SCHEDULER_QUEUE_PREFIX: PREFIX,
    KMS_GRPC_ADDRESS: '127.0.0.1:1',
    ...overrides,
  };
}

async function boot(overrides: Record<string, string> = {}): Promise<HttpApp> {
  const config = loadConfig(testEnv(overrides));
  return createHttpApp(RotationSchedulerModule.forRoot(config), config.http, { logger: false });
}

describe('rotation-scheduler over HTTP', () => {
  afterAll(async () => {
    await dropSchema({ url: testDatabaseUrl(), schema: SCHEMA });
    for (const url of [REDIS_URL, OWN_REDIS_URL]) {
      const redis = new Redis(url);
      try {
        const keys = await redis.keys(`${PREFIX}:*`);
        if (keys.length > 0) await redis.del(...keys);
      } finally {
        redis.disconnect();
      }
    }
  });

  it('is live, ready on its Redis check, and exposes Prometheus metrics', async () => {
    const { app, url } = await boot();
    try {
      const healthz = await fetch(`${url}/healthz`);
      expect(healthz.status).toBe(200);
      expect(await healthz.json()).toEqual({ status: 'ok' });

      const readyz = await fetch(`${url}/readyz`);
      expect(readyz.status).toBe(200);
      expect(await readyz.json()).toEqual({
        status: 'ok',
        checks: [expect.objectContaining({ name: 'rotation-scheduler.redis', status: 'ok' })],
      });

      const metrics = await fetch(`${url}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get('content-type')).toContain('text/plain');
      const text = await metrics.text();
      expect(text).toContain('# TYPE process_cpu_seconds_total counter');
      expect(text).toContain('kms_health_check_up{check="rotation-scheduler.redis"} 1');
    } finally {
      await app.close();
    }
  });

  it('is not ready, naming the Redis check, when Redis is unreachable — without echoing the URL', async () => {
    const { app, url } = await boot({ KMS_REDIS_URL: 'redis://:hunter2@127.0.0.1:1' });
    try {
      const readyz = await fetch(`${url}/readyz`);
      const body = await readyz.text();
      expect(readyz.status).toBe(503);
      expect(JSON.parse(body)).toEqual({
        status: 'unavailable',
        checks: [expect.objectContaining({ name: 'rotation-scheduler.redis', status: 'failed', error: expect.any(String) })],
      });
      expect(body).not.toContain('hunter2');
      expect(body).not.toContain('redis://');

      // Liveness must not depend on Redis, or an orchestrator would restart a healthy process.
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect(await (await fetch(`${url}/metrics`)).text()).toContain('kms_health_check_up{check="rotation-scheduler.redis"} 0');
    } finally {
      await app.close();
    }
  });

  it('closes its Redis connection when the app closes', async () => {
    // Other test files run schedulers at the same time under the same connection name, so the count
    // is confined to a Redis database index of this test's own.
    const connections = () => redisConnectionsNamed(OWN_REDIS_URL, 'kms-rotation-scheduler');
    const { app, url } = await boot({ KMS_REDIS_URL: OWN_REDIS_URL });
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect(await connections()).toBe(1);

    await app.close();

    expect(await eventually(connections, 0)).toBe(0);
  });

  it('runs as a process under tsx, serves /readyz and stops cleanly on SIGTERM', async () => {
    const main = startMainProcess(MAIN, testEnv());
    const exited = exitOf(main.child);
    try {
      const url = await main.url;
      // Ready once the schedule caught up with the (empty) store.
      expect(await eventually(async () => (await fetch(`${url}/readyz`)).status, 200, 15_000)).toBe(200);
      // The status is not open: without a token (and here without a key service to check one) it is refused.
      const status = await fetch(`${url}/v1/rotation-scheduler/status`);
      expect([status.status, status.headers.get('content-type')]).toEqual([401, expect.stringContaining('application/problem+json')]);
      expect((await status.json()) as Record<string, unknown>).toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });
    } finally {
      main.child.kill('SIGTERM');
    }
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(main.output()).toContain('stopped');
  });

  it('exits 1 naming the scheduler credential when it is missing', async () => {
    const main = startMainProcess(MAIN, testEnv({ KMS_SCHEDULER_CLIENT_ID: '', KMS_SCHEDULER_CLIENT_SECRET: '' }));
    main.url.catch(() => undefined);
    expect(await exitOf(main.child)).toEqual({ code: 1, signal: null });
    expect(main.output()).toContain('rotation-scheduler: invalid configuration: KMS_SCHEDULER_CLIENT_ID: the scheduler workload credential is required');
  });

  it('exits 1 naming the bad variable when the configuration is invalid', async () => {
    const main = startMainProcess(MAIN, testEnv({ KMS_HTTP_ADDRESS: 'not-an-address' }));
    main.url.catch(() => undefined);
    expect(await exitOf(main.child)).toEqual({ code: 1, signal: null });
    expect(main.output()).toContain('rotation-scheduler: invalid configuration: KMS_HTTP_ADDRESS: must be host:port');
  });
});
