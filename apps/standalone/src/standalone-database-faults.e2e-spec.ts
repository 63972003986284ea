import { randomBytes, randomUUID } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { createKmsClient, type KmsClient } from '@kms/contracts';
import { ConsoleCeremonies, consolePeople, exitOf, freePort, PostgresCluster, realCeremonyClock, REPO_ROOT, startMainProcess, type MainProcess } from '@kms/testing';

/*
 * The whole KMS in one process (key service, rotation scheduler, audit projector, anomaly detector,
 * notice relay) on a PostgreSQL cluster of the test's own. The cluster crashes (kill -9) and is
 * frozen; the process must stay up, report not-ready while the database is gone, and come back to
 * ready with every follower working again, without a restart.
 */

const MAIN = resolve(__dirname, 'main.ts');
const BOOT_TIMEOUT_MS = 90_000;
// Generous: on a loaded 2-core CI machine each readiness probe and follower retry is slow; a failure prints which checks stayed down.
const RECOVERY_TIMEOUT_MS = 90_000;

interface Readiness {
  status: number;
  checks: Record<string, string>;
}

describe('standalone KMS when its PostgreSQL fails', () => {
  let cluster: PostgresCluster;
  let main: MainProcess | undefined;
  let client: KmsClient;
  let httpUrl = '';
  let adminToken = '';
  let keyId = '';
  const schema = `faults_${process.pid}`;
  const stateDir = join(REPO_ROOT, '.kms-state', 'test', `standalone-faults-${process.pid}`);
  const credentialFile = join(stateDir, 'bootstrap.json');

  async function readiness(): Promise<Readiness> {
    try {
      const res = await fetch(`${httpUrl}/readyz`, { signal: AbortSignal.timeout(10_000) });
      const body = (await res.json()) as { checks?: Array<{ name: string; status: string }> };
      return { status: res.status, checks: Object.fromEntries((body.checks ?? []).map((c) => [c.name, c.status])) };
    } catch (e) {
      return { status: -1, checks: { fetch: String(e) } };
    }
  }

  async function untilReady(): Promise<Readiness> {
    const deadline = Date.now() + RECOVERY_TIMEOUT_MS;
    let last = await readiness();
    while (last.status !== 200 && Date.now() < deadline) {
      expect(main?.child.exitCode).toBeNull();
      await new Promise((r) => setTimeout(r, 500));
      last = await readiness();
    }
    // What a failure needs explained: the process's own account of the recovery.
    if (last.status !== 200) process.stderr.write(`not ready after ${RECOVERY_TIMEOUT_MS} ms: ${JSON.stringify(last.checks)}\n--- standalone output (tail) ---\n${(main?.output() ?? '').slice(-6000)}\n`);
    return last;
  }

  /** A key lifecycle change after the outage reaches the audit projector's read model. */
  async function projected(): Promise<boolean> {
    const requestId = randomUUID();
    await client.call('RotateKey', { key_id: keyId }, { token: adminToken, requestId, deadlineMs: 30_000 });
    const db = new Client({ connectionString: cluster.url('kms'), options: `-c search_path=${schema}` });
    await db.connect();
    try {
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        const r = await db.query(`SELECT 1 FROM rm_audit_log WHERE request_id = $1`, [requestId]).catch(() => ({ rowCount: 0 }));
        if (r.rowCount === 1) return true;
        await new Promise((res) => setTimeout(res, 250));
      }
      return false;
    } finally {
      await db.end();
    }
  }

  beforeAll(async () => {
    cluster = await PostgresCluster.create('standalone-faults');
    await rm(stateDir, { recursive: true, force: true });
    const ports = { grpc: await freePort(), http: await freePort() };
    main = startMainProcess(MAIN, {
      KMS_STANDALONE: '1',
      KMS_DATABASE_URL: cluster.url('kms'),
      KMS_DATABASE_SCHEMA: schema,
      KMS_STATE_DIR: stateDir,
      KMS_MASTER_KEY: randomBytes(32).toString('base64'),
      KMS_HSM_ENABLED: 'false',
      KMS_BOOTSTRAP_CREDENTIAL_FILE: credentialFile,
      KMS_GRPC_ADDRESS: `127.0.0.1:${ports.grpc}`,
      KMS_HTTP_ADDRESS: `127.0.0.1:${ports.http}`,
      // KMIP starts in standalone mode: on a port the OS picks, never 5696.
      KMS_KMIP_ADDRESS: '127.0.0.1:0',
      KMS_DB_CONNECT_TIMEOUT_MS: '1000',
      KMS_DB_STATEMENT_TIMEOUT_MS: '2000',
      KAFKA_BROKERS: '',
    });
    main.url.catch(() => undefined); // standalone logs its own banner; readiness is polled below
    httpUrl = `http://127.0.0.1:${ports.http}`;
    const booted = Date.now();
    while ((await readiness()).status !== 200 && Date.now() - booted < BOOT_TIMEOUT_MS) {
      if (main.child.exitCode !== null) throw new Error(`standalone exited during boot:\n${main.output()}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    expect((await readiness()).status).toBe(200);
    client = createKmsClient(`127.0.0.1:${ports.grpc}`);
    // The administrator enrols with the one-time link standalone wrote, then signs in (security key + TOTP).
    const bootstrap = JSON.parse(await readFile(credentialFile, 'utf8')) as { identity_id: string; enrolment_token: string };
    const ceremonies = new ConsoleCeremonies({ httpUrl, origin: `http://localhost:${ports.http}`, clock: realCeremonyClock });
    adminToken = (await consolePeople(ceremonies, { identityId: bootstrap.identity_id, enrolmentToken: bootstrap.enrolment_token }).signIn(bootstrap.identity_id)).accessToken;
    const key = await client.call<{ key_id: string }>(
      'CreateKey',
      { tenant: 'acme', name: 'standalone-faults', purpose: 'SERVICE_ENVELOPE', algorithm: 'AES_256_GCM' },
      { token: adminToken, requestId: randomUUID() },
    );
    keyId = key.key_id;
  }, BOOT_TIMEOUT_MS + 60_000);

  afterAll(async () => {
    client?.close();
    if (main && main.child.exitCode === null) {
      const exited = exitOf(main.child);
      main.child.kill('SIGKILL');
      await exited;
    }
    await cluster?.destroy();
    await rm(stateDir, { recursive: true, force: true });
  }, 60_000);

  it('stays up through a PostgreSQL crash, reports not ready, and every follower resumes once it is back', async () => {
    await cluster.kill9();
    await new Promise((r) => setTimeout(r, 4000));
    const down = await readiness();
    expect(main?.child.exitCode).toBeNull();
    expect(down.status).toBe(503);

    await cluster.start();
    const up = await untilReady();
    expect({ status: up.status, down: Object.entries(up.checks).filter(([, v]) => v !== 'ok') }).toEqual({ status: 200, down: [] }); // on failure, the checks still down are printed
    expect(Object.values(up.checks).every((s) => s === 'ok')).toBe(true);
    expect(Object.keys(up.checks).length).toBeGreaterThan(3);
    expect(await projected()).toBe(true);
  }, 200_000);

  it('stays up while PostgreSQL is frozen for 15 s, then recovers by itself', async () => {
    cluster.freeze();
    let down: Readiness;
    try {
      await new Promise((r) => setTimeout(r, 6000));
      down = await readiness();
      await new Promise((r) => setTimeout(r, 9000));
    } finally {
      cluster.thaw();
    }
    expect(main?.child.exitCode).toBeNull();
    expect(down.status).toBe(503);
    const up = await untilReady();
    expect({ status: up.status, down: Object.entries(up.checks).filter(([, v]) => v !== 'ok') }).toEqual({ status: 200, down: [] }); // on failure, the checks still down are printed
    expect(await projected()).toBe(true);
    // Nothing in the log says the process met an unhandled error.
    expect(main?.output()).not.toMatch(/Unhandled 'error' event|UnhandledPromiseRejection/);
  }, 200_000);
});
