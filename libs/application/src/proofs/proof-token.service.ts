import { createPublicKey } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import {
  ALGORITHM_USAGE,
  type ExistingKeyState,
  invalidArgument,
  KmsError,
  nextProofLink,
  proofChainDecider,
  proofChainEventCodec,
  type ProofChainState,
  proofChainStreamId,
  type ProofTokenIssued,
  validateTenant,
} from '@kms/domain';
import type { EventStore } from '@kms/event-store';
import { type ChainVerdict, joseAlgorithm, type JwkSetFile, PROOF_TOKEN_TYPE, type ProofTokenPayload, proofTokenHash, proofTokenSigningInput, verifyChain } from '@kms/evidence';
import type { KeyAccessCheck } from '../access/authorizer';
import { handleCommand, loadAggregate, StreamLocks, storeError } from '../changes/handle-command';
import type { CryptoService, OperationFacts } from '../crypto/crypto.service';
import { validateBytes } from '../crypto/request-validation';
import type { KeyCatalog } from '../keys/key-catalog';
import type { Clock } from '../ports/audit-log.port';
import type { KeyBackends } from '../ports/key-backend.port';

/** Largest claim a tenant's platform may submit (bytes of JSON). */
export const MAX_PROOF_CLAIM_BYTES = 16 * 1024;
/** Default and largest page of GetProofChain. */
export const DEFAULT_PROOF_PAGE_SIZE = 100;
export const MAX_PROOF_PAGE_SIZE = 1000;
/** A signature made under another version than the kid names (a rotation in between) is made again, this many times. */
const MAX_SIGN_ATTEMPTS = 3;

export interface IssuedProofToken {
  token: string;
  tenant: string;
  seq: number;
  kid: string;
  tokenHash: string;
  prev: string | null;
}

export interface ProofChainPage {
  tenant: string;
  tokens: Array<{ seq: number; token: string; kid: string; tokenHash: string; prev: string | null }>;
  /** The seq to ask for next; 0 when the page reached the end of the chain. */
  nextSeq: number;
  /** The chain's last seq when read. */
  lastSeq: number;
}

/** The claim: a JSON object of at most MAX_PROOF_CLAIM_BYTES. */
export function validateProofClaim(raw: unknown, field = 'claim_json'): Record<string, unknown> {
  const bytes = validateBytes(raw, field, MAX_PROOF_CLAIM_BYTES, 2);
  let claim: unknown;
  try {
    claim = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw invalidArgument(field, 'is not JSON');
  }
  if (typeof claim !== 'object' || claim === null || Array.isArray(claim)) throw invalidArgument(field, 'must be a JSON object');
  return claim as Record<string, unknown>;
}

/** A JWS signature from the backend's: ECDSA comes back DER, JWS wants raw r||s (RFC 7518 §3.4). */
function jwsSignature(algorithm: string, signature: Buffer): Buffer {
  if (algorithm !== 'ECDSA_P256_SHA256') return signature;
  return Buffer.from(p256.Signature.fromDER(signature).toCompactRawBytes());
}

/**
 * Regulatory proof tokens (docs/backup-and-drills.md): a tenant's platform submits a claim and gets a
 * compact JWS signed by the primary version of the tenant's ROOT_TENANT key, the next link of the
 * tenant's hash-linked chain. The chain is a stream (`rpt-<tenant>`): its expected version keeps
 * `seq` gapless, and a concurrent issuer makes this one sign again on top of the new head.
 */
export class ProofTokenService {
  private readonly locks = new StreamLocks();

  constructor(
    private readonly store: EventStore,
    private readonly catalog: KeyCatalog,
    private readonly crypto: CryptoService,
    private readonly clock: Clock,
    private readonly backends: KeyBackends,
  ) {}

  /** The tenant's root key: the oldest ROOT_TENANT signing key with an enabled primary version. */
  async rootKey(tenant: string): Promise<ExistingKeyState> {
    const candidates = (await this.catalog.listChecked({ tenant, purpose: 'ROOT_TENANT' }))
      .filter((s) => ALGORITHM_USAGE[s.key.algorithm] === 'SIGN_VERIFY' && joseAlgorithm(s.key.algorithm) !== undefined)
      .filter((s) => s.key.versions.some((v) => v.version === s.key.primaryVersion && v.state === 'ENABLED'));
    const root = candidates[0];
    if (!root) throw new KmsError('KEY_NOT_FOUND', 'the tenant has no ROOT_TENANT signing key with an enabled primary version', 'tenant');
    return root;
  }

