import { status } from '@grpc/grpc-js';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '@kms/testing';
import type { AddressInfo } from 'node:net';
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { startTracing, type Tracing } from '@kms/platform';
import { startKeyServiceUnderTest, type KeyServiceUnderTest } from './key-service.e2e-harness';

const run = promisify(execFile);

/** The span's parent span id (the SDK's field name changed across versions). */
function parentOf(s: ReadableSpan): string | undefined {
  const x = s as unknown as { parentSpanId?: string; parentSpanContext?: { spanId: string } };
  return x.parentSpanContext?.spanId ?? x.parentSpanId;
}

describe('traces: gRPC call → audit commit → event append', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing | undefined;
  let kms: KeyServiceUnderTest;

  beforeAll(async () => {
    tracing = startTracing({ enabled: true, serviceName: 'kms-test' }, [new SimpleSpanProcessor(exporter)]);
    kms = await startKeyServiceUnderTest('e2e_tracing');
  }, 60_000);

  afterAll(async () => {
    await kms?.stop();
    await tracing?.shutdown();
    trace.disable();
  });

  it('a change is one trace: the RPC span, its commit of events and audit record, and the event append inside it', async () => {
    const key = await kms.admin.call<{ key_id: string }>('CreateKey', { tenant: 'trace', name: 'k1', purpose: 'SERVICE_ENVELOPE', algorithm: 'AES_256_GCM' });
    exporter.reset();
    await kms.admin.call('RotateKey', { key_id: key.key_id });
    const spans = exporter.getFinishedSpans();
    const rpc = spans.find((s) => s.name === 'kms.rpc RotateKey');
    const commit = spans.find((s) => s.name === 'kms.change.commit');
    const append = spans.find((s) => s.name === 'kms.events.append');
    expect([rpc, commit, append].map((s) => s?.name)).toEqual(['kms.rpc RotateKey', 'kms.change.commit', 'kms.events.append']);
    expect(parentOf(commit as ReadableSpan)).toBe(rpc?.spanContext().spanId);
    expect(parentOf(append as ReadableSpan)).toBe(commit?.spanContext().spanId);
    expect(new Set([rpc, commit, append].map((s) => s?.spanContext().traceId)).size).toBe(1);
    expect(rpc?.attributes['rpc.method']).toBe('RotateKey');
  });

  it('a crypto call is the RPC span with its audit commit as a child; a refusal marks the span failed with its code', async () => {
    const workload = await kms.register('trace-app', 'WORKLOAD');
    const key = await kms.admin.call<{ key_id: string }>('CreateKey', {
      tenant: 'trace',
      name: 'k2',
      purpose: 'SERVICE_ENVELOPE',
      algorithm: 'AES_256_GCM',
      policy: { grants: { [workload.identityId]: { permissions: ['ENCRYPT'] } } },
    });
    exporter.reset();
    await workload.call('Encrypt', { key_id: key.key_id, plaintext: Buffer.from('x') });
    await expect(workload.call('Decrypt', { ciphertext: Buffer.from('no') })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    const spans = exporter.getFinishedSpans();
    const encrypt = spans.find((s) => s.name === 'kms.rpc Encrypt');
    const audit = spans.find((s) => s.name === 'kms.audit.commit' && parentOf(s) === encrypt?.spanContext().spanId);
    expect(audit?.name).toBe('kms.audit.commit');
    const refused = spans.find((s) => s.name === 'kms.rpc Decrypt');
    expect(refused?.status).toMatchObject({ code: 2, message: expect.stringMatching(/^[A-Z_]+$/) });
  });
});

describe('traces exported over OTLP/HTTP', () => {
  let server: Server;
  const received: Array<{ path: string; type: string | undefined; bytes: number }> = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ path: req.url ?? '', type: req.headers['content-type'], bytes: Buffer.concat(chunks).length });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  it('sends spans to the configured collector over OTLP/HTTP', async () => {
    const { port } = server.address() as AddressInfo;
    const probe = resolve(REPO_ROOT, 'libs/platform/src/tracing/otlp-probe.main.ts');
    await run(process.execPath, ['--import', 'tsx', probe, `http://127.0.0.1:${port}/v1/traces`], { cwd: REPO_ROOT, timeout: 30_000 });
    expect(received.length).toBeGreaterThan(0);
    expect(received[0]).toMatchObject({ path: '/v1/traces' });
    expect(received[0].bytes).toBeGreaterThan(0);
  }, 60_000);
});
