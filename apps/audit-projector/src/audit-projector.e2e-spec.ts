import { AuditProjectorModule, SoftwareAttestationSigner } from '@kms/audit-projector';
import { MasterKey } from '@kms/key-backend-software';
import { loadConfig } from '@kms/config';
import { verifyCheckpointNote } from '@kms/ledger';
import { KafkaTestCluster, type KcatMessage, readTopicWithKcat } from '@kms/notices-kafka/testing';
import { dropSchema, ensureDatabase, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';
import { createHttpApp, type HttpApp } from '@kms/platform';
import { randomBytes } from 'node:crypto';
import { dropOwnDatabase, eventually, exitOf, ownDatabaseUrl, postgresConnectionsNamed, readyzThenSigterm, startMainProcess } from '@kms/testing';
import { resolve } from 'node:path';

const DATABASE_URL = testDatabaseUrl();
const MAIN = resolve(__dirname, 'main.ts');

function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    KMS_HTTP_ADDRESS: '127.0.0.1:0',
    KMS_DATABASE_URL: DATABASE_URL,
    KMS_MASTER_KEY: randomBytes(32).toString('base64'),
    ...overrides,
  };
}

async function boot(overrides: Record<string, string> = {}): Promise<HttpApp> {
  const config = loadConfig(testEnv(overrides));
  return createHttpApp(AuditProjectorModule.forRoot(config), config.http, { logger: false });
}

describe('audit-projector over HTTP', () => {
  beforeAll(() => ensureDatabase(DATABASE_URL));

  it('is live, ready on its PostgreSQL check, and exposes Prometheus metrics', async () => {
    const { app, url } = await boot();
    try {
      const healthz = await fetch(`${url}/healthz`);
      expect(healthz.status).toBe(200);
      expect(await healthz.json()).toEqual({ status: 'ok' });

      const readyz = await fetch(`${url}/readyz`);
      expect(readyz.status).toBe(200);
      expect(await readyz.json()).toEqual({
        status: 'ok',
        checks: [expect.objectContaining({ name: 'audit-projector.postgres', status: 'ok' })],
      });

      const metrics = await fetch(`${url}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get('content-type')).toContain('text/plain');
      const text = await metrics.text();
      expect(text).toContain('# TYPE process_cpu_seconds_total counter');
      expect(text).toContain('kms_health_check_up{check="audit-projector.postgres"} 1');
    } finally {
      await app.close();
    }
  });

  it('is not ready, naming the PostgreSQL check, when the database is unreachable — without echoing the URL', async () => {
    const { app, url } = await boot({ KMS_DATABASE_URL: 'postgres://kms:hunter2@127.0.0.1:1/kms' });
    try {
      const readyz = await fetch(`${url}/readyz`);
      const body = await readyz.text();
      expect(readyz.status).toBe(503);
      expect(JSON.parse(body)).toEqual({
        status: 'unavailable',
        checks: [
          expect.objectContaining({ name: 'audit-projector.postgres', status: 'failed', error: expect.stringContaining('ECONNREFUSED') }),
        ],
      });
      expect(body).not.toContain('hunter2');
      expect(body).not.toContain('postgres://');

      // Liveness must not depend on the database, or an orchestrator would restart a healthy process.
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect(await (await fetch(`${url}/metrics`)).text()).toContain('kms_health_check_up{check="audit-projector.postgres"} 0');
    } finally {
      await app.close();
    }
  });

  it('closes its PostgreSQL connections when the app closes', async () => {
    // Other test files run projectors at the same time under the same application name, so the
    // count is confined to a database of this test's own.
    const own = ownDatabaseUrl(DATABASE_URL, 'kms_test_ap_conn');
    const connections = () => postgresConnectionsNamed(own, 'kms-audit-projector');
    await ensureDatabase(own);
    try {
      const { app, url } = await boot({ KMS_DATABASE_URL: own });
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      expect(await connections()).toBe(1);

      await app.close();

      expect(await eventually(connections, 0)).toBe(0);
    } finally {
      await dropOwnDatabase(own);
    }
  });

  it('runs as a process under tsx, serves /readyz and stops cleanly on SIGTERM', async () => {
    expect(await readyzThenSigterm(MAIN, testEnv())).toEqual({ readyz: 200, exit: { code: 0, signal: null }, output: expect.stringContaining('stopped') });
  });

  it('exits 1 naming the bad variable when the configuration is invalid', async () => {
    const main = startMainProcess(MAIN, testEnv({ KMS_DATABASE_URL: 'mysql://127.0.0.1/kms' }));
    main.url.catch(() => undefined);
    expect(await exitOf(main.child)).toEqual({ code: 1, signal: null });
    expect(main.output()).toContain('audit-projector: invalid configuration: KMS_DATABASE_URL: must use postgres: or postgresql:');
  });

  it('with KAFKA_BROKERS set, sends each signed checkpoint to the checkpoints topic, verifiable with the attestation key', async () => {
    const kafka = await KafkaTestCluster.start({ name: 'audit-projector-e2e' });
    const schema = uniqueTestSchema('ap_main_kafka');
    const topic = `checkpoints-${randomBytes(6).toString('hex')}`;
    const masterKey = randomBytes(32);
    // main.ts signs with the software attestation key derived from the master key when no HSM is configured.
    const pem = await SoftwareAttestationSigner.fromSeed(MasterKey.fromBytes(masterKey).derive('audit-attestation-v1')).publicKeyPem();
    const main = startMainProcess(MAIN, 
      testEnv({ KMS_MASTER_KEY: masterKey.toString('base64'), KMS_DATABASE_SCHEMA: schema, KAFKA_BROKERS: kafka.bootstrap, KMS_CHECKPOINTS_TOPIC: topic, KMS_LEDGER_ORIGIN: 'kms.main.test/ledger' }),
    );
    const exited = exitOf(main.child);
    try {
      await main.url;
      expect(main.output()).toContain(`signed checkpoints also go to Kafka topic ${topic}`);
      // The first round (10 s) signs both logs (no checkpoint exists yet) and sends them.
      let messages: KcatMessage[] = [];
      const deadline = Date.now() + 30_000;
      while (messages.length < 2 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 1000));
        messages = await readTopicWithKcat(kafka.bootstrap, topic).catch(() => []);
      }
      expect(messages.map((m) => m.key).sort()).toEqual(['kms.main.test/ledger/audit', 'kms.main.test/ledger/events']);
      for (const m of messages) {
        const value = JSON.parse(m.payload ?? '{}') as { note: string; origin: string; treeSize: number };
        expect(value.origin).toBe(m.key);
        expect(value.note.startsWith(`${m.key}\n${value.treeSize}\n`)).toBe(true);
        expect(verifyCheckpointNote(value.note, pem, m.key ?? '')).toMatchObject({ valid: true });
      }
    } finally {
      main.child.kill('SIGTERM');
      await kafka.destroy();
    }
    expect(await exited).toEqual({ code: 0, signal: null });
    await dropSchema({ url: DATABASE_URL, schema });
  }, 120_000);
});
