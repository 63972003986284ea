import { randomBytes, randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { Client } from 'pg';
import { createKmsClient, KmsCallError, type KmsClient } from '@kms/contracts';
import { PostgresCluster, REPO_ROOT } from '@kms/testing';
import { freePort, killHard, processPeople, type KeyServiceProcess, spawnKeyService, waitForGrpc } from './testing/key-service-process';

/*
 * The key service on a PostgreSQL cluster of the test's own, which the test terminates, crashes and
 * freezes under load. The service must stay up, answer UNAVAILABLE within its configured bounds
 * while the database is gone, recover by itself, and leave every committed change with exactly one
 * audit record and every acknowledged call durable.
 */

const TIMEOUTS = { connectMs: 1000, statementMs: 1500, lockMs: 1000, auditMs: 1500 };
/** The longest a call may take to be refused while the database is gone: a few chained waits, not the client deadline. */
const UNAVAILABLE_BOUND_MS = 7000;
const CALL_DEADLINE_MS = 30_000;
const BOOT_TIMEOUT_MS = 60_000;
const RECOVERY_TIMEOUT_MS = 30_000;
const WORKERS = 8;

type KeyAnswer = { key_id: string; primary_version: number; versions: Array<{ version: number }> };

interface Outcome {
  op: 'Encrypt' | 'RotateKey';
  requestId: string;
  ok: boolean;
  code?: number;
  errorCode?: string;
  ms: number;
  startedAt: number;
  ciphertext?: Buffer;
  plaintext?: Buffer;
  version?: number;
}

describe('key service when its PostgreSQL fails', () => {
  let cluster: PostgresCluster;
  let svc: KeyServiceProcess | undefined;
  let db: Client;
  let httpUrl = '';
  let client: KmsClient;
  let adminToken = '';
  let appToken = '';
  let keyId = '';
  const credentialFile = join(REPO_ROOT, '.kms-state', 'test', `faults-bootstrap-${process.pid}.json`);
  const masterKey = randomBytes(32).toString('base64');
  const outcomes: Outcome[] = [];

  function env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      KMS_DATABASE_URL: cluster.url('kms'),
      KMS_DATABASE_SCHEMA: 'public',
      KMS_MASTER_KEY: masterKey,
      KMS_HSM_ENABLED: 'false',
      KMS_BOOTSTRAP_CREDENTIAL_FILE: credentialFile,
      KMS_DB_CONNECT_TIMEOUT_MS: String(TIMEOUTS.connectMs),
      KMS_DB_STATEMENT_TIMEOUT_MS: String(TIMEOUTS.statementMs),
      KMS_DB_LOCK_TIMEOUT_MS: String(TIMEOUTS.lockMs),
      KMS_AUDIT_TIMEOUT_MS: String(TIMEOUTS.auditMs),
      ...extra,
    };
  }

  async function start(extra: Record<string, string> = {}): Promise<KeyServiceProcess> {
    const ports = { grpc: await freePort(), http: await freePort() };
    svc = spawnKeyService(env(extra), ports);
    httpUrl = `http://127.0.0.1:${ports.http}`;
    await waitForGrpc(svc, BOOT_TIMEOUT_MS);
    client?.close();
    client = createKmsClient(svc.grpcAddress);
    return svc;
  }

  async function stop(): Promise<void> {
    client?.close();
    await killHard(svc);
    svc = undefined;
  }

  const opts = (token: string, requestId: string = randomUUID()) => ({ token, requestId, deadlineMs: CALL_DEADLINE_MS });

  /** One call, timed; failures are kept with their gRPC and KMS codes. */
  async function timed(op: Outcome['op'], call: (requestId: string) => Promise<Partial<Outcome>>): Promise<Outcome> {
    const requestId = randomUUID();
    const startedAt = Date.now();
    try {
      const extra = await call(requestId);
      const o = { op, requestId, ok: true, ms: Date.now() - startedAt, startedAt, ...extra };
      outcomes.push(o);
      return o;
    } catch (e) {
      const o: Outcome = {
        op,
        requestId,
        ok: false,
        ms: Date.now() - startedAt,
        startedAt,
        ...(e instanceof KmsCallError ? { code: e.code, ...(e.errorCode ? { errorCode: e.errorCode } : {}) } : { code: -1, errorCode: String(e) }),
      };
      outcomes.push(o);
      return o;
    }
  }

  const encrypt = () =>
    timed('Encrypt', async (requestId) => {
      const plaintext = randomBytes(32);
      const r = await client.call<{ ciphertext: Buffer }>('Encrypt', { key_id: keyId, plaintext }, opts(appToken, requestId));
      return { ciphertext: r.ciphertext, plaintext };
    });
  const rotate = () =>
    timed('RotateKey', async (requestId) => {
      const r = await client.call<KeyAnswer>('RotateKey', { key_id: keyId }, opts(adminToken, requestId));
      return { version: r.primary_version };
    });

  /** WORKERS callers (one in four rotating) until `stopAt()` says so; returns what happened. */
  async function load(until: () => boolean): Promise<Outcome[]> {
    const mine: Outcome[] = [];
    await Promise.all(
      Array.from({ length: WORKERS }, async (_, w) => {
        while (!until()) {
          mine.push(await (w % 4 === 0 ? rotate() : encrypt()));
          await new Promise((r) => setTimeout(r, 20));
        }
      }),
    );
    return mine;
  }

  async function readyz(): Promise<number> {
    try {
      return (await fetch(`${httpUrl}/readyz`, { signal: AbortSignal.timeout(UNAVAILABLE_BOUND_MS) })).status;
    } catch {
      return -1;
    }
  }

  /** Calls succeed again (without restarting the service). */
  async function recovered(): Promise<number> {
    const t0 = Date.now();
    while (Date.now() - t0 < RECOVERY_TIMEOUT_MS) {
      expect(svc?.alive()).toBe(true);
      const o = await encrypt();
      if (o.ok && (await readyz()) === 200) return Date.now() - t0;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`no recovery within ${RECOVERY_TIMEOUT_MS} ms:\n${svc?.output()}`);
  }

  /** Every failed call during an outage was UNAVAILABLE, and answered within the bound. */
  function expectBoundedUnavailable(during: Outcome[]): void {
    const failed = during.filter((o) => !o.ok);
    const wrong = failed.filter((o) => o.code !== status.UNAVAILABLE).map((o) => `${o.op}: ${o.code} ${o.errorCode ?? ''}`);
    expect(wrong).toEqual([]);
    expect(Math.max(0, ...failed.map((o) => o.ms))).toBeLessThanOrEqual(UNAVAILABLE_BOUND_MS);
  }

  beforeAll(async () => {
    cluster = await PostgresCluster.create('faults');
    db = new Client({ connectionString: cluster.url('postgres') });
    // The test's own connection dies with the cluster too; it is reconnected when needed.
    db.on('error', () => undefined);
    await db.connect();
    await rm(credentialFile, { force: true });
    await start();
    // The administrator enrols with the link the service wrote, then signs in with security key + TOTP.
    const { people, admin } = await processPeople(credentialFile, Number(new URL(httpUrl).port));
    adminToken = (await people.signIn(admin.identity_id)).accessToken;
    const workload = await client.call<{ client_id: string; client_secret: string }>('RegisterIdentity', { name: 'faults-app', kind: 'WORKLOAD' }, opts(adminToken));
    const key = await client.call<KeyAnswer>(
      'CreateKey',
      { tenant: 'acme', name: 'faults', purpose: 'SERVICE_ENVELOPE', algorithm: 'AES_256_GCM', policy: { grants: { [workload.client_id]: { permissions: ['ENCRYPT', 'DECRYPT'] } } } },
      opts(adminToken),
    );
    keyId = key.key_id;
    appToken = (await client.call<{ access_token: string }>('IssueToken', { client_id: workload.client_id, client_secret: workload.client_secret }, { deadlineMs: CALL_DEADLINE_MS })).access_token;
  }, 120_000);

  afterAll(async () => {
    await stop();
    await db?.end().catch(() => undefined);
    await cluster?.destroy();
    await rm(credentialFile, { force: true });
  }, 60_000);

  it('survives its connections being terminated mid-burst', async () => {
    let done = false;
    const burst = load(() => done);
    await new Promise((r) => setTimeout(r, 1500));
    const terminated = await db.query<{ n: number }>(
      `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = 'kms' AND pid <> pg_backend_pid()`,
    );
    await new Promise((r) => setTimeout(r, 1500));
    done = true;
    const during = await burst;
    expect(terminated.rows[0].n).toBeGreaterThan(0);
    expect(svc?.alive()).toBe(true);
    expectBoundedUnavailable(during);
    await recovered();
  }, 120_000);

  it('survives kill -9 of the postmaster and recovers once PostgreSQL is restarted', async () => {
    let done = false;
    const burst = load(() => done);
    await new Promise((r) => setTimeout(r, 1000));
    await cluster.kill9();
    const downAt = Date.now();
    await new Promise((r) => setTimeout(r, 3000));
    const readyWhileDown = await readyz();
    done = true;
    const during = (await burst).filter((o) => o.startedAt >= downAt);
    expect(svc?.alive()).toBe(true);
    expect(readyWhileDown).toBe(503);
    expect(during.filter((o) => !o.ok).length).toBeGreaterThan(0);
    expectBoundedUnavailable(during);

    await cluster.start();
    const ms = await recovered();
    console.log(`database faults: recovered ${ms} ms after the restart`);
  }, 120_000);

  it('answers UNAVAILABLE within its bounds while PostgreSQL is frozen for 15 s, then recovers', async () => {
    let done = false;
    const burst = load(() => done);
    await new Promise((r) => setTimeout(r, 1000));
    cluster.freeze();
    const frozenAt = Date.now();
    let readyWhileFrozen = 0;
    try {
      await new Promise((r) => setTimeout(r, 5000));
      readyWhileFrozen = await readyz();
      await new Promise((r) => setTimeout(r, Math.max(0, 15_000 - (Date.now() - frozenAt))));
    } finally {
      cluster.thaw();
    }
    done = true;
    const during = (await burst).filter((o) => o.startedAt >= frozenAt && o.startedAt < frozenAt + 15_000 - UNAVAILABLE_BOUND_MS);
    expect(svc?.alive()).toBe(true);
    expect(readyWhileFrozen).toBe(503);
    expect(during.filter((o) => !o.ok).length).toBeGreaterThan(0);
    expectBoundedUnavailable(during);
    await recovered();
  }, 120_000);

  it('leaves a change killed before its commit neither committed nor audited, and one killed after its append audited once (intent mode)', async () => {
    const before = (await client.call<KeyAnswer>('GetKey', { key_id: keyId }, opts(adminToken))).versions.length;
    await stop();

    // Transaction mode: the crash comes inside the transaction, after the events and the record were written.
    await start({ KMS_FAULT_INJECTION: 'change-before-commit:RotateKey' });
    const crashed = randomUUID();
    await expect(client.call('RotateKey', { key_id: keyId }, opts(adminToken, crashed))).rejects.toBeInstanceOf(KmsCallError);
    expect((await (svc as KeyServiceProcess).exited).signal).toBe('SIGKILL');
    await start();
    expect((await client.call<KeyAnswer>('GetKey', { key_id: keyId }, opts(adminToken))).versions.length).toBe(before);
    const kms = new Client({ connectionString: cluster.url('kms') });
    await kms.connect();
    try {
      expect((await kms.query(`SELECT 1 FROM audit_records WHERE request_id = $1`, [crashed])).rowCount).toBe(0);
      expect((await kms.query(`SELECT 1 FROM events WHERE metadata->>'correlationId' = $1`, [crashed])).rowCount).toBe(0);
      await stop();

      // Intent mode (what EventStoreDB uses): the crash comes after the append, before the record.
      await start({ KMS_CHANGE_COMMIT: 'intent', KMS_FAULT_INJECTION: 'change-after-append:RotateKey' });
      const appended = randomUUID();
      await expect(client.call('RotateKey', { key_id: keyId }, opts(adminToken, appended))).rejects.toBeInstanceOf(KmsCallError);
      expect((await (svc as KeyServiceProcess).exited).signal).toBe('SIGKILL');
      expect((await kms.query(`SELECT 1 FROM audit_records WHERE request_id = $1`, [appended])).rowCount).toBe(0);
      expect((await kms.query(`SELECT 1 FROM audit_intents`)).rowCount).toBe(1);
      // The restart reconciles the intent from the event store at once (no grace period here).
      await start({ KMS_CHANGE_COMMIT: 'intent', KMS_CHANGE_INTENT_GRACE_MS: '0' });
      const deadline = Date.now() + 10_000;
      let records: Array<{ outcome: string; details: Record<string, unknown> }> = [];
      while (Date.now() < deadline && records.length === 0) {
        records = (await kms.query(`SELECT outcome, details FROM audit_records WHERE request_id = $1`, [appended])).rows;
        if (records.length === 0) await new Promise((r) => setTimeout(r, 200));
      }
      expect(records).toEqual([expect.objectContaining({ outcome: 'SUCCESS', details: expect.objectContaining({ reconciled: true }) })]);
      expect((await kms.query(`SELECT 1 FROM audit_intents`)).rowCount).toBe(0);
      expect((await client.call<KeyAnswer>('GetKey', { key_id: keyId }, opts(adminToken))).versions.length).toBe(before + 1);
    } finally {
      await kms.end();
      await stop();
      await start();
    }
  }, 180_000);

  it('rotates once for a retried RotateKey with the same request id, and refuses the id for another request', async () => {
    const before = (await client.call<KeyAnswer>('GetKey', { key_id: keyId }, opts(adminToken))).primary_version;
    const requestId = randomUUID();
    const [a, b] = await Promise.all([
      client.call<KeyAnswer>('RotateKey', { key_id: keyId }, opts(adminToken, requestId)),
      client.call<KeyAnswer>('RotateKey', { key_id: keyId }, opts(adminToken, requestId)),
    ]);
    const c = await client.call<KeyAnswer>('RotateKey', { key_id: keyId }, opts(adminToken, requestId));
    expect([a.primary_version, b.primary_version, c.primary_version]).toEqual([before + 1, before + 1, before + 1]);
    expect((await client.call<KeyAnswer>('GetKey', { key_id: keyId }, opts(adminToken))).primary_version).toBe(before + 1);
    await expect(client.call('RotateKey', { key_id: keyId, reason: 'COMPROMISE' }, opts(adminToken, requestId))).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      errorCode: 'REQUEST_ID_REUSED',
    });
  }, 60_000);

  it('afterwards: every committed event has exactly one audit record, and no acknowledged call is lost', async () => {
    const kms = new Client({ connectionString: cluster.url('kms') });
    await kms.connect();
    try {
      // Every event names its audit record, which exists once and says SUCCESS (none of these calls failed after writing).
      const orphans = await kms.query(
        `SELECT e.global_position, e.type, e.metadata->>'auditRecordId' AS audit_id, count(a.id)::int AS records, min(a.outcome) AS outcome
           FROM events e LEFT JOIN audit_records a ON a.id::text = e.metadata->>'auditRecordId'
          GROUP BY e.global_position, e.type, e.metadata->>'auditRecordId'
         HAVING count(a.id) <> 1 OR min(a.outcome) <> 'SUCCESS'`,
      );
      expect(orphans.rows).toEqual([]);
      expect((await kms.query('SELECT count(*)::int AS n FROM events')).rows[0].n).toBeGreaterThan(3);

      // Every acknowledged call has exactly one audit record with its outcome.
      const acked = outcomes.filter((o) => o.ok);
      const counts = await kms.query<{ request_id: string; n: number }>(
        `SELECT request_id, count(*)::int AS n FROM audit_records WHERE request_id = ANY($1::text[]) AND outcome = 'SUCCESS' GROUP BY request_id`,
        [acked.map((o) => o.requestId)],
      );
      const byId = new Map(counts.rows.map((r) => [r.request_id, r.n]));
      expect(acked.filter((o) => byId.get(o.requestId) !== 1).map((o) => o.op)).toEqual([]);

      // Acknowledged ciphertexts decrypt; acknowledged rotations made versions that exist.
      const key = await client.call<KeyAnswer>('GetKey', { key_id: keyId }, opts(adminToken));
      const versions = new Set(key.versions.map((v) => v.version));
      expect(acked.filter((o) => o.op === 'RotateKey' && !versions.has(o.version as number))).toEqual([]);
      for (const o of acked.filter((x) => x.op === 'Encrypt').slice(-20)) {
        const r = await client.call<{ plaintext: Buffer }>('Decrypt', { ciphertext: o.ciphertext }, opts(appToken));
        expect(Buffer.from(r.plaintext).equals(o.plaintext as Buffer)).toBe(true);
      }
      console.log(
        `database faults: ${outcomes.length} calls, ${acked.length} acknowledged, ${outcomes.length - acked.length} refused, ` +
          `slowest refusal ${Math.max(0, ...outcomes.filter((o) => !o.ok).map((o) => o.ms))} ms`,
      );
    } finally {
      await kms.end();
    }
  }, 60_000);
});
