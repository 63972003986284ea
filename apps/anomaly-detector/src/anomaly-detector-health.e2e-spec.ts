import { AnomalyDetectorModule } from '@kms/anomaly-detector';
import { loadConfig } from '@kms/config';
import { eventStoreMigrations } from '@kms/event-store-postgres';
import { auditMigrations, dropSchema, ensureDatabase, runMigrations, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';
import { createHttpApp, type HttpApp } from '@kms/platform';
import { randomBytes } from 'node:crypto';
import { dropOwnDatabase, eventually, exitOf, ownDatabaseUrl, ownRedisUrl, postgresConnectionsNamed, readyzThenSigterm, redisConnectionsNamed, startMainProcess } from '@kms/testing';
import { resolve } from 'node:path';

const DATABASE_URL = testDatabaseUrl();
const REDIS_URL = process.env['KMS_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const MAIN = resolve(__dirname, 'main.ts');
const CONNECTION_NAME = 'kms-anomaly-detector';

function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    KMS_HTTP_ADDRESS: '127.0.0.1:0',
    KMS_DATABASE_URL: DATABASE_URL,
    KMS_REDIS_URL: REDIS_URL,
    KMS_MASTER_KEY: randomBytes(32).toString('base64'),
    ...overrides,
  };
}

async function boot(overrides: Record<string, string> = {}): Promise<HttpApp> {
  const config = loadConfig(testEnv(overrides));
  return createHttpApp(AnomalyDetectorModule.forRoot(config), config.http, { logger: false });
}

describe('anomaly-detector over HTTP', () => {
  beforeAll(() => ensureDatabase(DATABASE_URL));

  it('is live, ready on its Redis and PostgreSQL checks, and exposes Prometheus metrics', async () => {
    const { app, url } = await boot();
    try {
      const healthz = await fetch(`${url}/healthz`);
      expect(healthz.status).toBe(200);
      expect(await healthz.json()).toEqual({ status: 'ok' });

      const readyz = await fetch(`${url}/readyz`);
      expect(readyz.status).toBe(200);
      expect(await readyz.json()).toEqual({
        status: 'ok',
        checks: [
          expect.objectContaining({ name: 'anomaly-detector.redis', status: 'ok' }),
          expect.objectContaining({ name: 'anomaly-detector.postgres', status: 'ok' }),
        ],
      });

      const metrics = await fetch(`${url}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get('content-type')).toContain('text/plain');
      const text = await metrics.text();
      expect(text).toContain('# TYPE process_cpu_seconds_total counter');
      expect(text).toContain('kms_health_check_up{check="anomaly-detector.redis"} 1');
      expect(text).toContain('kms_health_check_up{check="anomaly-detector.postgres"} 1');
    } finally {
      await app.close();
    }
  });

  it('is not ready, naming only the Redis check, when Redis is unreachable — without echoing the URL', async () => {
    const { app, url } = await boot({ KMS_REDIS_URL: 'redis://:hunter2@127.0.0.1:1' });
    try {
      const readyz = await fetch(`${url}/readyz`);
      const body = await readyz.text();
      expect(readyz.status).toBe(503);
      expect(JSON.parse(body)).toEqual({
        status: 'unavailable',
        checks: [
          expect.objectContaining({ name: 'anomaly-detector.redis', status: 'failed', error: expect.any(String) }),
          expect.objectContaining({ name: 'anomaly-detector.postgres', status: 'ok' }),
        ],
      });
      expect(body).not.toContain('hunter2');
      expect(body).not.toContain('redis://');
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('closes its Redis connection and PostgreSQL pool when the app closes', async () => {
    // Other test files run detectors at the same time under the same connection names, so the counts
    // are confined to a Redis database index and a PostgreSQL database of this test's own.
    const redisUrl = ownRedisUrl(REDIS_URL, 14);
    const databaseUrl = ownDatabaseUrl(DATABASE_URL, 'kms_test_ad_conn');
    const connections = async () => ({
      redis: await redisConnectionsNamed(redisUrl, CONNECTION_NAME),
      postgres: await postgresConnectionsNamed(databaseUrl, CONNECTION_NAME),
    });
    await ensureDatabase(databaseUrl);
    try {
      const { app, url } = await boot({ KMS_REDIS_URL: redisUrl, KMS_DATABASE_URL: databaseUrl });
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      expect(await connections()).toEqual({ redis: 1, postgres: 1 });

      await app.close();

      expect(await eventually(connections, { redis: 0, postgres: 0 })).toEqual({ redis: 0, postgres: 0 });
    } finally {
      await dropOwnDatabase(databaseUrl);
    }
  });

  it('runs as a process under tsx, serves /readyz and stops cleanly on SIGTERM', async () => {
    // Its own schema, migrated first as the migrate step does in a deployment: the detector follows
    // the key service's event store and audit log there (it does not create them), so it must not
    // depend on what another test left in the database's default schema.
    const target = { url: DATABASE_URL, schema: uniqueTestSchema('anomaly_main') };
    await runMigrations(target, [...eventStoreMigrations, ...auditMigrations]);
    try {
      expect(await readyzThenSigterm(MAIN, testEnv({ KMS_DATABASE_SCHEMA: target.schema }))).toEqual({
        readyz: 200,
        exit: { code: 0, signal: null },
        output: expect.stringContaining('stopped'),
      });
    } finally {
      await dropSchema(target);
    }
  });

  it('exits 1 naming the bad variable when the configuration is invalid', async () => {
    const main = startMainProcess(MAIN, testEnv({ KMS_REDIS_URL: 'http://127.0.0.1:6379' }));
    main.url.catch(() => undefined);
    expect(await exitOf(main.child)).toEqual({ code: 1, signal: null });
    expect(main.output()).toContain('anomaly-detector: invalid configuration: KMS_REDIS_URL: must use redis: or rediss:');
  });
});
