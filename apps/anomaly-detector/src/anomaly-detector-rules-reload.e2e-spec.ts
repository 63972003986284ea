import { loadRulesFile, rulesVersion } from '@kms/anomaly-detector';
import { eventStoreMigrations } from '@kms/event-store-postgres';
import { AUDIT_SEAL_KEY_PURPOSE, MasterKey } from '@kms/key-backend-software';
import { auditMigrations, AuditSealer, createPgPool, dropSchema, PostgresAuditLog, runMigrations, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';
import { exitOf, startMainProcess } from '@kms/testing';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Pool } from 'pg';

const MAIN = resolve(__dirname, 'main.ts');
const target = { url: testDatabaseUrl(), schema: uniqueTestSchema('anomaly_reload') };

// Only the refused-burst rule per identity: the threshold alone decides whether 15 refusals are a finding.
const rulesDoc = (threshold: unknown) => ({
  spike: { enabled: false },
  origin: { enabled: false },
  offHours: { enabled: false },
  bulkAccess: { enabled: false },
  refusedBurst: { threshold, perSource: false },
});

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('anomaly-detector rules reload in a running process (SIGHUP)', () => {
  // One master key for the process and for this test's audit writer: the detector checks every record's seal.
  const masterKey = randomBytes(32);
  const auditSealer = new AuditSealer(MasterKey.fromBytes(masterKey).derive(AUDIT_SEAL_KEY_PURPOSE));
  let pool: Pool;
  let dir: string;
  let file: string;

  beforeAll(async () => {
    await runMigrations(target, [...eventStoreMigrations, ...auditMigrations]);
    pool = createPgPool(target, { max: 2 });
    dir = mkdtempSync(join(tmpdir(), 'kms-anomaly-reload-'));
    file = join(dir, 'rules.json');
  });
  afterAll(async () => {
    await pool?.end();
    await dropSchema(target);
    rmSync(dir, { recursive: true, force: true });
  });

  const env = (): Record<string, string> => ({
    KMS_HTTP_ADDRESS: '127.0.0.1:0',
    KMS_DATABASE_URL: target.url,
    KMS_DATABASE_SCHEMA: target.schema,
    KMS_REDIS_URL: process.env['KMS_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379',
    KMS_MASTER_KEY: masterKey.toString('base64'),
    KMS_ANOMALY_RULES_FILE: file,
    // SIGHUP only: the file poll must not be what applies the change in this test.
    KMS_ANOMALY_RULES_WATCH_MS: '0',
    KMS_ANOMALY_POLL_MS: '50',
  });
  const write = (doc: unknown) => writeFileSync(file, JSON.stringify(doc));
  /** `n` refused calls by `actor`, 100 ms apart from `start`, written (sealed) to the audit log as the key service would. */
  const refusals = async (n: number, actor: string, start: Date) => {
    const log = new PostgresAuditLog(pool, auditSealer);
    for (let i = 0; i < n; i++) {
      await log.append({
        id: randomUUID(),
        time: new Date(start.getTime() + i * 100),
        requestId: randomUUID(),
        operation: 'Encrypt',
        actor,
        outcome: 'DENIED',
        errorCode: 'PERMISSION_DENIED',
        sourceAddress: 'ipv4:10.1.2.3:5000',
      });
    }
    await log.close();
  };
  const findings = async () => (await pool.query<{ threshold: number; count: number }>(`SELECT (data->'evidence'->'facts'->>'threshold')::int AS threshold, (data->'evidence'->>'count')::int AS count FROM events WHERE type = 'AnomalyDetected' ORDER BY global_position`)).rows;

  it('given threshold 20, when the file says 10 and the process gets SIGHUP, then the new version is in force (metrics) and 15 refusals are now a finding; an invalid file on SIGHUP is refused naming the field and the rules stay', async () => {
    write(rulesDoc(20));
    const v20 = rulesVersion(loadRulesFile(file));
    const main = startMainProcess(MAIN, env());
    const exited = exitOf(main.child);
    try {
      const url = await main.url;
      const metrics = async () => (await fetch(`${url}/metrics`)).text();
      // Every record written so far evaluated: a finding commits with an audit record of its own,
      // so the detector's position runs ahead of the count of refusals the test inserted.
      const caughtUpTo = async (inserted: number) => {
        const head = Number((await pool.query<{ head: string }>('SELECT max(position) AS head FROM audit_records')).rows[0].head);
        expect(head).toBeGreaterThanOrEqual(inserted);
        await until(`the detector at position ${head}`, async () => {
          const at = /kms_anomaly_detector_position (\d+)\n/.exec(await metrics());
          return at && Number(at[1]) >= head ? true : undefined;
        });
      };
      // The child's log reaches us through a pipe, possibly after its /metrics answer: wait for a line, then check it.
      const logged = (line: string) => until(`the log line "${line}"`, async () => (main.output().includes(line) ? main.output() : undefined));
      expect(await metrics()).toContain(`kms_anomaly_detector_rules_info{version="${v20}"} 1`);
      expect(main.output()).toContain(`rules version ${v20}`);

      await refusals(15, 'wl-orders', new Date('2026-03-02T09:00:00.000Z'));
      await caughtUpTo(15);
      expect(await findings()).toEqual([]);

      write(rulesDoc(10));
      const v10 = rulesVersion(loadRulesFile(file));
      main.child.kill('SIGHUP');
      const reloaded = await until('the reload', async () => {
        const text = await metrics();
        return text.includes(`kms_anomaly_detector_rules_info{version="${v10}"} 1`) ? text : undefined;
      });
      expect(reloaded).toContain('kms_anomaly_detector_rules_reloads_total{outcome="applied"} 1');
      expect(reloaded).not.toContain(`version="${v20}"`);
      expect(await logged(`anomaly rules reloaded from ${file} (SIGHUP): version ${v20} -> ${v10}`)).toContain(`anomaly rules reloaded from ${file} (SIGHUP): version ${v20} -> ${v10}`);

      await refusals(15, 'wl-orders', new Date('2026-03-02T09:02:00.000Z'));
      await caughtUpTo(30);
      expect(await findings()).toEqual([{ threshold: 10, count: 10 }]);

      // A bad file: refused with the field named, the process keeps running on threshold 10.
      write(rulesDoc(0));
      main.child.kill('SIGHUP');
      const refused = await until('the refusal', async () => {
        const text = await metrics();
        return text.includes('kms_anomaly_detector_rules_reloads_total{outcome="refused"} 1') ? text : undefined;
      });
      expect(refused).toContain(`kms_anomaly_detector_rules_info{version="${v10}"} 1`);
      const refusal = `anomaly rules not reloaded (SIGHUP), version ${v10} stays in force: KMS_ANOMALY_RULES_FILE: refusedBurst.threshold: must be a number in [1,`;
      expect(await logged(refusal)).toContain(refusal);
      await refusals(10, 'wl-billing', new Date('2026-03-02T09:04:00.000Z'));
      await caughtUpTo(40);
      expect(await findings()).toEqual([
        { threshold: 10, count: 10 },
        { threshold: 10, count: 10 },
      ]);
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      // Each finding the detector wrote commits with one audit record naming it.
      const unaudited = await pool.query(
        `SELECT e.global_position FROM events e LEFT JOIN audit_records a ON a.id::text = e.metadata->>'auditRecordId'
          WHERE e.type LIKE 'Anomaly%' GROUP BY e.global_position HAVING count(a.id) <> 1`,
      );
      expect(unaudited.rows).toEqual([]);
    } finally {
      main.child.kill('SIGTERM');
    }
    expect(await exited).toEqual({ code: 0, signal: null });
  }, 45_000);

  it('refuses to start with an invalid rules file, naming the field and the file', async () => {
    write({ refusedBurst: { threshold: 10, windowSecs: 60 } });
    const main = startMainProcess(MAIN, env());
    main.url.catch(() => undefined);
    expect(await exitOf(main.child)).toEqual({ code: 1, signal: null });
    expect(main.output()).toContain(`anomaly-detector: invalid configuration: KMS_ANOMALY_RULES_FILE: refusedBurst.windowSecs: unknown setting (in ${file})`);
  }, 30_000);
});
