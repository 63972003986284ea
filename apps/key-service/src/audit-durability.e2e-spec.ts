import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { Client } from 'pg';
import { createKmsClient, KmsCallError } from '@kms/contracts';
import { dropSchema, ensureDatabase, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';
import { freePort, killHard, processPeople, type KeyServiceProcess, sigkill, spawnKeyService, waitForGrpc } from './testing/key-service-process';

const CONCURRENCY = 64;
/** Stall the audit log once this many Encrypt calls were acknowledged (the service is warm)... */
const STALL_AFTER_ACKS = 300;
/** ...keep it stalled this long with the burst running, then SIGKILL. Well under the 10 s audit flush timeout. */
const STALL_MS = 1_000;
/** Crash anyway after this long (a service too slow to reach STALL_AFTER_ACKS). */
const KILL_AFTER_MS = 15_000;
/** Hard cap on calls, so a service that never gets killed cannot run the burst forever. */
const MAX_CALLS = 20_000;
const CALL_DEADLINE_MS = 30_000;
const BOOT_TIMEOUT_MS = 60_000;

// Length a multiple of 3, so base64(marker + suffix) starts with base64(marker): encoded copies are found too.
const MARKER = `PLAINTEXT-MARKER-${randomBytes(6).toString('hex')}-`;
const MARKER_ENCODINGS = [MARKER, Buffer.from(MARKER).toString('base64'), Buffer.from(MARKER).toString('hex')];

type EncryptResponse = { ciphertext: Buffer; key_id: string; key_version: number };
type DecryptResponse = { plaintext: Buffer; key_id: string; key_version: number };

interface Acknowledged {
  plaintext: Buffer;
  ciphertext: Buffer;
}

interface Failure {
  requestId: string;
  code: string;
  /** Whether the failure was seen after SIGKILL was sent (a cut call) or before (a real error). */
  afterKill: boolean;
}

interface BurstResult {
  issued: number;
  /** In the order the responses arrived. */
  acknowledged: Map<string, Acknowledged>;
  failures: Failure[];
  /** Acknowledged between the audit lock being granted and the kill. */
  acknowledgedWhileStalled: number;
  killedAfterMs: number;
}

function describeError(e: unknown): string {
  if (e instanceof KmsCallError) return `${status[e.code] ?? e.code}${e.errorCode ? `/${e.errorCode}` : ''}`;
  return e instanceof Error ? e.message : String(e);
}

/**
 * CONCURRENCY workers send Encrypt calls in a loop. Once STALL_AFTER_ACKS were acknowledged, a lock
 * on audit_records stalls audit commits (as a slow fsync would) and, STALL_MS later, the service gets
 * SIGKILL with calls in flight: a crash, no graceful flush. Why the stall: commits take a few ms and the
 * client reads responses later than that, so without it a service that answers before its audit
 * commit almost never loses an acknowledged record at the moment of the kill, and the test could not
 * tell it apart. With it, every such answer during the stall is a record the crash throws away.
 */
async function crashMidBurst(svc: KeyServiceProcess, keyId: string, token: string, auditLock: Client): Promise<BurstResult> {
  const client = createKmsClient(svc.grpcAddress);
  const acknowledged = new Map<string, Acknowledged>();
  const failures: Failure[] = [];
  const started = Date.now();
  let issued = 0;
  let killedAt: number | undefined;
  let ackedAtLock: number | undefined;
  let ackedAtKill = 0;
  let stall: Promise<void> | undefined;
  const crash = (): void => {
    if (killedAt !== undefined) return;
    killedAt = Date.now();
    ackedAtKill = acknowledged.size;
    sigkill(svc);
  };
  const fallback = setTimeout(crash, KILL_AFTER_MS);
  const stallThenCrash = async (): Promise<void> => {
    try {
      // SHARE conflicts with the ROW EXCLUSIVE lock every INSERT takes: granted once the current flush
      // commits, it holds back every later one. Bounded, so a stuck lock cannot hang the test.
      await auditLock.query(`BEGIN; SET LOCAL lock_timeout = '10s'; LOCK TABLE audit_records IN SHARE MODE`);
      ackedAtLock = acknowledged.size;
      await new Promise((r) => setTimeout(r, STALL_MS));
    } finally {
      crash();
    }
  };

  const worker = async (): Promise<void> => {
    while (killedAt === undefined && issued < MAX_CALLS) {
      issued++;
      const requestId = randomUUID();
      const plaintext = Buffer.from(MARKER + requestId);
      try {
        const res = await client.call<EncryptResponse>(
          'Encrypt',
          { key_id: keyId, plaintext },
          { token, requestId, deadlineMs: CALL_DEADLINE_MS },
        );
        // A response that reached us was sent by the service, so its audit record must be durable.
        acknowledged.set(requestId, { plaintext, ciphertext: res.ciphertext });
        if (stall === undefined && acknowledged.size >= STALL_AFTER_ACKS) stall = stallThenCrash();
      } catch (e) {
        failures.push({ requestId, code: describeError(e), afterKill: killedAt !== undefined });
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    await stall;
  } finally {
    clearTimeout(fallback);
    client.close();
    // Only after the kill: the dead service's blocked INSERT then meets a closed connection and rolls back.
    await auditLock.query('ROLLBACK');
  }
  return {
    issued,
    acknowledged,
    failures,
    acknowledgedWhileStalled: ackedAtLock === undefined ? 0 : ackedAtKill - ackedAtLock,
    killedAfterMs: (killedAt ?? Date.now()) - started,
  };
}

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}

describe('audit durability when the key service crashes mid-burst', () => {
  const url = testDatabaseUrl();
  const schema = uniqueTestSchema('audit_durability');
  // One master key for both runs: the restarted service must unwrap the same key material.
  const env = {
    KMS_DATABASE_URL: url,
    KMS_DATABASE_SCHEMA: schema,
    KMS_MASTER_KEY: randomBytes(32).toString('base64'),
    // The first administrator's one-time enrolment link, written on first start (instead of printed).
    KMS_BOOTSTRAP_CREDENTIAL_FILE: join(tmpdir(), `kms-bootstrap-${schema}.json`),
  };
  let svc: KeyServiceProcess | undefined;
  let db: Client | undefined;
  let auditLock: Client | undefined;

  async function start(): Promise<KeyServiceProcess> {
    const ports = { grpc: await freePort(), http: await freePort() };
    svc = spawnKeyService(env, ports);
    await waitForGrpc(svc, BOOT_TIMEOUT_MS);
    return svc;
  }

  beforeAll(async () => {
    await ensureDatabase(url);
    db = new Client({ connectionString: url, options: `-c search_path=${schema}` });
    await db.connect();
    auditLock = new Client({ connectionString: url, options: `-c search_path=${schema}` });
    await auditLock.connect();
  });

  afterAll(async () => {
    await killHard(svc);
    await db?.end();
    await auditLock?.end();
    await dropSchema({ url, schema });
    await rm(env.KMS_BOOTSTRAP_CREDENTIAL_FILE, { force: true });
  }, 30_000);

  it('has a durable audit row for every acknowledged Encrypt, none with plaintext, and serves again after a restart', async () => {
    const pg = db as Client;
    const t0 = Date.now();

    // Given a running service and an AES key.
    const first = await start();
    const setup = createKmsClient(first.grpcAddress);
    let keyId: string;
    let token: string;
    try {
      // A person (the bootstrap administrator) registers the workload and creates its key.
      // They enrol a security key and an authenticator app with the link, then sign in with both.
      const { people, admin: bootstrap } = await processPeople(env.KMS_BOOTSTRAP_CREDENTIAL_FILE, first.httpPort);
      const opts = (t: string) => ({ token: t, requestId: randomUUID(), deadlineMs: CALL_DEADLINE_MS });
      const admin = (await people.signIn(bootstrap.identity_id)).accessToken;
      const workload = await setup.call<{ client_id: string; client_secret: string }>('RegisterIdentity', { name: `durability-${randomUUID()}`, kind: 'WORKLOAD' }, opts(admin));
      const key = await setup.call<{ key_id: string }>(
        'CreateKey',
        {
          tenant: 'acme',
          name: `durability-${randomUUID()}`,
          purpose: 'SERVICE_ENVELOPE',
          algorithm: 'AES_256_GCM',
          policy: { grants: { [workload.client_id]: { permissions: ['ENCRYPT', 'DECRYPT'] } } },
        },
        opts(admin),
      );
      keyId = key.key_id;
      token = (await setup.call<{ access_token: string }>('IssueToken', { client_id: workload.client_id, client_secret: workload.client_secret }, { deadlineMs: CALL_DEADLINE_MS })).access_token;
    } finally {
      setup.close();
    }

    // When it is SIGKILLed in the middle of a burst of Encrypt calls, while audit commits are stalled.
    const burst = await crashMidBurst(first, keyId, token, auditLock as Client);
    const exit = await first.exited;
    const acked = [...burst.acknowledged.keys()];
    const beforeKill = burst.failures.filter((f) => !f.afterKill);
    const cut = burst.failures.filter((f) => f.afterKill);
    console.log(
      `audit durability: ${burst.issued} issued, ${acked.length} acknowledged (${burst.acknowledgedWhileStalled} while the audit ` +
        `was stalled), ${cut.length} cut ${JSON.stringify(countBy(cut.map((f) => f.code)))}, killed after ${burst.killedAfterMs} ms`,
    );

    // The crash really was a SIGKILL in the middle of the burst, and nothing failed before it.
    expect(exit).toEqual({ code: null, signal: 'SIGKILL' });
    expect(beforeKill).toEqual([]);
    expect(acked.length).toBeGreaterThan(0);
    expect(cut.length).toBeGreaterThan(0);

    // Then every acknowledged call has exactly one durable SUCCESS record naming the key.
    const { rows } = await pg.query<{ request_id: string; n: number }>(
      `SELECT request_id, count(*)::int AS n FROM audit_records
        WHERE operation = 'Encrypt' AND outcome = 'SUCCESS' AND key_id = $1 AND request_id = ANY($2::text[])
        GROUP BY request_id`,
      [keyId, acked],
    );
    const recorded = new Map(rows.map((r) => [r.request_id, r.n]));
    const missing = acked.filter((id) => !recorded.has(id));
    const duplicated = rows.filter((r) => r.n !== 1).map((r) => r.request_id);
    expect({ missing: missing.length, firstMissing: missing.slice(0, 5), duplicated }).toEqual({ missing: 0, firstMissing: [], duplicated: [] });

    // And no record holds the plaintext, raw or encoded, in any column (the whole row as text).
    const rowText = `strpos(r::text, $1) > 0`;
    const leaks: number[] = [];
    for (const needle of MARKER_ENCODINGS) {
      leaks.push((await pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_records r WHERE ${rowText}`, [needle])).rows[0].n);
    }
    expect(leaks).toEqual([0, 0, 0]);
    // The same search does find a value that is in the rows, so a zero above means something.
    const probe = await pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_records r WHERE ${rowText}`, [acked[acked.length - 1]]);
    expect(probe.rows[0].n).toBe(1);

    // And a restart on the same schema serves again: acknowledged ciphertexts decrypt, calls are audited.
    const second = await start();
    const client = createKmsClient(second.grpcAddress);
    try {
      for (const id of [acked[0], acked[acked.length - 1]]) {
        const sent = burst.acknowledged.get(id) as Acknowledged;
        const res = await client.call<DecryptResponse>('Decrypt', { ciphertext: sent.ciphertext }, { token, requestId: randomUUID(), deadlineMs: CALL_DEADLINE_MS });
        expect({ keyId: res.key_id, plaintext: Buffer.from(res.plaintext).toString() }).toEqual({ keyId, plaintext: sent.plaintext.toString() });
      }
      const requestId = randomUUID();
      await client.call<EncryptResponse>('Encrypt', { key_id: keyId, plaintext: Buffer.from(MARKER) }, { token, requestId, deadlineMs: CALL_DEADLINE_MS });
      const after = await pg.query<{ outcome: string }>(`SELECT outcome FROM audit_records WHERE request_id = $1 AND operation = 'Encrypt'`, [requestId]);
      expect(after.rows).toEqual([{ outcome: 'SUCCESS' }]);
    } finally {
      client.close();
    }
    console.log(`audit durability: whole test ${Date.now() - t0} ms`);
  }, 120_000);
});
