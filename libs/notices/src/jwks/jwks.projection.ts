import { type Algorithm, ALGORITHM_USAGE, evolve, type ExistingKeyState, idOfStream, KEY_STREAM_PREFIX, keyEventCodec, type KeyPurpose, type KeyState, type KeyVersionState } from '@kms/domain';
import { type EventFollower, type EventStore, followEvents, type FollowerStatus, type StoredEvent } from '@kms/event-store';
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import type { PublicKeySource } from './public-key-source.port';

/** One entry of a JWK Set (RFC 7517) with the KMS's key id convention. */
export type PublicJwk = JsonWebKey & { kid: string; alg: string; use: 'sig' };

export interface JwkSet {
  keys: PublicJwk[];
}

/** JOSE algorithm of each signing algorithm (RFC 7518, RFC 8037, RFC 9964 for ML-DSA). */
const JOSE_ALG: Partial<Record<Algorithm, string>> = {
  ECDSA_P256_SHA256: 'ES256',
  ED25519: 'EdDSA',
  RSA_PSS_3072_SHA256: 'PS256',
  ML_DSA_65: 'ML-DSA-65',
};

/** Bytes in front of the raw public key in an ML-DSA-65 SPKI (AlgorithmIdentifier + BIT STRING header). */
const ML_DSA_65_SPKI_PREFIX = 22;

/** The key members of a JWK: the AKP form of RFC 9964 (`pub`) for ML-DSA, node:crypto's export otherwise. */
function jwkMembers(algorithm: Algorithm, spki: Buffer): JsonWebKey {
  if (algorithm === 'ML_DSA_65') return { kty: 'AKP', pub: spki.subarray(ML_DSA_65_SPKI_PREFIX).toString('base64url') };
  return createPublicKey({ key: spki, format: 'der', type: 'spki' }).export({ format: 'jwk' });
}

/**
 * Retired root versions stay published until destroyed (the scheduler destroys them no earlier than
 * the policy's 365 days), so historical RPT chains stay verifiable; other keys publish enabled versions.
 */
function published(purpose: KeyPurpose, state: KeyVersionState): boolean {
  if (state === 'ENABLED') return true;
  return purpose === 'ROOT_TENANT' && (state === 'DISABLED' || state === 'DESTROY_SCHEDULED');
}

/**
 * The JWKS of each tenant: every ENABLED version of its asymmetric signing keys (and retired root versions), kid `<keyId>:<version>`.
 * Keys are folded from the store with the domain's `evolve`; public keys come from a PublicKeySource
 * and are cached (a version's public key never changes).
 */
export class JwksProjection {
  private readonly keys = new Map<string, { state: ExistingKeyState; streamVersion: number }>();
  private readonly cache = new Map<string, PublicJwk>();
  private follower?: EventFollower;

  constructor(private readonly source: PublicKeySource) {}

  /** Follow the store from the start; resolves once caught up. */
  start(store: EventStore): Promise<void> {
    this.follower = followEvents(store, { name: 'jwks', handle: (e) => this.apply(e) });
    return this.follower.caughtUp();
  }

  async stop(): Promise<void> {
    await this.follower?.stop();
  }

  /** The follower's state, position and last error (readiness, metrics); undefined before start. */
  status(): FollowerStatus | undefined {
    return this.follower?.status();
  }

  /** Fold one store event. Idempotent by stream version. */
  apply(e: StoredEvent): void {
    const keyId = keyEventCodec.accepts(e.type) ? idOfStream(KEY_STREAM_PREFIX, e.streamId) : undefined;
    if (keyId === undefined) return;
    const current = this.keys.get(keyId);
    if (current && e.streamVersion <= current.streamVersion) return;
    const event = keyEventCodec.parse(e);
    const next: KeyState = evolve(current?.state ?? { status: 'NotCreated' }, event);
    if (next.status !== 'NotCreated') this.keys.set(keyId, { state: next, streamVersion: e.streamVersion });
  }

  /** The tenant's JWK Set, ordered by key id then version. */
  async jwks(tenant: string): Promise<JwkSet> {
    const out: PublicJwk[] = [];
    const keys = [...this.keys.values()].map((k) => k.state.key).filter((k) => k.tenant === tenant && ALGORITHM_USAGE[k.algorithm] === 'SIGN_VERIFY');
    keys.sort((a, b) => a.keyId.localeCompare(b.keyId));
    for (const key of keys) {
      for (const v of key.versions) {
        // A compromised version must not verify anything new, even while it stays readable.
        if (!published(key.purpose, v.state) || v.compromisedAt) continue;
        const alg = JOSE_ALG[v.algorithm];
        if (!alg) continue;
        out.push(await this.jwk(key.keyId, v.version, v.algorithm, v.protectionLevel, v.materialRef, alg));
      }
    }
    return { keys: out };
  }

  private async jwk(keyId: string, version: number, algorithm: Algorithm, protectionLevel: ExistingKeyState['key']['protectionLevel'], materialRef: string, alg: string): Promise<PublicJwk> {
    const kid = `${keyId}:${version}`;
    const hit = this.cache.get(kid);
    if (hit) return hit;
    const spki = await this.source.spki({ keyId, version, algorithm, protectionLevel, materialRef });
    const jwk: PublicJwk = { ...jwkMembers(algorithm, spki), kid, alg, use: 'sig' };
    this.cache.set(kid, jwk);
    return jwk;
  }
}
