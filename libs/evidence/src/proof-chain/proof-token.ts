import { createHash, createPublicKey, constants, type JsonWebKey, verify as verifySignature } from 'node:crypto';

/** The JWS `typ` of a regulatory proof token. */
export const PROOF_TOKEN_TYPE = 'rpt+jwt';

/** A regulatory proof token's protected header. */
export interface ProofTokenHeader {
  alg: string;
  typ: string;
  /** `<key_id>:<version>` of the root-key version that signed it. */
  kid: string;
}

/** A regulatory proof token's payload: the chain link, the tenant and the tenant platform's claim. */
export interface ProofTokenPayload {
  tenant: string;
  seq: number;
  iat: number;
  /** Hex SHA-256 of the previous token's compact serialization; null for the first token. */
  prev: string | null;
  claim: unknown;
}

/** A JWK Set as the KMS publishes it (`/.well-known/jwks.json`). */
export interface JwkSetFile {
  keys: Array<JsonWebKey & { kid?: string; alg?: string }>;
}

/** The hash a token's successor carries in `prev`: hex SHA-256 of the compact serialization. */
export function proofTokenHash(token: string): string {
  return createHash('sha256').update(token, 'ascii').digest('hex');
}

function b64urlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** The JWS signing input `<header>.<payload>` (RFC 7515 §5.1). */
export function proofTokenSigningInput(header: ProofTokenHeader, payload: ProofTokenPayload): string {
  return `${b64urlJson(header)}.${b64urlJson(payload)}`;
}

/** JOSE algorithm of a signing algorithm of the KMS (RFC 7518, RFC 8037). */
export function joseAlgorithm(algorithm: string): 'ES256' | 'EdDSA' | 'PS256' | undefined {
  if (algorithm === 'ECDSA_P256_SHA256') return 'ES256';
  if (algorithm === 'ED25519') return 'EdDSA';
  if (algorithm === 'RSA_PSS_3072_SHA256') return 'PS256';
  return undefined;
}

/** A compact JWS split and decoded; throws naming the part that does not parse. */
export function decodeProofToken(token: string): { header: ProofTokenHeader; payload: ProofTokenPayload; signingInput: string; signature: Buffer } {
  if (typeof token !== 'string') throw new Error('not a string');
  const parts = token.split('.');
  if (parts.length !== 3) throw new Error('not a compact JWS (three parts)');
  const [h, p, s] = parts as [string, string, string];
  const b64url = /^[A-Za-z0-9_-]*$/;
  if (!b64url.test(h) || !b64url.test(p) || !b64url.test(s)) throw new Error('not base64url');
  let header: ProofTokenHeader;
  let payload: ProofTokenPayload;
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as ProofTokenHeader;
  } catch {
    throw new Error('header is not JSON');
  }
  try {
    payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as ProofTokenPayload;
  } catch {
    throw new Error('payload is not JSON');
  }
  if (typeof header !== 'object' || header === null || typeof header.kid !== 'string' || typeof header.alg !== 'string') throw new Error('header lacks alg or kid');
  if (typeof payload !== 'object' || payload === null) throw new Error('payload is not an object');
  if (!Number.isSafeInteger(payload.seq) || payload.seq < 1) throw new Error('payload seq is not a positive integer');
  if (!Number.isSafeInteger(payload.iat)) throw new Error('payload iat is not an integer');
  if (typeof payload.tenant !== 'string') throw new Error('payload tenant is not a string');
  if (payload.prev !== null && (typeof payload.prev !== 'string' || !/^[0-9a-f]{64}$/.test(payload.prev))) throw new Error('payload prev is not a SHA-256 hex digest');
  return { header, payload, signingInput: `${h}.${p}`, signature: Buffer.from(s, 'base64url') };
}

/** Whether `signature` is a valid JWS signature of `signingInput` under the JWK for `alg`. */
export function verifyJwsSignature(alg: string, jwk: JsonWebKey, signingInput: string, signature: Buffer): boolean {
  try {
    const key = createPublicKey({ key: jwk, format: 'jwk' });
    const data = Buffer.from(signingInput, 'ascii');
    switch (alg) {
      case 'ES256':
        return key.asymmetricKeyType === 'ec' && signature.length === 64 && verifySignature('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
      case 'EdDSA':
        return key.asymmetricKeyType === 'ed25519' && verifySignature(null, data, key, signature);
      case 'PS256':
        return key.asymmetricKeyType === 'rsa' && verifySignature('sha256', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, signature);
      default:
        return false;
    }
  } catch {
    return false;
  }
}