  /** Sign the claim as the next token of the tenant's chain and append it. */
  async issue(access: KeyAccessCheck, tenantRaw: unknown, claimRaw: unknown, actor: string, correlationId: string, facts: OperationFacts = {}): Promise<IssuedProofToken> {
    const tenant = validateTenant(tenantRaw);
    const claim = validateProofClaim(claimRaw);
    const streamId = proofChainStreamId(tenant);
    const handled = await handleCommand(
      this.store,
      proofChainDecider,
      proofChainEventCodec,
      streamId,
      async (state) => {
        const now = this.clock.now();
        const link = nextProofLink(state, Math.floor(now.getTime() / 1000));
        const signed = await this.sign(access, tenant, { tenant, seq: link.seq, iat: link.iat, prev: link.prev, claim }, facts);
        return { command: { type: 'IssueProofToken' as const, data: { tenant, ...link, ...signed }, metadata: { now, actor, correlationId } } };
      },
      { locks: this.locks },
    );
    const issued = handled.events[0] as ProofTokenIssued | undefined;
    if (!issued) throw new KmsError('CONCURRENCY_CONFLICT', 'the proof token was not appended');
    facts.details = { tenant, seq: issued.data.seq, kid: issued.data.kid };
    const { token, seq, kid, tokenHash, prev } = issued.data;
    return { token, tenant, seq, kid, tokenHash, prev };
  }

  private async sign(access: KeyAccessCheck, tenant: string, payload: ProofTokenPayload, facts: OperationFacts): Promise<{ kid: string; token: string; tokenHash: string }> {
    for (let attempt = 1; ; attempt++) {
      const root = await this.rootKey(tenant);
      const alg = joseAlgorithm(root.key.algorithm) as string;
      const kid = `${root.key.keyId}:${root.key.primaryVersion}`;
      const signingInput = proofTokenSigningInput({ alg, typ: PROOF_TOKEN_TYPE, kid }, payload);
      const r = await this.crypto.sign(access, root.key.keyId, Buffer.from(signingInput, 'ascii'), undefined, facts);
      // A rotation between reading the primary and signing: the kid would name the wrong version.
      if (r.keyVersion !== root.key.primaryVersion) {
        if (attempt >= MAX_SIGN_ATTEMPTS) throw new KmsError('CONCURRENCY_CONFLICT', 'the root key kept rotating while signing');
        continue;
      }
      const token = `${signingInput}.${jwsSignature(r.algorithm, r.signature).toString('base64url')}`;
      return { kid, token, tokenHash: proofTokenHash(token) };
    }
  }

  /** A page of the tenant's chain from `fromSeq` (1 = the start); the caller needs VERIFY on the root key. */
  async chain(access: KeyAccessCheck, tenantRaw: unknown, fromSeqRaw: unknown, pageSizeRaw: unknown, facts: OperationFacts = {}): Promise<ProofChainPage> {
    const tenant = validateTenant(tenantRaw);
    const fromSeq = fromSeqRaw === undefined || fromSeqRaw === null || fromSeqRaw === 0 ? 1 : fromSeqRaw;
    if (typeof fromSeq !== 'number' || !Number.isSafeInteger(fromSeq) || fromSeq < 1) throw invalidArgument('from_seq', 'must be a positive integer');
    const pageSize = pageSizeRaw === undefined || pageSizeRaw === null || pageSizeRaw === 0 ? DEFAULT_PROOF_PAGE_SIZE : pageSizeRaw;
    if (typeof pageSize !== 'number' || !Number.isSafeInteger(pageSize) || pageSize < 1 || pageSize > MAX_PROOF_PAGE_SIZE) {
      throw invalidArgument('page_size', `must be from 1 to ${MAX_PROOF_PAGE_SIZE}`);
    }
    access.check(await this.rootKeyForReading(tenant, access), 'VERIFY');
    let events: ProofTokenIssued[];
    try {
      const read = await this.store.readStream(proofChainStreamId(tenant));
      events = read.events.map((e) => proofChainEventCodec.parse(e));
    } catch (e) {
      throw storeError(e);
    }
    const page = events.filter((e) => e.data.seq >= fromSeq).slice(0, pageSize);
    const lastSeq = events.at(-1)?.data.seq ?? 0;
    const last = page.at(-1)?.data.seq ?? 0;
    facts.details = { tenant, fromSeq, returned: page.length };
    return {
      tenant,
      tokens: page.map((e) => ({ seq: e.data.seq, token: e.data.token, kid: e.data.kid, tokenHash: e.data.tokenHash, prev: e.data.prev })),
      nextSeq: last > 0 && last < lastSeq ? last + 1 : 0,
      lastSeq,
    };
  }

