import { createHmac, createSecretKey, type KeyObject, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { jwtVerify, SignJWT, errors as joseErrors } from 'jose';
import {
  AUTH_METHODS,
  type AuthMethod,
  type CommandMetadata,
  decideIdentity,
  evolveIdentity,
  type Role,
  type IdentityCommand,
  type IdentityEvent,
  type IdentityKind,
  type IdentityRecord,
  type IdentityState,
  identityStreamId,
  invalidArgument,
  isUuid,
  KmsError,
  MAX_TOKEN_TTL_SECONDS,
  type Principal,
  TOKEN_CLOCK_SKEW_SECONDS,
} from '@kms/domain';
import { type EventStore, WrongExpectedVersionError } from '@kms/event-store';
import type { Clock } from '../ports/audit-log.port';
import { storeError } from '../keys/key-repository';
import type { ChangeContext } from '../keys/key-lifecycle.service';
import { AggregateCache } from './aggregate-cache';

/** Keys the access layer needs, derived from the master key by the composition root. */
export interface AccessSecrets {
  /** HS256 key for the KMS's own tokens (only the KMS verifies them). */
  tokenSigningKey: Buffer;
  /** Server-side key for credential verifiers, so a leaked table reveals no usable credential. */
  credentialPepper: Buffer;
}

export type RegisteredIdentity = Exclude<IdentityState, { status: 'Unregistered' }>;

export const TOKEN_ISSUER = 'kms';
export const TOKEN_AUDIENCE = 'kms';

export interface IssuedToken {
  token: string;
  expiresAt: Date;
  principal: Principal;
}

const unauthenticated = (why: string) => new KmsError('UNAUTHENTICATED', `unauthenticated: ${why}`);

/** A verified caller refused because its identity is suspended: the audit still names who it was. */
export class SuspendedIdentityError extends KmsError<'PERMISSION_DENIED'> {
  constructor(readonly identityId: string) {
    super('PERMISSION_DENIED', 'permission denied: this identity is suspended until a person re-enables it');
  }
}

function withMetadata(ctx: ChangeContext, now: Date): CommandMetadata {
  return {
    now,
    actor: ctx.actor,
    correlationId: ctx.correlationId,
    ...(ctx.reason ? { reason: ctx.reason } : {}),
    ...(ctx.changeTicket ? { changeTicket: ctx.changeTicket } : {}),
    ...(ctx.approvers ? { approvers: ctx.approvers } : {}),
    ...(ctx.approvalId ? { approvalId: ctx.approvalId } : {}),
  };
}

/**
 * Registered identities (workloads and people), their client credentials and the short-lived tokens
 * they exchange them for. A credential secret is shown once and stored only as an HMAC verifier.
 */
/** Verified token payloads kept for the hot path; bounded, and each entry dies with its token. */
const VERIFIED_TOKEN_CACHE_SIZE = 10_000;

type VerifiedPayload = Record<string, unknown> & { sub: string; iat: number; exp: number };

export class IdentityService {
  readonly cache: AggregateCache<IdentityState, IdentityEvent>;
  /** Imported once: jose would otherwise import the raw key on every verification. */
  private readonly signingKey: KeyObject;
  private readonly verified = new Map<string, VerifiedPayload>();

  constructor(
    private readonly store: EventStore,
    private readonly secrets: AccessSecrets,
    private readonly clock: Clock,
  ) {
    this.cache = new AggregateCache<IdentityState, IdentityEvent>(store, 'identity-', () => ({ status: 'Unregistered' }), evolveIdentity);
    this.signingKey = createSecretKey(secrets.tokenSigningKey);
  }

  private verifier(secret: string): Buffer {
    return createHmac('sha256', this.secrets.credentialPepper).update(secret, 'utf8').digest();
  }

  private async execute(identityId: string, build: (s: IdentityState) => IdentityCommand, expectNew = false): Promise<IdentityState> {
    for (let attempt = 0; ; attempt++) {
      const { state, version } = await this.cache.reload(identityId);
      const events = decideIdentity(build(state), state);
      if (events.length === 0) return state;
      try {
        const appended = await this.store.appendToStream(
          identityStreamId(identityId),
          events.map((e) => ({ id: randomUUID(), type: e.type, data: { ...e.data }, metadata: { ...e.metadata } })),
          { expectedVersion: expectNew ? 'no_stream' : version },
        );
        const next = events.reduce(evolveIdentity, state);
        this.cache.put(identityId, next, appended.nextExpectedVersion);
        return next;
      } catch (e) {
        if (e instanceof WrongExpectedVersionError && attempt < 3 && !expectNew) continue;
        if (e instanceof WrongExpectedVersionError) throw new KmsError('CONCURRENCY_CONFLICT', 'identity changed concurrently; retry', 'identity_id');
        throw storeError(e);
      }
    }
  }

  /** Register an identity; the returned secret is shown once and never stored. */
  async register(input: { name: string; kind: IdentityKind; roles: Role[] }, ctx: ChangeContext): Promise<{ identity: IdentityRecord; clientSecret: string }> {
    const identityId = randomUUID();
    const clientSecret = randomBytes(32).toString('base64url');
    const now = this.clock.now();
    const command: IdentityCommand = {
      type: 'RegisterIdentity',
      data: { identityId, name: input.name, kind: input.kind, roles: input.roles, credentialVerifier: this.verifier(clientSecret).toString('hex') },
      metadata: withMetadata(ctx, now),
    };
    decideIdentity(command, { status: 'Unregistered' }); // validate before reserving the name
    try {
      await this.store.appendToStream(
        `identityname-${input.name}`,
        [{ id: randomUUID(), type: 'IdentityNameReserved', data: { name: input.name, identityId }, metadata: { actor: ctx.actor, occurredAt: now.toISOString() } }],
        { expectedVersion: 'no_stream' },
      );
    } catch (e) {
      if (e instanceof WrongExpectedVersionError) throw new KmsError('IDENTITY_ALREADY_EXISTS', `name: an identity named "${input.name}" already exists`, 'name');
      throw storeError(e);
    }
    const state = await this.execute(identityId, () => command, true);
    if (state.status === 'Unregistered') throw new KmsError('IDENTITY_NOT_FOUND', 'identity not found', 'identity_id');
    return { identity: state.identity, clientSecret };
  }

  async rotateCredential(identityId: string, ctx: ChangeContext): Promise<{ identity: IdentityRecord; clientSecret: string }> {
    const clientSecret = randomBytes(32).toString('base64url');
    const state = await this.execute(identityId, () => ({
      type: 'RotateCredential',
      data: { credentialVerifier: this.verifier(clientSecret).toString('hex') },
      metadata: withMetadata(ctx, this.clock.now()),
    }));
    if (state.status === 'Unregistered') throw new KmsError('IDENTITY_NOT_FOUND', 'identity not found', 'identity_id');
    return { identity: state.identity, clientSecret };
  }

  async suspend(identityId: string, ctx: ChangeContext): Promise<IdentityState> {
    return this.execute(identityId, () => ({ type: 'SuspendIdentity', data: {}, metadata: withMetadata(ctx, this.clock.now()) }));
  }

  async reEnable(identityId: string, ctx: ChangeContext): Promise<IdentityState> {
    return this.execute(identityId, () => ({ type: 'ReEnableIdentity', data: {}, metadata: withMetadata(ctx, this.clock.now()) }));
  }

  async get(identityId: unknown): Promise<RegisteredIdentity> {
    if (typeof identityId !== 'string' || !isUuid(identityId)) throw invalidArgument('identity_id', 'must be an identity id (UUID)');
    const { state } = await this.cache.load(identityId);
    if (state.status === 'Unregistered') throw new KmsError('IDENTITY_NOT_FOUND', 'identity not found', 'identity_id');
    return state;
  }

  list(): RegisteredIdentity[] {
    return this.cache.all().filter((s): s is RegisteredIdentity => s.status !== 'Unregistered');
  }

  /**
   * Exchange a client credential for a token of at most 15 minutes. People's tokens must carry the
   * strong authentication the console performed (FIDO2 "hwk" and TOTP "otp").
   */
  async issueToken(input: { clientId: unknown; clientSecret: unknown; ttlSeconds?: unknown; authMethods?: unknown }): Promise<IssuedToken> {
    const ttl = input.ttlSeconds === undefined || input.ttlSeconds === 0 ? MAX_TOKEN_TTL_SECONDS : input.ttlSeconds;
    if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TOKEN_TTL_SECONDS) {
      throw invalidArgument('ttl_seconds', `must be from 1 to ${MAX_TOKEN_TTL_SECONDS} (tokens live at most 15 minutes)`);
    }
    const methodsRaw = Array.isArray(input.authMethods) ? input.authMethods : [];
    for (const m of methodsRaw) if (!(AUTH_METHODS as readonly unknown[]).includes(m)) throw invalidArgument('auth_methods', `values are ${AUTH_METHODS.join(', ')}`);
    const authMethods = [...new Set(methodsRaw as AuthMethod[])].sort();
    if (typeof input.clientId !== 'string' || !isUuid(input.clientId)) throw unauthenticated('unknown client or wrong secret');
    if (typeof input.clientSecret !== 'string' || input.clientSecret.length === 0 || input.clientSecret.length > 256) {
      throw unauthenticated('unknown client or wrong secret');
    }
    const { state } = await this.cache.load(input.clientId);
    // Compare even for unknown clients so timing does not reveal which ids exist.
    const expected = state.status === 'Unregistered' ? Buffer.alloc(32) : Buffer.from(state.identity.credentialVerifier, 'hex');
    const matches = timingSafeEqual(this.verifier(input.clientSecret), expected);
    if (state.status === 'Unregistered' || !matches) throw unauthenticated('unknown client or wrong secret');
    if (state.status === 'Suspended') throw new SuspendedIdentityError(state.identity.identityId);
    const identity = state.identity;
    if (identity.kind === 'HUMAN' && !(authMethods.includes('hwk') && authMethods.includes('otp'))) {
      throw new KmsError('PERMISSION_DENIED', 'permission denied: people need FIDO2 ("hwk") and TOTP ("otp") asserted by the console', 'auth_methods');
    }
    const now = this.clock.now();
    const iat = Math.floor(now.getTime() / 1000);
    const principal: Principal = { identityId: identity.identityId, name: identity.name, kind: identity.kind, roles: identity.roles, authMethods };
    // `vf` pins the token to the credential generation it was issued under (ms precision), so a
    // rotation or re-enable invalidates every earlier token, even one minted in the same second.
    const token = await new SignJWT({ name: identity.name, kind: identity.kind, roles: identity.roles, amr: authMethods, vf: identity.validFrom })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setSubject(identity.identityId)
      .setJti(randomUUID())
      .setIssuedAt(iat)
      .setExpirationTime(iat + ttl)
      .sign(this.signingKey);
    return { token, expiresAt: new Date((iat + ttl) * 1000), principal };
  }

  /**
   * Signature, issuer, audience and times of a token. A token verified once is remembered until it
   * expires (the signature cannot change); its times are checked again on every use, and the identity
   * checks (suspension, credential generation) always run in authenticate.
   */
  private async verifyToken(token: string): Promise<VerifiedPayload> {
    const nowSeconds = this.clock.now().getTime() / 1000;
    const hit = this.verified.get(token);
    if (hit) {
      if (hit.exp + TOKEN_CLOCK_SKEW_SECONDS < nowSeconds) {
        this.verified.delete(token);
        throw unauthenticated('the token has expired');
      }
      if (hit.iat > nowSeconds + TOKEN_CLOCK_SKEW_SECONDS) throw unauthenticated('the token is issued in the future');
      return hit;
    }
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.signingKey, {
        issuer: TOKEN_ISSUER,
        audience: TOKEN_AUDIENCE,
        algorithms: ['HS256'],
        clockTolerance: TOKEN_CLOCK_SKEW_SECONDS,
        currentDate: this.clock.now(),
        requiredClaims: ['sub', 'iat', 'exp', 'jti', 'vf'],
      }));
    } catch (e) {
      if (e instanceof joseErrors.JWTExpired) throw unauthenticated('the token has expired');
      throw unauthenticated('the token is invalid');
    }
    const verified = payload as VerifiedPayload;
    if (verified.exp - verified.iat > MAX_TOKEN_TTL_SECONDS) throw unauthenticated('the token lives longer than 15 minutes');
    if (verified.iat > nowSeconds + TOKEN_CLOCK_SKEW_SECONDS) throw unauthenticated('the token is issued in the future');
    if (this.verified.size >= VERIFIED_TOKEN_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(token, verified);
    return verified;
  }

  /** Verify a bearer token and return who it is. UNAUTHENTICATED or PERMISSION_DENIED otherwise. */
  async authenticate(token: string | undefined): Promise<Principal> {
    if (!token) throw unauthenticated('send "authorization: Bearer <token>" (get a token with IdentityService/IssueToken)');
    const payload = await this.verifyToken(token);
    const sub = payload.sub;
    const { state } = await this.cache.load(sub);
    if (state.status === 'Unregistered') throw unauthenticated('the token is invalid');
    if (state.status === 'Suspended') throw new SuspendedIdentityError(sub);
    if (payload['vf'] !== state.identity.validFrom) throw unauthenticated('the token was issued before the credential changed; get a new one');
    const amr = Array.isArray(payload['amr']) ? (payload['amr'] as AuthMethod[]) : [];
    return { identityId: sub, name: state.identity.name, kind: state.identity.kind, roles: state.identity.roles, authMethods: amr };
  }
}
