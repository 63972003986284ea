import { randomBytes, randomUUID } from 'node:crypto';
import { connect, constants as h2, type ClientHttp2Session } from 'node:http2';
import { gzipSync } from 'node:zlib';
import { ALL_METHODS, KMS_PACKAGE, serviceOfMethod } from '@kms/contracts';
import { startKeyServiceUnderTest, type KeyServiceUnderTest } from './key-service.e2e-harness';

/*
 * 5,000 gRPC calls whose frames are fuzzed at the wire (HTTP/2, no gRPC client in between): random
 * and mutated message bytes, truncated frames, frames claiming to be compressed, bad compression,
 * oversized length prefixes, bad deadline headers, two messages for a unary method. None may be
 * answered INTERNAL (that is for bugs), every call must leave an audit record under its request id,
 * and the service must serve normally afterwards.
 */

const CALLS = 5000;
const IN_FLIGHT = 32;
const SEED_MESSAGE = Buffer.from('0a2430303030303030302d303030302d343030302d383030302d303030303030303030303030120568656c6c6f', 'hex');

function serviceOf(method: string): string {
  return serviceOfMethod(method);
}

function frame(payload: Buffer, options: { compressed?: boolean; declaredLength?: number } = {}): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(options.compressed ? 1 : 0, 0);
  header.writeUInt32BE(options.declaredLength ?? payload.length, 1);
  return Buffer.concat([header, payload]);
}

function mutate(base: Buffer, rnd: () => number): Buffer {
  const out = Buffer.from(base);
  const flips = 1 + Math.floor(rnd() * 6);
  for (let i = 0; i < flips; i++) out[Math.floor(rnd() * out.length)] = Math.floor(rnd() * 256);
  return out;
}

/** A deterministic generator, so a failure can be replayed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface Fuzzed {
  kind: string;
  headers: Record<string, string>;
  body: Buffer;
}

function fuzzCase(i: number, rnd: () => number, token: string): Fuzzed {
  const headers: Record<string, string> = {};
  if (rnd() < 0.5) headers['authorization'] = `Bearer ${token}`;
  const size = Math.floor(rnd() * 300);
  switch (i % 9) {
    case 0:
      return { kind: 'random bytes', headers, body: frame(randomBytes(size)) };
    case 1:
      return { kind: 'mutated message', headers, body: frame(mutate(SEED_MESSAGE, rnd)) };
    case 2:
      return { kind: 'truncated frame', headers, body: frame(randomBytes(size + 10)).subarray(0, 5 + Math.floor(rnd() * (size + 5))) };
    case 3:
      return { kind: 'compressed flag, no encoding', headers, body: frame(randomBytes(size), { compressed: true }) };
    case 4:
      return { kind: 'gzip garbage', headers: { ...headers, 'grpc-encoding': 'gzip' }, body: frame(randomBytes(size + 1), { compressed: true }) };
    case 5:
      return { kind: 'gzip of garbage', headers: { ...headers, 'grpc-encoding': 'gzip' }, body: frame(gzipSync(randomBytes(size)), { compressed: true }) };
    case 6:
      return { kind: 'oversized length', headers, body: frame(randomBytes(16), { declaredLength: 64 * 1024 * 1024 + Math.floor(rnd() * 1e6) }) };
    case 7:
      return { kind: 'bad grpc-timeout', headers: { ...headers, 'grpc-timeout': `${Math.floor(rnd() * 99)}x` }, body: frame(randomBytes(size)) };
    default:
      return { kind: 'two messages', headers, body: Buffer.concat([frame(mutate(SEED_MESSAGE, rnd)), frame(randomBytes(size))]) };
  }
}

/** One raw gRPC call; resolves with its grpc-status (or -1 when the stream died without one). */
function rawCall(session: ClientHttp2Session, path: string, requestId: string, f: Fuzzed): Promise<number> {
  return new Promise((resolve) => {
    const req = session.request({
      [h2.HTTP2_HEADER_METHOD]: 'POST',
      [h2.HTTP2_HEADER_PATH]: path,
      'content-type': 'application/grpc',
      te: 'trailers',
      'x-request-id': requestId,
      ...f.headers,
    });
    let statusCode: number | undefined;
    const take = (headers: Record<string, unknown>): void => {
      const s = headers['grpc-status'];
      if (s !== undefined && statusCode === undefined) statusCode = Number(s);
    };
    req.on('response', take);
    req.on('trailers', take);
    req.on('data', () => undefined);
    req.on('close', () => resolve(statusCode ?? -1));
    req.on('error', () => undefined);
    req.setTimeout(30_000, () => req.close(h2.NGHTTP2_CANCEL));
    req.end(f.body);
  });
}

