import { type KeyServiceUnderTest, startKeyServiceUnderTest } from './key-service.e2e-harness';

/*
 * A body the HTTP server cannot read (not JSON, over the size limit) is refused before any route runs.
 * It is answered as problem details naming the body (never a 500, never quoting it) and audited like
 * any refused call: `HttpRequest`, MALFORMED_REQUEST, under the caller its bearer token names.
 */
describe('HTTP request bodies the server refuses', () => {
  let kms: KeyServiceUnderTest;

  beforeAll(async () => {
    kms = await startKeyServiceUnderTest('http_body_refusal');
  }, 120_000);
  afterAll(async () => {
    await kms?.stop();
  });

  const audited = async (requestId: string) =>
    (await kms.db.query<{ operation: string; outcome: string; error_code: string; actor: string; details: Record<string, unknown> }>('SELECT operation, outcome, error_code, actor, details FROM audit_records WHERE request_id = $1', [requestId])).rows;

  async function post(body: string, requestId: string, token?: string): Promise<{ status: number; problem: Record<string, unknown>; text: string }> {
    const res = await fetch(`${kms.httpUrl}/v1/console/api/approvals/00000000-0000-4000-8000-000000000000/approve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': requestId, ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body,
    });
    const text = await res.text();
    return { status: res.status, problem: JSON.parse(text) as Record<string, unknown>, text };
  }

  it('refuses JSON that does not parse with 400 MALFORMED_REQUEST naming the body, audited under the caller, the body quoted nowhere', async () => {
    const secretish = '{"material": "c2VjcmV0LW1hdGVyaWFs" oops';
    const requestId = '7b1e2c1a-8d52-4d7e-9a41-0a2d9e0b1c01';
    const answer = await post(secretish, requestId, await kms.admin.token());
    expect(answer).toMatchObject({ status: 400, problem: { code: 'MALFORMED_REQUEST', field: 'body', status: 400 } });
    expect(answer.text).not.toContain('c2VjcmV0');
    const rows = await audited(requestId);
    expect(rows).toEqual([
      expect.objectContaining({ operation: 'HttpRequest', outcome: 'FAILURE', error_code: 'MALFORMED_REQUEST', actor: kms.admin.identityId, details: expect.objectContaining({ route: 'POST /v1/console/api/approvals/00000000-0000-4000-8000-000000000000/approve', problem: 'entity.parse.failed' }) }),
    ]);
    expect(JSON.stringify(rows)).not.toContain('c2VjcmV0');
  });

  it('refuses a body over the limit with 413, audited with its size; an anonymous caller is recorded as such', async () => {
    const requestId = '7b1e2c1a-8d52-4d7e-9a41-0a2d9e0b1c02';
    const big = JSON.stringify({ padding: 'x'.repeat(200 * 1024) });
    const answer = await post(big, requestId);
    expect(answer).toMatchObject({ status: 413, problem: { code: 'MALFORMED_REQUEST', field: 'body', status: 413 } });
    expect(await audited(requestId)).toEqual([
      expect.objectContaining({ operation: 'HttpRequest', error_code: 'MALFORMED_REQUEST', actor: 'unauthenticated', details: expect.objectContaining({ problem: 'entity.too.large', requestBytes: big.length }) }),
    ]);
    // The service still answers (the refused connection was closed, not the server).
    expect((await fetch(`${kms.httpUrl}/healthz`)).status).toBe(200);
  });
});