  /** The chain's head (seq and hash of the last token), for readers that verify a recent window. */
  async head(tenant: string): Promise<ProofChainState> {
    return (await loadAggregate(this.store, proofChainDecider, proofChainEventCodec, proofChainStreamId(tenant))).state;
  }

  /** The tenant's root key, any version state: reading a chain stays possible after the root is disabled. */
  private async rootKeyForReading(tenant: string, access: KeyAccessCheck): Promise<ExistingKeyState | undefined> {
    const root = (await this.catalog.listChecked({ tenant, purpose: 'ROOT_TENANT' }))[0];
    if (!root && !access.hidesMissingKeys) throw new KmsError('KEY_NOT_FOUND', 'the tenant has no ROOT_TENANT key', 'tenant');
    return root;
  }

  /**
   * The JWK Set that verifies the tenant's chain: every version of its ROOT_TENANT keys that still has
   * material and was never reported compromised, retired ones included (the 365-day retention).
   */
  async publishedKeys(access: KeyAccessCheck, tenantRaw: unknown, facts: OperationFacts = {}): Promise<JwkSetFile> {
    const tenant = validateTenant(tenantRaw);
    const roots = (await this.catalog.listChecked({ tenant, purpose: 'ROOT_TENANT' })).filter((s) => joseAlgorithm(s.key.algorithm) !== undefined);
    if (roots.length === 0) access.check(await this.rootKeyForReading(tenant, access), 'VERIFY');
    const keys: JwkSetFile['keys'] = [];
    for (const root of roots) {
      access.check(root, 'VERIFY');
      for (const v of root.key.versions) {
        if (v.state === 'DESTROYED' || v.compromisedAt) continue;
        const backend = this.backends[v.protectionLevel];
        if (!backend) continue;
        const der = await backend.getPublicKey({ keyId: root.key.keyId, version: v.version, algorithm: v.algorithm, materialRef: v.materialRef });
        const jwk = createPublicKey({ key: der, format: 'der', type: 'spki' }).export({ format: 'jwk' });
        keys.push({ ...jwk, kid: `${root.key.keyId}:${v.version}`, alg: joseAlgorithm(v.algorithm) as string, use: 'sig' } as JwkSetFile['keys'][number]);
      }
    }
    facts.details = { tenant, keys: keys.length };
    return { keys };
  }

  /** Verify the tenant's whole stored chain with its published keys (the HTTP verification endpoint). */
  async verifyStored(access: KeyAccessCheck, tenantRaw: unknown, facts: OperationFacts = {}): Promise<ChainVerdict> {
    const tenant = validateTenant(tenantRaw);
    const jwks = await this.publishedKeys(access, tenant, facts);
    const tokens: string[] = [];
    for (let from = 1; from > 0; ) {
      const page = await this.chain(access, tenant, from, MAX_PROOF_PAGE_SIZE, facts);
      tokens.push(...page.tokens.map((t) => t.token));
      from = page.nextSeq;
    }
    const verdict = verifyChain(tenant, tokens, jwks);
    facts.details = { tenant, tokens: tokens.length, ok: verdict.ok, ...(verdict.ok ? {} : { problem: verdict.problem, index: verdict.index }) };
    return verdict;
  }
}
