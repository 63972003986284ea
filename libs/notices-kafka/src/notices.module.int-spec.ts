import { PostgresEventStore, eventStoreMigrations } from '@kms/event-store-postgres';
import { InMemoryPublicKeySource } from '@kms/notices';
import { KeyHistoryWriter } from '@kms/notices/testing';
import { createPgPool, dropSchema, runMigrations, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';
import { Global, type INestApplication, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { logLevel } from 'kafkajs';
import { Registry } from 'prom-client';
import { testConfig } from '@kms/config/testing';
import { NoticesModule } from './notices.module';
import type { NoticesHealthCheck } from './notices.runtime';
import { KafkaTestCluster } from './testing/kafka-cluster.process';
import { readTopicWithKcat } from './testing/kcat-topic.reader';

// Stand-ins for @kms/platform's HealthModule tokens (an infrastructure lib may not import platform).
const METRICS = Symbol('METRICS');
class FakeHealthRegistry {
  readonly checks: NoticesHealthCheck[] = [];
  register(check: NoticesHealthCheck): void {
    this.checks.push(check);
  }
}
@Global()
@Module({ providers: [{ provide: METRICS, useFactory: () => new Registry() }, FakeHealthRegistry], exports: [METRICS, FakeHealthRegistry] })
class FakeHostModule {}

const target = { url: testDatabaseUrl(), schema: uniqueTestSchema('notices_module') };
const pool = createPgPool(target);
const events = new PostgresEventStore(pool, { pollIntervalMs: 50 });
const source = new InMemoryPublicKeySource();
let kafka: KafkaTestCluster;

beforeAll(async () => {
  await runMigrations(target, eventStoreMigrations);
  // No topic here: the module creates kms.key-lifecycle.v1 itself.
  kafka = await KafkaTestCluster.start({ name: 'notices-module' });
}, 180_000);

afterAll(async () => {
  await kafka?.destroy();
  await events.close();
  await pool.end();
  await dropSchema(target);
});

async function boot(env: Record<string, string>, schema: string): Promise<{ app: INestApplication; url: string; health: FakeHealthRegistry; metrics: Registry }> {
  const module = NoticesModule.forRoot(
    {
      settings: testConfig({ KMS_NOTICES_SOURCE: '/open-kms/module-test', ...env }).notices,
      postgres: { url: target.url, schema },
      eventStore: events,
      eventsHead: async () => BigInt((await pool.query<{ h: string | null }>('SELECT max(global_position)::text AS h FROM events')).rows[0]?.h ?? '0'),
      publicKeySource: source,
      kafkaLogLevel: logLevel.NOTHING,
    },
    { imports: [FakeHostModule], metricsRegistry: METRICS, healthRegistry: FakeHealthRegistry },
  );
  const app = await NestFactory.create(module, new ExpressAdapter(), { logger: false, abortOnError: false });
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as AddressInfo).port;
  return { app, url: `http://127.0.0.1:${port}`, health: app.get(FakeHealthRegistry), metrics: app.get<Registry>(METRICS) };
}

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

interface Page {
  notices: Array<{ id: string; type: string; subject: string; data: { version: number } }>;
  next: string;
}

describe('NoticesModule over HTTP', () => {
  it('without KAFKA_BROKERS records notices and serves them page by page from GET /v1/notices?after=', async () => {
    const schema = uniqueTestSchema('notices_standalone');
    const { app, url, health } = await boot({}, schema);
    try {
      const key = new KeyHistoryWriter(events);
      await key.create();
      const v2 = await key.newVersion(2, 'SCHEDULED', '2026-05-01T00:00:00.000Z');
      const v3 = await key.newVersion(3, 'MANUAL', '2026-05-02T00:00:00.000Z');
      const mine = async (): Promise<Page['notices']> => ((await (await fetch(`${url}/v1/notices?limit=1000`)).json()) as Page).notices.filter((n) => n.subject === key.keyId);
      await until(async () => (await mine()).length === 3, 'three recorded notices');

      const first = (await (await fetch(`${url}/v1/notices?limit=1`)).json()) as Page;
      expect(first.notices).toHaveLength(1);
      const rest = (await (await fetch(`${url}/v1/notices?after=${first.next}&limit=1000`)).json()) as Page;
      expect(rest.notices.map((n) => n.id)).not.toContain(first.notices[0]?.id);
      const all = await mine();
      expect(all.map((n) => [n.type, n.data.version])).toEqual([
        ['kms.key.rotated.v1', 1],
        ['kms.key.rotated.v1', 2],
        ['kms.key.rotated.v1', 3],
      ]);
      expect(all.slice(1).map((n) => n.id)).toEqual([v2.id, v3.id]);

      const status = (await (await fetch(`${url}/v1/notices/status`)).json()) as Record<string, unknown>;
      expect(status).toMatchObject({ mode: 'record-only (no KAFKA_BROKERS)', state: 'running', lagPositions: '0' });
      expect((await fetch(`${url}/v1/notices?after=-1`)).status).toBe(400);
      expect((await fetch(`${url}/v1/notices?limit=5000`)).status).toBe(400);
      expect(health.checks.map((c) => c.name)).toEqual(['notices.relay']);
      await expect(health.checks[0]?.check()).resolves.toBeUndefined();
    } finally {
      await app.close();
      await dropSchema({ url: target.url, schema });
    }
  });

  it('with KAFKA_BROKERS creates its topic as configured, records and publishes, exposes lag metrics, and serves the tenant JWKS', async () => {
    const schema = uniqueTestSchema('notices_kafka');
    const tenant = `t${randomUUID().slice(0, 8)}`;
    const key = new KeyHistoryWriter(events);
    source.put(key.keyId, 1, generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' }));
    source.put(key.keyId, 2, generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' }));
    await key.create({ tenant });
    const { app, url, metrics } = await boot({ KAFKA_BROKERS: kafka.bootstrap, KMS_KAFKA_TOPIC_PARTITIONS: '3' }, schema);
    try {
      const rotated = await key.newVersion(2, 'SCHEDULED', '2026-05-01T00:00:00.000Z');
      // The topic exists once the module created it; until then kcat reports it unknown.
      await until(async () => (await readTopicWithKcat(kafka.bootstrap, 'kms.key-lifecycle.v1').catch(() => [])).some((m) => m.payload?.includes(rotated.id) ?? false), 'the notice on the topic');
      await until(async () => ((await (await fetch(`${url}/v1/notices/status`)).json()) as { published: number }).published >= 2, 'acks counted');

      // Created by the module's admin client: KMS_KAFKA_TOPIC_PARTITIONS, replication min(3, brokers) = 1.
      expect(await kafka.describeTopic('kms.key-lifecycle.v1')).toEqual({ partitions: 3, replicationFactor: 1, minInsyncReplicas: 1 });

      const text = await metrics.metrics();
      expect(text).toMatch(/kms_notices_lag_positions \d+/);
      expect(text).toMatch(/kms_notices_oldest_unpublished_age_seconds 0/);
      expect(text).toMatch(/kms_notice_publish_latency_seconds_count\{type="kms.key.rotated.v1"\} [1-9]/);

      const jwks = (await (await fetch(`${url}/.well-known/jwks.json?tenant=${tenant}`)).json()) as { keys: Array<{ kid: string; alg: string }> };
      await until(async () => ((await (await fetch(`${url}/.well-known/jwks.json?tenant=${tenant}`)).json()) as { keys: unknown[] }).keys.length === 2, 'both versions in the JWKS');
      expect(jwks.keys[0]).toMatchObject({ kid: `${key.keyId}:1`, alg: 'ES256', kty: 'EC' });
      const latest = (await (await fetch(`${url}/.well-known/jwks.json?tenant=${tenant}`)).json()) as { keys: Array<{ kid: string }> };
      expect(latest.keys.map((k) => k.kid)).toEqual([`${key.keyId}:1`, `${key.keyId}:2`]);
      expect((await fetch(`${url}/.well-known/jwks.json`)).status).toBe(400);
      expect(((await (await fetch(`${url}/.well-known/jwks.json?tenant=nobody`)).json()) as { keys: unknown[] }).keys).toEqual([]);
    } finally {
      await app.close();
      await dropSchema({ url: target.url, schema });
    }
  });
});
