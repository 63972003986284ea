import { createHmac, createSecretKey, type KeyObject, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { jwtVerify, SignJWT, errors as joseErrors } from 'jose';
import {
  AUTH_METHODS,
  type AuthMethod,
  BOOTSTRAP_ACTOR,
  BOOTSTRAP_EXCEPTION_STREAM_ID,
  IDENTITY_NAME_STREAM_PREFIX,
  IDENTITY_STREAM_PREFIX,
  identityDecider,
  identityEventCodec,
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
  AccessRefusedError,
  MAX_TOKEN_TTL_SECONDS,
  type Principal,
  TOKEN_CLOCK_SKEW_SECONDS,
} from '@kms/domain';
import { type EventStore, WrongExpectedVersionError } from '@kms/event-store';
import type { Clock } from '../ports/audit-log.port';
import { handleCommand, storeError, StreamLocks } from '../changes/handle-command';
import { type ChangeContext, commandMetadata } from '../keys/key-lifecycle.service';
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

/**
 * Registered identities (workloads and people), their client credentials and the short-lived tokens
 * they exchange them for. A credential secret is shown once and stored only as an HMAC verifier.
 */
/** Verified token payloads kept for the hot path; bounded, and each entry dies with its token. */
const VERIFIED_TOKEN_CACHE_SIZE = 10_000;
/** Methods only the server's own sign-in ceremony may put in a person's token; a client claiming them is refused. */
const PERSON_ONLY_VERIFIED_METHODS = ['hwk', 'otp', 'mfa'] as const;

type VerifiedPayload = Record<string, unknown> & { sub: string; iat: number; exp: number };

export class IdentityService {
  readonly cache: AggregateCache<IdentityCommand, IdentityEvent, IdentityState>;
  private readonly locks = new StreamLocks();
  /** Imported once: jose would otherwise import the raw key on every verification. */
  private readonly signingKey: KeyObject;
  private readonly verified = new Map<string, VerifiedPayload>();

  constructor(
    private readonly store: EventStore,
    private readonly secrets: AccessSecrets,
    private readonly clock: Clock,
  ) {
    this.cache = new AggregateCache(store, IDENTITY_STREAM_PREFIX, identityDecider, identityEventCodec, (s) => s.status !== 'Unregistered');
    this.signingKey = createSecretKey(secrets.tokenSigningKey);
  }

  private verifier(secret: string): Buffer {
    return createHmac('sha256', this.secrets.credentialPepper).update(secret, 'utf8').digest();
  }

  private async execute(identityId: string, build: (s: IdentityState) => IdentityCommand, expectNew = false): Promise<IdentityState> {
    const { state } = await handleCommand(this.store, identityDecider, identityEventCodec, identityStreamId(identityId), (current) => ({ command: build(current) }), {
      expectNew,
      locks: this.locks,
      onCommitted: (next, version) => this.cache.put(identityId, next, version),
      conflict: () => new KmsError('CONCURRENCY_CONFLICT', 'identity changed concurrently; retry', 'identity_id'),
    });
    return state;
  }

  /**
   * Whether registering `input` could succeed now (name, kind, roles, name free), without doing it:
   * checked before a registration is put to a second person.
   */
  checkRegistration(input: { name: string; kind: IdentityKind; roles: Role[] }): void {
    identityDecider.decide(
      { type: 'RegisterIdentity', data: { identityId: randomUUID(), name: input.name, kind: input.kind, roles: input.roles, credentialVerifier: '' }, metadata: { now: this.clock.now(), actor: 'preview', correlationId: 'preview' } },
      identityDecider.initialState(),
    );
    if (this.list().some((s) => s.identity.name === input.name)) throw new KmsError('IDENTITY_ALREADY_EXISTS', `name: an identity named "${input.name}" already exists`, 'name');
  }

  /**
   * The bootstrap administrator's one exception: registering the first person alone (nobody else
   * could approve). Claims it for `administratorId` in the current change and answers true, or
   * answers false when the caller is not the bootstrap administrator or the exception was used —
   * recorded in its own stream (a second claim fails on any replica, after any restart) or, for
   * stores from before this record existed, shown by a person registered by someone else.
   */
  async claimBootstrapException(administratorId: string, personName: string, ctx: ChangeContext): Promise<boolean> {
    const { state } = await this.cache.load(administratorId);
    if (state.status !== 'Active' || state.identity.createdBy !== BOOTSTRAP_ACTOR) return false;
    if (this.list().some((s) => s.identity.kind === 'HUMAN' && s.identity.createdBy !== BOOTSTRAP_ACTOR)) return false;
    try {
      await this.store.appendToStream(
        BOOTSTRAP_EXCEPTION_STREAM_ID,
        [
          {
            id: randomUUID(),
            type: 'BootstrapExceptionUsed',
            data: { administrator: administratorId, name: personName },
            metadata: { actor: ctx.actor, correlationId: ctx.correlationId, occurredAt: this.clock.now().toISOString() },
          },
        ],
        { expectedVersion: 'no_stream' },
      );
      return true;
    } catch (e) {
      if (e instanceof WrongExpectedVersionError) return false;
      throw storeError(e);
    }
  }

  /** Register an identity; the returned secret is shown once and never stored. */
  async register(
    input: { name: string; kind: IdentityKind; roles: Role[] },
    ctx: ChangeContext,
    identityId: string = randomUUID(),
  ): Promise<{ identity: IdentityRecord; clientSecret: string }> {
    const clientSecret = randomBytes(32).toString('base64url');
    const now = this.clock.now();
    const command: IdentityCommand = {
      type: 'RegisterIdentity',
      data: { identityId, name: input.name, kind: input.kind, roles: input.roles, credentialVerifier: this.verifier(clientSecret).toString('hex') },
      metadata: commandMetadata(ctx, now),
    };
    // Reserved in the same change as the identity: a refused registration reserves nothing.
    try {
      await this.store.appendToStream(
        `${IDENTITY_NAME_STREAM_PREFIX}${input.name}`,
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
      metadata: commandMetadata(ctx, this.clock.now()),
    }));
    if (state.status === 'Unregistered') throw new KmsError('IDENTITY_NOT_FOUND', 'identity not found', 'identity_id');
    return { identity: state.identity, clientSecret };
  }

  async suspend(identityId: string, ctx: ChangeContext): Promise<IdentityState> {
    return this.execute(identityId, () => ({ type: 'SuspendIdentity', data: {}, metadata: commandMetadata(ctx, this.clock.now()) }));
  }

  async reEnable(identityId: string, ctx: ChangeContext): Promise<IdentityState> {
    return this.execute(identityId, () => ({ type: 'ReEnableIdentity', data: {}, metadata: commandMetadata(ctx, this.clock.now()) }));
  }

  /**
   * What changing `identityId`'s roles to `roles` would do if `ctx.actor` asked now — the validated new
   * roles and the ones they replace — or undefined when it would change nothing. Nothing is written:
   * checked before a role change is put to a second person (refuses what the change itself would).
   */
  async previewRoleChange(identityId: string, roles: unknown, ctx: ChangeContext): Promise<{ roles: Role[]; previousRoles: Role[] } | undefined> {
    const { state } = await this.cache.load(identityId);
    const events = identityDecider.decide({ type: 'ChangeIdentityRoles', data: { roles }, metadata: commandMetadata(ctx, this.clock.now()) }, state);
    const changed = events.find((e) => e.type === 'IdentityRolesChanged');
    return changed ? { roles: changed.data.roles, previousRoles: changed.data.previousRoles } : undefined;
  }

  /** Replace an identity's roles (run once two people agreed); its tokens carry the new roles from the next call on. */
  async changeRoles(identityId: string, roles: Role[], ctx: ChangeContext): Promise<IdentityState> {
    return this.execute(identityId, () => ({ type: 'ChangeIdentityRoles', data: { roles }, metadata: commandMetadata(ctx, this.clock.now()) }));
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
   * Exchange a workload's client credential for a token of at most 15 minutes. People (HUMAN) are
   * always refused: their tokens come only from a verified FIDO2 + TOTP sign-in
   * (issueVerifiedPersonToken), so factors claimed in `auth_methods` are refused by name.
   */
  async issueToken(input: { clientId: unknown; clientSecret: unknown; ttlSeconds?: unknown; authMethods?: unknown }): Promise<IssuedToken> {
    const ttl = input.ttlSeconds === undefined || input.ttlSeconds === 0 ? MAX_TOKEN_TTL_SECONDS : input.ttlSeconds;
    if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TOKEN_TTL_SECONDS) {
      // A request for more access than the policy grants: refused (DENIED in the audit), answered INVALID_ARGUMENT.
      throw new AccessRefusedError('INVALID_ARGUMENT', `ttl_seconds: must be from 1 to ${MAX_TOKEN_TTL_SECONDS} (tokens live at most 15 minutes)`, 'ttl_seconds');
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
    // Checked only after the secret, so the answer does not tell a stranger which clients are people.
    if (identity.kind === 'HUMAN') {
      const claimed = authMethods.filter((m) => (PERSON_ONLY_VERIFIED_METHODS as readonly string[]).includes(m));
      if (claimed.length > 0) {
        throw new KmsError(
          'PERMISSION_DENIED',
          `permission denied: auth_methods ${claimed.join(', ')} cannot be claimed by a client; people sign in with their security key and authenticator app (console sign-in or kms login)`,
          'auth_methods',
        );
      }
      throw new KmsError(
        'PERMISSION_DENIED',
        'permission denied: this client is a person (HUMAN); people get tokens only by signing in with their security key and authenticator app (console sign-in or kms login), never with a client secret',
        'client_id',
      );
    }
    return this.sign(identity, authMethods, ttl);
  }

  /**
   * A person's token after the server itself verified both factors (PersonFactorsService.signIn):
   * `amr` ["hwk","otp"] and the WebAuthn credential id (`cid`). Only for an active HUMAN identity.
   */
  async issueVerifiedPersonToken(identityId: string, proof: { webauthnCredentialId: string }, ttlSeconds: number = MAX_TOKEN_TTL_SECONDS): Promise<IssuedToken> {
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_TOKEN_TTL_SECONDS) {
      throw new AccessRefusedError('INVALID_ARGUMENT', `ttl_seconds: must be from 1 to ${MAX_TOKEN_TTL_SECONDS} (tokens live at most 15 minutes)`, 'ttl_seconds');
    }
    const { state } = await this.cache.load(identityId);
    if (state.status === 'Unregistered' || state.identity.kind !== 'HUMAN') throw unauthenticated('not a person');
    if (state.status === 'Suspended') throw new SuspendedIdentityError(state.identity.identityId);
    return this.sign(state.identity, ['hwk', 'otp'], ttlSeconds, { cid: proof.webauthnCredentialId });
  }

  private async sign(identity: IdentityRecord, authMethods: AuthMethod[], ttl: number, extra: Record<string, string> = {}): Promise<IssuedToken> {
    const now = this.clock.now();
    const iat = Math.floor(now.getTime() / 1000);
    const principal: Principal = { identityId: identity.identityId, name: identity.name, kind: identity.kind, roles: identity.roles, authMethods };
    // `vf` pins the token to the credential generation it was issued under (ms precision), so a
    // rotation or re-enable invalidates every earlier token, even one minted in the same second.
    const token = await new SignJWT({ ...extra, name: identity.name, kind: identity.kind, roles: identity.roles, amr: authMethods, vf: identity.validFrom })
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

  /** Let the client certificate with this SHA-256 fingerprint (hex) and subject authenticate the workload (KMIP). */
  async bindClientCertificate(identityId: string, certificate: { fingerprint: unknown; subject: unknown }, ctx: ChangeContext): Promise<IdentityState> {
    if (typeof certificate.fingerprint === 'string') this.refuseHeldElsewhere(identityId, certificate.fingerprint);
    return this.execute(identityId, () => ({ type: 'BindClientCertificate', data: certificate, metadata: commandMetadata(ctx, this.clock.now()) }));
  }

  /**
   * What binding `certificate` (or removing the bound one, when undefined) to `identityId` would do
   * if asked now, or undefined when it would change nothing. Nothing is written: checked before the
   * binding is put to a second person (refuses what the binding itself would).
   */
  async previewCertificateBinding(identityId: string, certificate: { fingerprint: string; subject: string } | undefined, ctx: ChangeContext): Promise<{ fingerprint: string | null; subject: string | null } | undefined> {
    const { state } = await this.cache.load(identityId);
    if (certificate) this.refuseHeldElsewhere(identityId, certificate.fingerprint);
    const command: IdentityCommand = certificate
      ? { type: 'BindClientCertificate', data: certificate, metadata: commandMetadata(ctx, this.clock.now()) }
      : { type: 'UnbindClientCertificate', data: {}, metadata: commandMetadata(ctx, this.clock.now()) };
    const events = identityDecider.decide(command, state);
    if (events.length === 0) return undefined;
    return certificate ?? { fingerprint: null, subject: null };
  }

  /** Stop the workload's client certificate from authenticating it (run once two people agreed). */
  async unbindClientCertificate(identityId: string, ctx: ChangeContext): Promise<IdentityState> {
    return this.execute(identityId, () => ({ type: 'UnbindClientCertificate', data: {}, metadata: commandMetadata(ctx, this.clock.now()) }));
  }

  private refuseHeldElsewhere(identityId: string, fingerprint: string): void {
    const holder = this.list().find((s) => s.identity.clientCertificate?.fingerprint === fingerprint && s.identity.identityId !== identityId);
    if (holder) throw new KmsError('IDENTITY_ALREADY_EXISTS', 'fingerprint: this certificate already authenticates another identity', 'fingerprint');
  }

  /**
   * Who a verified TLS client certificate is: the workload it is bound to. The TLS layer has already
   * checked the chain; an unknown certificate is UNAUTHENTICATED, a suspended identity refused by name.
   */
  authenticateCertificate(fingerprint: string): Principal {
    const state = this.list().find((s) => s.identity.clientCertificate?.fingerprint === fingerprint);
    if (!state) throw unauthenticated('this client certificate is bound to no identity (bind it to a workload first)');
    if (state.status === 'Suspended') throw new SuspendedIdentityError(state.identity.identityId);
    const identity = state.identity;
    return { identityId: identity.identityId, name: identity.name, kind: identity.kind, roles: identity.roles, authMethods: [] };
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
