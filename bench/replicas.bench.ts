/*
 * Two key-service replicas on one PostgreSQL schema (issue #23, "several key-service replicas"): each
 * is its own process (apps/key-service/src/main.ts, as deployed), the same master key, the same
 * database. Prints, in one run:
 *   - audited Encrypt through one replica at BENCH_CONCURRENCY in flight, then the same load split
 *     over both (half the lanes each, from two load-generator processes), and the combined ratio;
 *   - how long a change made through one replica takes to be seen through the other (a rotation on
 *     A, GetKey on B polled every millisecond or so), over BENCH_VISIBILITY_ROUNDS rounds, against the
 *     1 s target.
 * Run: npm run bench:replicas   (BENCH_CONCURRENCY=64 BENCH_SECONDS=5 BENCH_WARMUP_SECONDS=1
 *                               BENCH_VISIBILITY_ROUNDS=20 BENCH_DATABASE_URL=...)
 * Figures, never an exit code for a missed target (STYLE.md 13); it exits non-zero only when it
 * could not measure. On a 2-core machine both replicas, PostgreSQL and the load generators share the
 * same two cores: the combined figure shows the replicas cooperate (no lost or refused call), not a
 * scale-out gain, which needs cores of their own.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKmsClient, KMS_PACKAGE, KMS_PROTO_FILE, KMS_SERVICE, type KmsClient, PROTO_ROOT } from '@kms/contracts';
import { dropSchema, ensureDatabase } from '@kms/persistence-postgres';
import { freePort, type KeyServiceProcess, killHard, processPeople, spawnKeyService, waitForGrpc } from '../apps/key-service/src/testing/key-service-process';
import { LoadGenerator } from './load-generator';
import { integerSetting } from './settings';
import type { LoadJob, LoadResult } from './load-job';

const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/kms_bench';
const BOOT_TIMEOUT_MS = 120_000;
const DEADLINE_MS = 10_000;
const VISIBILITY_TARGET_MS = 1000;
const VISIBILITY_GIVE_UP_MS = 10_000;

const settings = {
  concurrency: integerSetting('BENCH_CONCURRENCY', 64, 2, 4096),
  seconds: integerSetting('BENCH_SECONDS', 5, 1, 600),
  warmupSeconds: integerSetting('BENCH_WARMUP_SECONDS', 1, 0, 60),
  visibilityRounds: integerSetting('BENCH_VISIBILITY_ROUNDS', 20, 1, 1000),
  databaseUrl: process.env['BENCH_DATABASE_URL'] || DEFAULT_DATABASE_URL,
};

async function startReplica(env: Record<string, string>): Promise<KeyServiceProcess> {
  const svc = spawnKeyService(env, { grpc: await freePort(), http: await freePort() });
  await waitForGrpc(svc, BOOT_TIMEOUT_MS);
  return svc;
}

function encryptJob(address: string, keyId: string, token: string, concurrency: number, name: string): LoadJob {
  return {
    name,
    address,
    protoFile: join(PROTO_ROOT, KMS_PROTO_FILE),
    includeDirs: [PROTO_ROOT],
    service: `${KMS_PACKAGE}.${KMS_SERVICE}`,
    method: 'Encrypt',
    requests: [{ key_id: keyId, plaintext: randomBytes(1024), aad: randomBytes(16) }],
    metadata: { authorization: `Bearer ${token}` },
    itemsPerCall: 1,
    batchResults: false,
    concurrency,
    warmupSeconds: settings.warmupSeconds,
    seconds: settings.seconds,
    deadlineMs: DEADLINE_MS,
  };
}

function line(label: string, r: LoadResult): string {
  return `  ${label.padEnd(34)} ${r.callsPerSecond.toFixed(0).padStart(7)} calls/s   p50 ${r.p50Ms.toFixed(2).padStart(6)} ms   p99 ${r.p99Ms.toFixed(2).padStart(7)} ms   failed ${r.failedCalls}`;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

async function main(): Promise<void> {
  const schema = `bench_replicas_${process.pid}`;
  const credentialFile = join(tmpdir(), `kms-bench-replicas-${process.pid}.json`);
  const env = {
    KMS_DATABASE_URL: settings.databaseUrl,
    KMS_DATABASE_SCHEMA: schema,
    // One master key: every replica unwraps the same key material and verifies the same tokens.
    KMS_MASTER_KEY: randomBytes(32).toString('base64'),
    KMS_BOOTSTRAP_CREDENTIAL_FILE: credentialFile,
    KMS_HSM_ENABLED: 'false',
    KAFKA_BROKERS: '',
  };
  const replicas: KeyServiceProcess[] = [];
  const clients: KmsClient[] = [];
  const generators: LoadGenerator[] = [];
  try {
    await ensureDatabase(settings.databaseUrl);
    // The first replica makes the schema and the first administrator; the second joins a store that exists.
    replicas.push(await startReplica(env));
    replicas.push(await startReplica(env));
    const [a, b] = replicas.map((r) => createKmsClient(r.grpcAddress));
    clients.push(a, b);
    const { people, admin } = await processPeople(credentialFile, replicas[0].httpPort);
    const adminToken = (await people.signIn(admin.identity_id)).accessToken;
    const workload = await a.call<{ client_id: string; client_secret: string }>('RegisterIdentity', { name: 'bench-replicas', kind: 'WORKLOAD', roles: [] }, { token: adminToken });
    const key = await a.call<{ key_id: string }>(
      'CreateKey',
      {
        tenant: 'bench',
        name: `replicas-${randomUUID()}`,
        purpose: 'SERVICE_ENVELOPE',
        algorithm: 'AES_256_GCM',
        policy: { grants: { [workload.client_id]: { permissions: ['ENCRYPT', 'DECRYPT', 'ADMINISTER'] } } },
      },
      { token: adminToken },
    );
    // A token issued by one replica is accepted by the other (same signing key from the same master key).
    const token = (await a.call<{ access_token: string }>('IssueToken', { client_id: workload.client_id, client_secret: workload.client_secret })).access_token;
    const sample = await b.call<{ ciphertext: Buffer }>('Encrypt', { key_id: key.key_id, plaintext: Buffer.from('through B') }, { token });
    const opened = await a.call<{ plaintext: Buffer }>('Decrypt', { ciphertext: sample.ciphertext }, { token });
    if (opened.plaintext.toString() !== 'through B') throw new Error('correctness: a ciphertext made through one replica did not open through the other');

    generators.push(await LoadGenerator.start(), await LoadGenerator.start());
    const half = Math.floor(settings.concurrency / 2);
    const one = await generators[0].run(encryptJob(replicas[0].grpcAddress, key.key_id, token, settings.concurrency, 'one replica'));
    const [viaA, viaB] = await Promise.all([
      generators[0].run(encryptJob(replicas[0].grpcAddress, key.key_id, token, half, 'replica A')),
      generators[1].run(encryptJob(replicas[1].grpcAddress, key.key_id, token, settings.concurrency - half, 'replica B')),
    ]);
    const combined = viaA.callsPerSecond + viaB.callsPerSecond;

    // Visibility: rotate through A, poll B until it reports the new primary version.
    const lags: number[] = [];
    for (let round = 0; round < settings.visibilityRounds; round++) {
      const rotated = await a.call<{ primary_version: number }>('RotateKey', { key_id: key.key_id }, { token, requestId: randomUUID() });
      const started = process.hrtime.bigint();
      for (;;) {
        const seen = await b.call<{ primary_version: number }>('GetKey', { key_id: key.key_id }, { token });
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        if (seen.primary_version >= rotated.primary_version) {
          lags.push(ms);
          break;
        }
        if (ms > VISIBILITY_GIVE_UP_MS) throw new Error(`replica B did not see version ${rotated.primary_version} within ${VISIBILITY_GIVE_UP_MS} ms`);
        await new Promise((r) => setTimeout(r, 1));
      }
    }
    lags.sort((x, y) => x - y);

    const failed = one.failedCalls + viaA.failedCalls + viaB.failedCalls;
    process.stdout.write(
      [
        `Two key-service replicas (separate processes) on one PostgreSQL schema; ${cpus().length} cores, load ${loadavg()[0].toFixed(2)}`,
        `Audited Encrypt 1 KiB, ${settings.concurrency} in flight, ${settings.seconds} s window`,
        line('one replica', one),
        line(`replica A (${half} in flight)`, viaA),
        line(`replica B (${settings.concurrency - half} in flight)`, viaB),
        `  combined through both              ${combined.toFixed(0).padStart(7)} calls/s   = ${(combined / one.callsPerSecond).toFixed(2)}× one replica; failed calls ${failed}`,
        `A change through one replica seen through the other (${lags.length} rotations, GetKey polled)`,
        `  p50 ${quantile(lags, 0.5).toFixed(1)} ms   p99 ${quantile(lags, 0.99).toFixed(1)} ms   max ${lags[lags.length - 1].toFixed(1)} ms   target < ${VISIBILITY_TARGET_MS} ms: ${lags[lags.length - 1] < VISIBILITY_TARGET_MS ? 'met' : 'NOT met'}`,
        '',
      ].join('\n'),
    );
    if (failed > 0) process.stdout.write(`first error: ${one.firstError ?? viaA.firstError ?? viaB.firstError}\n`);
  } finally {
    for (const g of generators) await g.stop();
    for (const c of clients) c.close();
    for (const r of replicas) await killHard(r);
    await dropSchema({ url: settings.databaseUrl, schema }).catch(() => undefined);
    await rm(credentialFile, { force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