describe('5,000 fuzzed gRPC frames', () => {
  let kms: KeyServiceUnderTest;

  beforeAll(async () => {
    kms = await startKeyServiceUnderTest('grpc_fuzz');
  }, 60_000);

  afterAll(async () => {
    await kms?.stop();
  });

  it('never answers INTERNAL, audits every call under its request id, and stays healthy', async () => {
    const token = await kms.admin.token();
    const address = kms.service.grpcAddress;
    const session = connect(`http://${address}`);
    session.on('error', () => undefined);
    const rnd = prng(20261204);
    const methods = [...ALL_METHODS];
    const sent: Array<{ requestId: string; kind: string; method: string; status: number }> = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < CALLS) {
        const i = next++;
        const method = methods[Math.floor(rnd() * methods.length)] as string;
        const f = fuzzCase(i, rnd, token);
        const requestId = `fuzz-${i}-${randomUUID()}`;
        const status = await rawCall(session, `/${KMS_PACKAGE}.${serviceOf(method)}/${method}`, requestId, f);
        sent.push({ requestId, kind: f.kind, method, status });
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    session.close();

    const byStatus: Record<string, number> = {};
    for (const s of sent) byStatus[String(s.status)] = (byStatus[String(s.status)] ?? 0) + 1;
    console.log(`grpc fuzz: ${sent.length} calls, by grpc-status ${JSON.stringify(byStatus)}`);
    expect(sent).toHaveLength(CALLS);
    const internal = sent.filter((s) => s.status === 13 || s.status === -1).map((s) => `${s.kind} → ${s.method}: ${s.status}`);
    expect(internal.slice(0, 10)).toEqual([]);

    // Every call left an audit record under the request id it sent (what could be known: method, peer).
    const audited = await kms.db.query<{ request_id: string; n: number }>(
      `SELECT request_id, count(*)::int AS n FROM audit_records WHERE request_id LIKE 'fuzz-%' GROUP BY request_id`,
    );
    const counts = new Map(audited.rows.map((r) => [r.request_id, r.n]));
    const unaudited = sent.filter((s) => counts.get(s.requestId) !== 1).map((s) => `${s.kind} → ${s.method}: ${s.status} (${counts.get(s.requestId) ?? 0} records)`);
    expect(unaudited.slice(0, 10)).toEqual([]);
    const malformed = await kms.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_records WHERE request_id LIKE 'fuzz-%' AND error_code = 'MALFORMED_REQUEST'`);
    expect(malformed.rows[0].n).toBeGreaterThan(CALLS / 4);

    // And the service still serves: a real key, a real round trip.
    const workload = await kms.register('fuzz-app', 'WORKLOAD');
    const key = await kms.admin.call<{ key_id: string }>('CreateKey', {
      tenant: 'fuzz',
      name: 'after',
      purpose: 'DATA_PROTECTION',
      algorithm: 'AES_256_GCM',
      policy: { grants: { [workload.identityId]: { permissions: ['ENCRYPT', 'DECRYPT'] } } },
    });
    const ct = await workload.call<{ ciphertext: Buffer }>('Encrypt', { key_id: key.key_id, plaintext: Buffer.from('still here') });
    const pt = await workload.call<{ plaintext: Buffer }>('Decrypt', { ciphertext: ct.ciphertext });
    expect(Buffer.from(pt.plaintext).toString()).toBe('still here');
  }, 300_000);

  it('audits a call to every method whose text fields hold a NUL, an unpaired surrogate or a key id that is not a UUID', async () => {
    const token = await kms.admin.token();
    const session = connect(`http://${kms.service.grpcAddress}`);
    session.on('error', () => undefined);
    // Fields 1-8 as length-delimited text: what every method's first string fields would decode to.
    // 0xED 0xA0 0x80 is an encoded lone surrogate (U+D800), which PostgreSQL's jsonb refuses like NUL.
    const texts = [Buffer.from('a\u0000b'), Buffer.from([0x6b, 0xed, 0xa0, 0x80]), Buffer.from('not-a-uuid\u0000')];
    const message = (t: Buffer): Buffer =>
      Buffer.concat(Array.from({ length: 8 }, (_, n) => Buffer.concat([Buffer.from([((n + 1) << 3) | 2, t.length]), t])));
    const sent: Array<{ requestId: string; method: string; status: number }> = [];
    for (const method of ALL_METHODS) {
      for (const [i, t] of texts.entries()) {
        const requestId = `nul-${method}-${i}-${randomUUID()}`;
        const f = { kind: 'text', headers: { authorization: `Bearer ${token}` }, body: frame(message(t)) };
        const status = await rawCall(session, `/${KMS_PACKAGE}.${serviceOf(method)}/${method}`, requestId, f);
        sent.push({ requestId, method, status });
      }
    }
    session.close();
    const audited = await kms.db.query<{ request_id: string; n: number }>(`SELECT request_id, count(*)::int AS n FROM audit_records WHERE request_id LIKE 'nul-%' GROUP BY request_id`);
    const counts = new Map(audited.rows.map((r) => [r.request_id, r.n]));
    expect(sent.filter((s) => s.status === 13 || s.status === -1 || counts.get(s.requestId) !== 1).map((s) => `${s.method}: ${s.status}`)).toEqual([]);
  }, 120_000);
});
