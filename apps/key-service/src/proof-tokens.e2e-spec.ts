import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { status } from '@grpc/grpc-js';
import { compactVerify, decodeProtectedHeader, importJWK, type JWK } from 'jose';
import { KmsCallError } from '@kms/contracts';
import { type JwkSetFile, proofTokenHash, verifyChain } from '@kms/evidence';
import { withOneCharChanged } from '@kms/testing';
import { type Actor, type KeyServiceUnderTest, startKeyServiceUnderTest } from './key-service.e2e-harness';

const MINUTE = 60_000;
const KMS_BIN = resolve(__dirname, '../../../bin/kms.js');

/** Run the `kms` CLI; resolves with its exit code and output. */
function kmsCli(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [KMS_BIN, ...args], { env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, out: stdout + stderr });
    });
  });
}

type ProofTokenMsg = {
  token: string;
  tenant: string;
  seq: string;
  kid: string;
  token_hash: string;
  prev: string;
};

describe('regulatory proof tokens (end to end)', () => {
  let kms: KeyServiceUnderTest;
  let platform: Actor;
  let scheduler: Actor;
  let rootKeyId: string;
  const tenant = `rpt-${randomUUID().slice(0, 8)}`;
  const issued: ProofTokenMsg[] = [];

  beforeAll(async () => {
    kms = await startKeyServiceUnderTest('e2e_proof_tokens');
    platform = await kms.register('tenant-platform', 'WORKLOAD');
    scheduler = await kms.register('kms-rotation-scheduler', 'WORKLOAD', ['rotation-scheduler']);
    rootKeyId = (
      await kms.admin.call<{ key_id: string }>('CreateKey', {
        tenant,
        name: 'root',
        purpose: 'ROOT_TENANT',
        algorithm: 'ECDSA_P256_SHA256',
        policy: { grants: { [platform.identityId]: { permissions: ['SIGN', 'VERIFY'] } } },
      })
    ).key_id;
    // Three tokens per root version, two rotations in between, the clock moving a minute per token.
    for (let i = 1; i <= 9; i++) {
      issued.push(await platform.call<ProofTokenMsg>('IssueProofToken', { tenant, claim_json: Buffer.from(JSON.stringify({ filing: `F-${i}`, amount: i * 100 })) }));
      kms.clock.advance(MINUTE);
      if (i % 3 === 0 && i < 9) await scheduler.call('RotateKey', { key_id: rootKeyId, reason: 'SCHEDULED' });
    }
  });
  afterAll(async () => {
    await kms?.stop();
  });

  async function jwksOverHttp(): Promise<JwkSetFile> {
    const res = await fetch(`${kms.httpUrl}/v1/rpt/${tenant}/jwks`, { headers: { authorization: `Bearer ${await platform.token()}` } });
    expect(res.status).toBe(200);
    return (await res.json()) as JwkSetFile;
  }

  it('signs each claim with the primary root version, hash-linked across two rotations, and jose verifies every token', async () => {
    expect(issued.map((t) => [t.seq, t.kid])).toEqual(issued.map((_, i) => [String(i + 1), `${rootKeyId}:${Math.floor(i / 3) + 1}`]));
    expect(issued[0]?.prev).toBe('');
    for (let i = 1; i < issued.length; i++) expect(issued[i]?.prev).toBe(proofTokenHash(issued[i - 1]?.token ?? ''));
    const jwks = await jwksOverHttp();
    expect(jwks.keys.map((k) => k.kid).sort()).toEqual([1, 2, 3].map((v) => `${rootKeyId}:${v}`));
    for (const t of issued) {
      const header = decodeProtectedHeader(t.token);
      expect(header).toEqual({ alg: 'ES256', typ: 'rpt+jwt', kid: t.kid });
      const jwk = jwks.keys.find((k) => k.kid === header.kid);
      if (!jwk) throw new Error(`no JWK for ${String(header.kid)}`);
      const { payload } = await compactVerify(t.token, await importJWK(jwk as JWK, 'ES256'));
      const claims = JSON.parse(Buffer.from(payload).toString('utf8')) as { tenant: string; seq: number; iat: number; prev: string | null; claim: { filing: string } };
      expect(claims).toMatchObject({ tenant, seq: Number(t.seq), prev: t.prev === '' ? null : t.prev, claim: { filing: `F-${t.seq}` } });
    }
    // iat follows the service clock, one minute apart.
    const iats = issued.map((t) => (JSON.parse(Buffer.from(t.token.split('.')[1] ?? '', 'base64url').toString()) as { iat: number }).iat);
    expect(iats.slice(1).map((iat, i) => iat - (iats[i] ?? 0))).toEqual(new Array(8).fill(60));
  });

  it('serves the chain in pages over gRPC and HTTP, and verifyChain passes on it (library, HTTP endpoint, CLI offline)', async () => {
    const pages: ProofTokenMsg[] = [];
    for (let from = 1; from > 0; ) {
      const page = await platform.call<{ tokens: ProofTokenMsg[]; next_seq: string; last_seq: string }>('GetProofChain', { tenant, from_seq: from, page_size: 4 });
      expect(page.last_seq).toBe('9');
      pages.push(...page.tokens);
      from = Number(page.next_seq);
    }
    expect(pages.map((t) => t.token)).toEqual(issued.map((t) => t.token));
    const httpPage = await fetch(`${kms.httpUrl}/v1/rpt/${tenant}?from_seq=8`, { headers: { authorization: `Bearer ${await platform.token()}` } });
    expect(httpPage.status).toBe(200);
    const body = (await httpPage.json()) as { tokens: Array<{ seq: number; token: string }>; next_seq: number };
    expect(body.tokens.map((t) => t.seq)).toEqual([8, 9]);
    expect(body.next_seq).toBe(0);

    const jwks = await jwksOverHttp();
    expect(verifyChain(tenant, pages.map((t) => t.token), jwks)).toMatchObject({ ok: true, count: 9, lastSeq: 9 });
    const verification = await fetch(`${kms.httpUrl}/v1/rpt/${tenant}/verifications`, { method: 'POST', headers: { authorization: `Bearer ${await platform.token()}` } });
    expect(await verification.json()).toMatchObject({ ok: true, count: 9, lastSeq: 9, lastHash: issued[8]?.token_hash });

    const dir = mkdtempSync(join(tmpdir(), 'kms-rpt-'));
    try {
      writeFileSync(join(dir, 'jwks.json'), JSON.stringify(jwks));
      writeFileSync(join(dir, 'chain.json'), JSON.stringify({ tenant, tokens: pages }));
      const good = await kmsCli(['verify-chain', join(dir, 'chain.json'), '--jwks', join(dir, 'jwks.json')]);
      expect(good).toMatchObject({ code: 0 });
      expect(good.out).toContain(`OK: ${tenant}: 9 token(s), seq 1..9`);
      const tampered = pages.map((t) => t.token);
      tampered[4] = withOneCharChanged(tampered[4] ?? '', (tampered[4] ?? '').lastIndexOf('.') + 8);
      writeFileSync(join(dir, 'tampered.json'), JSON.stringify({ tenant, tokens: tampered }));
      const bad = await kmsCli(['verify-chain', join(dir, 'tampered.json'), '--jwks', join(dir, 'jwks.json')]);
      expect(bad.code).toBe(1);
      expect(bad.out).toContain('BROKEN');
      expect(bad.out).toContain('token 4 (seq 5)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a caller without SIGN on the root key, a claim that is not a JSON object, and a tenant without a root key', async () => {
    const stranger = await kms.register('stranger', 'WORKLOAD');
    const denied = await stranger.call('IssueProofToken', { tenant, claim_json: Buffer.from('{"a":1}') }).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(KmsCallError);
    expect((denied as KmsCallError).code).toBe(status.PERMISSION_DENIED);
    for (const [claim, field] of [['[1,2]', 'claim_json'], ['not json', 'claim_json']] as const) {
      const bad = await platform.call('IssueProofToken', { tenant, claim_json: Buffer.from(claim) }).catch((e: unknown) => e);
      expect({ code: (bad as KmsCallError).code, field: (bad as KmsCallError).field }).toEqual({ code: status.INVALID_ARGUMENT, field });
    }
    const none = await platform.call('IssueProofToken', { tenant: 'no-root-here', claim_json: Buffer.from('{"a":1}') }).catch((e: unknown) => e);
    expect((none as KmsCallError).field).toBe('tenant');
    // None of the refusals moved the chain.
    const page = await platform.call<{ last_seq: string }>('GetProofChain', { tenant });
    expect(page.last_seq).toBe('9');
  });
});
