import { readFileSync } from 'node:fs';
import { type JwkSetFile, type ProofChainExport, verifyChainExport } from '@kms/evidence';
import { CliUsageError } from '../request/cli-usage.error';

function readJson(path: string, field: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CliUsageError(`${field}: cannot read ${path}: ${(e as Error).message}`, field);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new CliUsageError(`${field}: ${path} is not JSON`, field);
  }
}

/**
 * A chain export as `kms get-proof-chain --json` prints it (tokens as objects with `token`) or as
 * `{tenant, tokens: [compact JWS…], after?}`.
 */
export function parseChainExport(value: unknown, field = 'chain'): ProofChainExport {
  if (typeof value !== 'object' || value === null) throw new CliUsageError(`${field}: must be a JSON object with tenant and tokens`, field);
  const v = value as { tenant?: unknown; tokens?: unknown; after?: unknown };
  if (typeof v.tenant !== 'string' || !Array.isArray(v.tokens)) throw new CliUsageError(`${field}: must have tenant (string) and tokens (array)`, field);
  const tokens = v.tokens.map((t, i) => {
    const token = typeof t === 'string' ? t : typeof t === 'object' && t !== null ? (t as { token?: unknown }).token : undefined;
    if (typeof token !== 'string') throw new CliUsageError(`${field}: tokens[${i}] is not a compact JWS`, field);
    return token;
  });
  const after = v.after as { seq?: unknown; hash?: unknown } | undefined;
  if (after !== undefined && (typeof after.seq !== 'number' || typeof after.hash !== 'string')) throw new CliUsageError(`${field}: after must be {seq, hash}`, field);
  return { tenant: v.tenant, tokens, ...(after ? { after: { seq: after.seq as number, hash: after.hash as string } } : {}) };
}

/** `kms verify-chain <chain.json> --jwks <jwks.json>`: offline; exit 0 when the chain holds, 1 naming the first bad token. */
export function verifyChainFiles(chainPath: string, jwksPath: string, options: { json: boolean }, io: { stdout: (s: string) => void; stderr: (s: string) => void }): number {
  const chain = parseChainExport(readJson(chainPath, 'chain'));
  const jwks = readJson(jwksPath, 'jwks') as JwkSetFile;
  if (typeof jwks !== 'object' || jwks === null || !Array.isArray(jwks.keys)) throw new CliUsageError('jwks: must be a JWK Set ({"keys": [...]})', 'jwks');
  const verdict = verifyChainExport(chain, jwks);
  if (options.json) {
    io.stdout(`${JSON.stringify(verdict, null, 2)}\n`);
  } else if (verdict.ok) {
    io.stdout(`OK: ${verdict.tenant}: ${verdict.count} token(s), seq ${verdict.firstSeq}..${verdict.lastSeq}, signed by ${verdict.kids.join(', ') || '-'}; head ${verdict.lastHash}\n`);
  } else {
    io.stdout(`BROKEN: ${verdict.tenant}: ${verdict.problem}: ${verdict.message}\n`);
  }
  return verdict.ok ? 0 : 1;
}
