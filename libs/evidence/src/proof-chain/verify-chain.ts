import { decodeProofToken, type JwkSetFile, PROOF_TOKEN_TYPE, proofTokenHash, verifyJwsSignature } from './proof-token';

/** Why a token breaks the chain. */
export type ChainProblem = 'MALFORMED' | 'WRONG_TENANT' | 'UNKNOWN_KEY' | 'BAD_SIGNATURE' | 'SEQ_GAP' | 'PREV_MISMATCH' | 'TIME_REGRESSION' | 'EMPTY';

export type ChainVerdict =
  | { ok: true; tenant: string; count: number; firstSeq: number; lastSeq: number; lastHash: string; kids: string[] }
  | { ok: false; tenant: string; count: number; problem: ChainProblem; index: number; seq?: number; message: string };

export interface VerifyChainOptions {
  /**
   * Where the tokens start when they are a recent window, not the whole chain: the seq and hash of
   * the token before the first one given. Default: the chain's start (seq 1, prev null).
   */
  after?: { seq: number; hash: string };
  /** Refuse an empty list of tokens (a restore expecting RPTs). Default false. */
  requireTokens?: boolean;
}

/**
 * Verify a tenant's chain of regulatory proof tokens offline: every signature with the JWK Set
 * (by `kid`, retired root versions included), gapless `seq`, each `prev` the SHA-256 of the token
 * before, and `iat` never going back. Stops at the first bad token and names it (index and seq).
 */
export function verifyChain(tenant: string, tokens: readonly string[], jwks: JwkSetFile, options: VerifyChainOptions = {}): ChainVerdict {
  const byKid = new Map<string, JwkSetFile['keys'][number]>();
  for (const k of jwks.keys ?? []) if (typeof k.kid === 'string') byKid.set(k.kid, k);
  const bad = (index: number, problem: ChainProblem, message: string, seq?: number): ChainVerdict => ({
    ok: false,
    tenant,
    count: tokens.length,
    problem,
    index,
    ...(seq !== undefined ? { seq } : {}),
    message: `token ${index}${seq !== undefined ? ` (seq ${seq})` : ''}: ${message}`,
  });
  if (tokens.length === 0) {
    if (options.requireTokens) return bad(0, 'EMPTY', 'the chain has no tokens');
    return { ok: true, tenant, count: 0, firstSeq: 0, lastSeq: options.after?.seq ?? 0, lastHash: options.after?.hash ?? '', kids: [] };
  }
  let expectedSeq = (options.after?.seq ?? 0) + 1;
  let expectedPrev: string | null = options.after?.hash ?? null;
  let lastIat = Number.NEGATIVE_INFINITY;
  let lastHash = '';
  const kids = new Set<string>();
  for (const [index, token] of tokens.entries()) {
    let decoded: ReturnType<typeof decodeProofToken>;
    try {
      decoded = decodeProofToken(token);
    } catch (e) {
      return bad(index, 'MALFORMED', (e as Error).message);
    }
    const { header, payload, signingInput, signature } = decoded;
    if (header.typ !== PROOF_TOKEN_TYPE) return bad(index, 'MALFORMED', `typ is not ${PROOF_TOKEN_TYPE}`, payload.seq);
    const jwk = byKid.get(header.kid);
    if (!jwk) return bad(index, 'UNKNOWN_KEY', `kid ${header.kid} is not in the JWK Set`, payload.seq);
    if (jwk.alg !== undefined && jwk.alg !== header.alg) return bad(index, 'BAD_SIGNATURE', `alg ${header.alg} is not the key's ${jwk.alg}`, payload.seq);
    if (!verifyJwsSignature(header.alg, jwk, signingInput, signature)) return bad(index, 'BAD_SIGNATURE', `signature does not verify with ${header.kid}`, payload.seq);
    if (payload.tenant !== tenant) return bad(index, 'WRONG_TENANT', `tenant is ${payload.tenant}, not ${tenant}`, payload.seq);
    if (payload.seq !== expectedSeq) return bad(index, 'SEQ_GAP', `seq ${payload.seq} where ${expectedSeq} was expected`, payload.seq);
    if (payload.prev !== expectedPrev) return bad(index, 'PREV_MISMATCH', 'prev is not the SHA-256 of the token before', payload.seq);
    if (payload.iat < lastIat) return bad(index, 'TIME_REGRESSION', `iat ${payload.iat} is earlier than the token before (${lastIat})`, payload.seq);
    lastIat = payload.iat;
    lastHash = proofTokenHash(token);
    expectedPrev = lastHash;
    expectedSeq += 1;
    kids.add(header.kid);
  }
  return { ok: true, tenant, count: tokens.length, firstSeq: (options.after?.seq ?? 0) + 1, lastSeq: expectedSeq - 1, lastHash, kids: [...kids] };
}

/** A chain export: what `GetProofChain` pages and `/v1/rpt/{tenant}` serve, in one file. */
export interface ProofChainExport {
  tenant: string;
  tokens: string[];
  after?: { seq: number; hash: string };
}

/** Verify a chain export against a JWK Set file (the `kms verify-chain` command). */
export function verifyChainExport(chain: ProofChainExport, jwks: JwkSetFile): ChainVerdict {
  return verifyChain(chain.tenant, chain.tokens, jwks, chain.after ? { after: chain.after } : {});
}
