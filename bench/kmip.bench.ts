/*
 * KMIP Encrypt beside gRPC Encrypt, in the same run, on the same service, key and workload identity
 * (docs/kmip.md, "Benchmark"). Both sides are driven in-process by closed loops of the same shape:
 * gRPC with the workload's bearer token, KMIP over mutual TLS with its bound client certificate (one
 * connection per lane: KMIP answers one request at a time per connection).
 * Run: npx tsx bench/kmip.bench.ts   (BENCH_CONCURRENCY=16 BENCH_SECONDS=5 BENCH_WARMUP_SECONDS=1 BENCH_DATABASE_URL=...)
 * Prints figures and a ratio; never an exit code for a figure (STYLE.md 13).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IdentityService } from '@kms/application';
import { loadConfig } from '@kms/config';
import { createKmsClient } from '@kms/contracts';
import type { BootstrapEnrolment } from '@kms/key-service-grpc';
import { startKeyService } from '@kms/key-service-app';
import { certificateIdentity, issueKmipClientCertificate, KmipClient, Tag, ttlv } from '@kms/kmip';
import { dropSchema } from '@kms/persistence-postgres';
import { ConsoleCeremonies, consolePeople, freePort, realCeremonyClock } from '@kms/testing';
import { closedLoop } from './closed-loop';
import type { LoadResult } from './load-job';

const PLAINTEXT_BYTES = 1024;

function setting(name: string, fallback: number): number {
  const raw = process.env[name];
  const n = raw ? Number(raw) : fallback;
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name}: must be a whole number >= 1, got "${raw}"`);
  return n;
}

function row(r: LoadResult): string {
  return `${r.name.padEnd(28)} ${r.callsPerSecond.toFixed(0).padStart(8)} calls/s   p50 ${r.p50Ms.toFixed(2)} ms   p99 ${r.p99Ms.toFixed(2)} ms   failed ${r.failedCalls}${r.firstError ? ` (${r.firstError})` : ''}`;
}

async function main(): Promise<void> {
  const concurrency = setting('BENCH_CONCURRENCY', 16);
  const seconds = setting('BENCH_SECONDS', 5);
  const warmupSeconds = setting('BENCH_WARMUP_SECONDS', 1);
  const databaseUrl = process.env['BENCH_DATABASE_URL'] || 'postgres://postgres@127.0.0.1:5432/kms_bench';
  const schema = `bench_kmip_${Date.now().toString(36)}_${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'kms-kmip-bench-'));
  const [grpcPort, httpPort] = [await freePort(), await freePort()];
  const config = loadConfig({
    KMS_DATABASE_URL: databaseUrl,
    KMS_DATABASE_SCHEMA: schema,
    KMS_MASTER_KEY: randomBytes(32).toString('base64'),
    KMS_GRPC_ADDRESS: `127.0.0.1:${grpcPort}`,
    KMS_HTTP_ADDRESS: `127.0.0.1:${httpPort}`,
    KMS_KMIP_ENABLED: 'true',
    KMS_KMIP_ADDRESS: '127.0.0.1:0',
    KMS_KMIP_TLS_DIR: join(dir, 'tls'),
  });
  const handed: { enrolment?: BootstrapEnrolment } = {};
  const service = await startKeyService(config, { logger: false, onBootstrapEnrolment: (c) => void (handed.enrolment = c) });
  const client = createKmsClient(`127.0.0.1:${grpcPort}`);
  const kmipClients: KmipClient[] = [];
  try {
    const admin = handed.enrolment;
    if (!admin || !service.kmip) throw new Error('the service started without a bootstrap administrator or without KMIP');
    const people = consolePeople(new ConsoleCeremonies({ httpUrl: service.httpUrl, origin: `http://localhost:${httpPort}`, clock: realCeremonyClock }), admin);
    const adminToken = (await people.signIn(admin.identityId)).accessToken;
    const workload = await client.call<{ client_id: string; client_secret: string }>('RegisterIdentity', { name: 'bench-kmip', kind: 'WORKLOAD', roles: [] }, { token: adminToken });
    const key = await client.call<{ key_id: string }>(
      'CreateKey',
      { name: 'bench-kmip', purpose: 'SERVICE_ENVELOPE', algorithm: 'AES_256_GCM', protection_level: 'SOFTWARE', policy: { grants: { [workload.client_id]: { permissions: ['ENCRYPT', 'DECRYPT'] } } } },
      { token: adminToken },
    );
    const cert = issueKmipClientCertificate(join(dir, 'tls'), 'bench-kmip');
    await service.app.get(IdentityService).bindClientCertificate(workload.client_id, certificateIdentity(cert.cert), { actor: admin.identityId, correlationId: 'bench-kmip' });
    const token = (await client.call<{ access_token: string }>('IssueToken', { client_id: workload.client_id, client_secret: workload.client_secret })).access_token;
    const plaintext = randomBytes(PLAINTEXT_BYTES);
    for (let i = 0; i < concurrency; i++) {
      kmipClients.push(await KmipClient.connect({ host: '127.0.0.1', port: service.kmip.port, cert: cert.cert, key: cert.key, ca: service.kmip.ca }));
    }
    // Correctness first: both protocols round-trip.
    const kmip0 = kmipClients[0] as KmipClient;
    const sealed = await kmip0.call('Encrypt', [ttlv.text(Tag.UniqueIdentifier, key.key_id), ttlv.bytes(Tag.Data, plaintext)]);
    const opened = await kmip0.call('Decrypt', [
      ttlv.text(Tag.UniqueIdentifier, key.key_id),
      ttlv.bytes(Tag.Data, sealed.req(Tag.Data, 'ByteString')),
      ttlv.bytes(Tag.IvCounterNonce, sealed.req(Tag.IvCounterNonce, 'ByteString')),
    ]);
    if (!opened.req(Tag.Data, 'ByteString').equals(plaintext)) throw new Error('correctness: KMIP Encrypt → Decrypt did not give back the plaintext');

    const shape = { concurrency, seconds, warmupSeconds, itemsPerCall: 1 };
    console.log(`KMIP vs gRPC Encrypt, 1 KiB, ${concurrency} lanes, ${seconds} s after ${warmupSeconds} s warm-up, audit on\n`);
    const grpc = await closedLoop({ ...shape, name: 'gRPC Encrypt (bearer token)' }, async () => {
      await client.call('Encrypt', { key_id: key.key_id, plaintext }, { token });
      return 0;
    });
    // One connection per lane in flight: a KMIP connection carries one request at a time.
    const idle = [...kmipClients];
    const kmip = await closedLoop({ ...shape, name: 'KMIP Encrypt (mutual TLS)' }, async () => {
      const connection = idle.pop();
      if (!connection) throw new Error('bench: more KMIP calls in flight than connections');
      try {
        await connection.call('Encrypt', [ttlv.text(Tag.UniqueIdentifier, key.key_id), ttlv.bytes(Tag.Data, plaintext)]);
      } finally {
        idle.push(connection);
      }
      return 0;
    });
    console.log(row(grpc));
    console.log(row(kmip));
    console.log(`\nKMIP / gRPC: ${(kmip.callsPerSecond / Math.max(1, grpc.callsPerSecond)).toFixed(2)}`);
  } finally {
    for (const c of kmipClients) c.close();
    client.close();
    await service.close();
    await dropSchema({ url: databaseUrl, schema }).catch((e: unknown) => console.error(`bench: could not drop schema ${schema}:`, e));
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exitCode = 1;
});
