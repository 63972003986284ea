import { type Algorithm, ALGORITHM_USAGE, evolve, type ExistingKeyState, KEY_EVENT_TYPES, type KeyEvent, type KeyState } from '@kms/domain';
import type { EventStore, EventSubscription, StoredEvent } from '@kms/event-store';
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import type { PublicKeySource } from './public-key-source.port';

/** One entry of a JWK Set (RFC 7517) with the KMS's key id convention. */
export type PublicJwk = JsonWebKey & { kid: string; alg: string; use: 'sig' };

export interface JwkSet {
  keys: PublicJwk[];
}

/** JOSE algorithm of each signing algorithm (RFC 7518, RFC 8037). */
const JOSE_ALG: Partial<Record<Algorithm, string>> = {
  ECDSA_P256_SHA256: 'ES256',
  ED25519: 'EdDSA',
  RSA_PSS_3072_SHA256: 'PS256',
};

const KEY_TYPES: ReadonlySet<string> = new Set(KEY_EVENT_TYPES);
const KEY_STREAM_PREFIX = 'key-';

/**
 * The JWKS of each tenant: every ENABLED version of its asymmetric signing keys, kid `<keyId>:<version>`.
 * Keys are folded from the store with the domain's `evolve`; public keys come from a PublicKeySource
 * and are cached (a version's public key never changes).
 */
export class JwksProjection {
  private readonly keys = new Map<string, { state: ExistingKeyState; streamVersion: number }>();
  private readonly cache = new Map<string, PublicJwk>();
  private subscription?: EventSubscription;

  constructor(private readonly source: PublicKeySource) {}

  /** Follow the store from the start; resolves once caught up. */
  start(store: EventStore): Promise<void> {
    return new Promise((resolve, reject) => {
      let caughtUp = false;
      this.subscription = store.subscribeToAll(
        {},
        {
          onEvent: (e) => this.apply(e),
          onCaughtUp: () => {
            caughtUp = true;
            resolve();
          },
          onError: (error) => {
            if (!caughtUp) reject(error);
          },
        },
      );
    });
  }

  async stop(): Promise<void> {
    await this.subscription?.stop();
  }

  /** Fold one store event. Idempotent by stream version. */
  apply(e: StoredEvent): void {
    if (!e.streamId.startsWith(KEY_STREAM_PREFIX) || !KEY_TYPES.has(e.type)) return;
    const keyId = e.streamId.slice(KEY_STREAM_PREFIX.length);
    const current = this.keys.get(keyId);
    if (current && e.streamVersion <= current.streamVersion) return;
    const event = { type: e.type, data: e.data, metadata: e.metadata } as unknown as KeyEvent;
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
        if (v.state !== 'ENABLED' || v.compromisedAt) continue;
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
    const jwk: PublicJwk = { ...createPublicKey({ key: spki, format: 'der', type: 'spki' }).export({ format: 'jwk' }), kid, alg, use: 'sig' };
    this.cache.set(kid, jwk);
    return jwk;
  }
}
