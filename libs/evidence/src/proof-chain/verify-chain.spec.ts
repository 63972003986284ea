import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { withOneCharChanged } from '@kms/testing';
import { PROOF_TOKEN_TYPE, type ProofTokenPayload, proofTokenHash, proofTokenSigningInput } from './proof-token';
import { verifyChain } from './verify-chain';

interface TestKey {
  kid: string;
  privateKey: KeyObject;
  jwk: Record<string, unknown>;
}

function testKey(kid: string): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { kid, privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' } };
}

function signToken(key: TestKey, payload: ProofTokenPayload): string {
  const input = proofTokenSigningInput({ alg: 'ES256', typ: PROOF_TOKEN_TYPE, kid: key.kid }, payload);
  return `${input}.${sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

/** A chain of `n` tokens, the signing key changing after every third (two rotations for n > 6). */
function chain(keys: TestKey[], n: number, tenant = 'acme'): string[] {
  const out: string[] = [];
  for (let seq = 1; seq <= n; seq++) {
    const key = keys[Math.min(Math.floor((seq - 1) / 3), keys.length - 1)] as TestKey;
    out.push(signToken(key, { tenant, seq, iat: 1_780_000_000 + seq * 60, prev: out.length ? proofTokenHash(out[out.length - 1] as string) : null, claim: { n: seq } }));
  }
  return out;
}

/** The token with one character of its signature (third part) changed. */
function signatureFlipped(token: string): string {
  return withOneCharChanged(token, token.lastIndexOf('.') + 10);
}

/** The token with one character of its payload (second part) changed. */
function payloadFlipped(token: string): string {
  const start = token.indexOf('.') + 1;
  return withOneCharChanged(token, start + Math.floor((token.lastIndexOf('.') - start) / 2));
}

describe('verifyChain', () => {
  const keys = [testKey('root:1'), testKey('root:2'), testKey('root:3')];
  const jwks = { keys: keys.map((k) => k.jwk) };
  const tokens = chain(keys, 8);

  it('accepts a chain signed across two root rotations and reports its head', () => {
    const verdict = verifyChain('acme', tokens, jwks);
    expect(verdict).toEqual({ ok: true, tenant: 'acme', count: 8, firstSeq: 1, lastSeq: 8, lastHash: proofTokenHash(tokens[7] as string), kids: ['root:1', 'root:2', 'root:3'] });
  });

  it('names the first bad token: a changed signature, a changed payload', () => {
    const sig = [...tokens];
    sig[4] = signatureFlipped(sig[4] as string);
    expect(verifyChain('acme', sig, jwks)).toMatchObject({ ok: false, problem: 'BAD_SIGNATURE', index: 4, seq: 5 });
    const payload = [...tokens];
    payload[2] = payloadFlipped(payload[2] as string);
    expect(verifyChain('acme', payload, jwks)).toMatchObject({ ok: false, index: 2 });
  });

  it('names a reordering and a dropped token', () => {
    const reordered = [...tokens];
    [reordered[3], reordered[4]] = [reordered[4] as string, reordered[3] as string];
    expect(verifyChain('acme', reordered, jwks)).toMatchObject({ ok: false, problem: 'SEQ_GAP', index: 3, seq: 5 });
    const dropped = tokens.filter((_, i) => i !== 5);
    expect(verifyChain('acme', dropped, jwks)).toMatchObject({ ok: false, problem: 'SEQ_GAP', index: 5, seq: 7 });
  });

  it('refuses a validly signed token that does not link to the one before, or goes back in time', () => {
    const key = keys[2] as TestKey;
    const forged = [...tokens];
    forged[7] = signToken(key, { tenant: 'acme', seq: 8, iat: 1_780_001_000, prev: proofTokenHash(tokens[5] as string), claim: {} });
    expect(verifyChain('acme', forged, jwks)).toMatchObject({ ok: false, problem: 'PREV_MISMATCH', index: 7, seq: 8 });
    const earlier = [...tokens];
    earlier[7] = signToken(key, { tenant: 'acme', seq: 8, iat: 1_700_000_000, prev: proofTokenHash(tokens[6] as string), claim: {} });
    expect(verifyChain('acme', earlier, jwks)).toMatchObject({ ok: false, problem: 'TIME_REGRESSION', index: 7, seq: 8 });
  });

  it('refuses a kid missing from the JWK Set (an unpublished or destroyed version) and another tenant', () => {
    expect(verifyChain('acme', tokens, { keys: jwks.keys.filter((k) => k['kid'] !== 'root:2') })).toMatchObject({ ok: false, problem: 'UNKNOWN_KEY', index: 3, seq: 4 });
    expect(verifyChain('other', tokens, jwks)).toMatchObject({ ok: false, problem: 'WRONG_TENANT', index: 0, seq: 1 });
  });

  it('verifies a recent window from the head before it, and refuses a window whose start does not link', () => {
    const after = { seq: 5, hash: proofTokenHash(tokens[4] as string) };
    expect(verifyChain('acme', tokens.slice(5), jwks, { after })).toMatchObject({ ok: true, firstSeq: 6, lastSeq: 8 });
    expect(verifyChain('acme', tokens.slice(5), jwks, { after: { seq: 5, hash: proofTokenHash(tokens[3] as string) } })).toMatchObject({ ok: false, problem: 'PREV_MISMATCH', index: 0 });
    expect(verifyChain('acme', [], jwks, { requireTokens: true })).toMatchObject({ ok: false, problem: 'EMPTY' });
    expect(verifyChain('acme', ['not-a-token'], jwks)).toMatchObject({ ok: false, problem: 'MALFORMED', index: 0 });
  });
});
