import { createCipheriv, createDecipheriv, createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type AuthenticatorTransportFuture,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { generateSecret, generateURI, verify as verifyTotp } from 'otplib';
import { toDataURL } from 'qrcode';
import {
  AccessRefusedError,
  type ApprovalStepUp,
  type CommandMetadata,
  decidePersonFactors,
  hasBothFactors,
  LIMITS,
  invalidArgument,
  isUuid,
  KmsError,
  MAX_TOKEN_TTL_SECONDS,
  type PersonFactorsCommand,
  personFactorsDecider,
  personFactorsEventCodec,
  type PersonFactorsState,
  personFactorsStreamId,
  type Principal,
} from '@kms/domain';
import type { EventStore } from '@kms/event-store';
// The challenge derivation and the COSE reading are shared with the offline evidence verifier.
import { coseAlgorithmOf, STEP_UP_SCHEME, stepUpChallenge } from '@kms/evidence';
import type { Clock } from '../ports/audit-log.port';
import type { AuditedExecutor, CallContext } from '../audit/audited-operation';
import type { OperationFacts } from '../crypto/crypto.service';
import { handleCommand, loadAggregate, StreamLocks } from '../changes/handle-command';
import type { IdentityService, IssuedToken } from '../access/identity.service';
import type { ChangeContext } from '../keys/key-lifecycle.service';
import type { SecondFactorStore, WebAuthnCredentialRecord } from './second-factor-store.port';

/** The WebAuthn relying party and the origins browsers report (KMS_CONSOLE_RP_ID, KMS_CONSOLE_ORIGIN). */
export interface RelyingParty {
  rpId: string;
  rpName: string;
  origins: string[];
}

export interface PersonFactorsOptions {
  /** Writes through the call-scoped store, so events commit with the call's audit record. */
  store: EventStore;
  factors: SecondFactorStore;
  identities: IdentityService;
  executor: AuditedExecutor;
  clock: Clock;
  relyingParty: RelyingParty;
  /** AES-256-GCM key for TOTP secrets, derived from the master key (purpose `totp-secret-wrap-v1`). */
  totpWrapKey: Buffer;
  enrolmentLinkTtlMinutes: number;
  /** The dual-control gate for links to other people (DualAuthorization); wired by the module. */
  dualControl?: EnrolmentLinkGate;
}

/** A link handed out once, in the answer of the call that issued it (or of the approval that did). */
export interface IssuedEnrolmentLink {
  identityId: string;
  enrolmentToken: string;
  linkId: string;
  expiresAt: Date;
}

/** Who issues a link: the requester (actor) and, after dual authorization, the approvers. */
export type LinkIssuer = Pick<CommandMetadata, 'actor' | 'correlationId' | 'reason' | 'changeTicket' | 'approvers' | 'approvalId'>;

/** The gate a link for another person passes (DualAuthorization.guard): returns when it may be issued now. */
export interface EnrolmentLinkGate {
  guard(principal: Principal, ctx: ChangeContext, change: { operation: 'IssueEnrolmentLink'; identityId: string; ttlMinutes: number; replaceFactors: boolean }, facts: OperationFacts): Promise<void>;
}

type StepUpBinding = ApprovalStepUp['binding'];

function stepUpChallengeBytes(b: StepUpBinding): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(stepUpChallenge(b), 'base64url'));
}

/** A WebAuthn ceremony's challenge lives this long (the browser prompt included). */
export const CEREMONY_TTL_MS = 5 * 60_000;
/** Time between the security key and the authenticator app's first code during enrolment. */
export const ENROLMENT_SESSION_TTL_MS = 15 * 60_000;
/** RFC 6238 step and the drift accepted: one step either side. */
export const TOTP_PERIOD_SECONDS = 30;
/** At most this many wrong codes per person in the window; then refused until the oldest leaves it. */
export const TOTP_MAX_FAILURES = 5;
export const TOTP_FAILURE_WINDOW_MS = 5 * 60_000;

const TOKEN_PART = /^[A-Za-z0-9_-]{43}$/;

/** A sign-in or enrolment refusal: audited DENIED with its reason code, answered UNAUTHENTICATED naming the field. */
function refused(reason: string, field: string, message: string): AccessRefusedError<'UNAUTHENTICATED'> {
  const e = new AccessRefusedError('UNAUTHENTICATED', `unauthenticated: ${message}`, field, { reason });
  return e;
}

function sha256(data: Buffer | string): Buffer {
  return createHash('sha256').update(data).digest();
}

/** `<uuid>.<43 base64url chars>` (256 random bits): the id finds the row, the secret is compared to its hash. */
function splitBearerSecret(value: unknown, field: string): { id: string; secret: string } {
  if (typeof value !== 'string' || value.length > 128) throw invalidArgument(field, 'must be the token the KMS handed out (<id>.<secret>)');
  const [id, secret, ...rest] = value.split('.');
  if (rest.length > 0 || !id || !secret || !isUuid(id) || !TOKEN_PART.test(secret)) throw invalidArgument(field, 'must be the token the KMS handed out (<id>.<secret>)');
  return { id, secret };
}

function object(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidArgument(field, 'must be the JSON object the browser returned (PublicKeyCredential.toJSON())');
  return value as Record<string, unknown>;
}

function uuid(value: unknown, field: string): string {
  if (typeof value !== 'string' || !isUuid(value)) throw invalidArgument(field, 'must be a UUID');
  return value;
}

/**
 * People's second factors (docs/console.md): one-time enrolment links, WebAuthn (FIDO2) security
 * keys and TOTP, and the sign-in that needs both before the server issues a person's token. Every
 * step is audited; refusals are DENIED with a reason code. Secrets (link and session tokens, TOTP
 * secrets and codes, public keys) never enter events, audit records, logs or errors.
 */
export class PersonFactorsService {
  private readonly locks = new StreamLocks();

  constructor(private readonly o: PersonFactorsOptions) {
    if (o.totpWrapKey.length !== 32) throw new Error('totpWrapKey must be 32 bytes');
  }

  private now(): Date {
    return this.o.clock.now();
  }

  private async state(identityId: string): Promise<PersonFactorsState> {
    return (await loadAggregate(this.o.store, personFactorsDecider, personFactorsEventCodec, personFactorsStreamId(identityId))).state;
  }

  private async execute(identityId: string, command: (now: Date) => PersonFactorsCommand): Promise<PersonFactorsState> {
    const { state } = await handleCommand(this.o.store, personFactorsDecider, personFactorsEventCodec, personFactorsStreamId(identityId), () => ({ command: command(this.now()) }), {
      locks: this.locks,
      conflict: () => new KmsError('CONCURRENCY_CONFLICT', 'the person\'s factors changed concurrently; retry', 'identity_id'),
    });
    return state;
  }

  private async person(identityId: string, field: string): Promise<{ identityId: string; name: string }> {
    const { state } = await this.o.identities.cache.load(identityId);
    if (state.status === 'Unregistered' || state.identity.kind !== 'HUMAN') throw invalidArgument(field, 'must name a person (a HUMAN identity)');
    if (state.status === 'Suspended') throw new AccessRefusedError('PERMISSION_DENIED', `permission denied: ${state.identity.name} is suspended`, field);
    return { identityId, name: state.identity.name };
  }

  /**
   * A one-time link for a person's first security key (or, with `replaceFactors`, for new factors
   * replacing lost ones), asked for by a caller the pipeline admitted for CreateEnrolmentLink. Whoever
   * holds the link could enrol their own authenticator as that person, so it takes two people: the
   * request becomes an approval request (APPROVAL_REQUIRED) and the approver receives the link in the
   * ApproveRequest answer (DualAuthorization). Both are then tied to the person for dual
   * authorization. The one exception: the bootstrap administrator's link for the first person they
   * registered alone (nobody else could approve it).
   */
  async createEnrolmentLink(
    principal: Principal,
    input: { identityId: unknown; ttlMinutes?: unknown; replaceFactors?: unknown },
    facts: OperationFacts,
    ctx: ChangeContext,
  ): Promise<IssuedEnrolmentLink> {
    const identityId = uuid(input.identityId, 'identity_id');
    const ttlMinutes = this.linkTtl(input.ttlMinutes);
    if (input.replaceFactors !== undefined && typeof input.replaceFactors !== 'boolean') throw invalidArgument('replace_factors', 'must be true or false');
    const replaceFactors = input.replaceFactors === true;
    const person = await this.person(identityId, 'identity_id');
    if (identityId === principal.identityId) {
      throw new KmsError('PERMISSION_DENIED', 'permission denied: nobody issues an enrolment link for themselves; add a security key from your own signed-in session, or ask another security engineer', 'identity_id');
    }
    // Refused now, not after a second person approved: a person with factors needs replace_factors.
    const current = await this.state(identityId);
    if ((current.credentials.length > 0 || current.totpEnrolled) && !replaceFactors) {
      decidePersonFactors({ type: 'IssueEnrolmentLink', data: { identityId, linkId: randomUUID(), expiresAt: new Date(this.now().getTime() + 60_000) }, metadata: { now: this.now(), actor: principal.identityId, correlationId: 'preview' } }, current);
    }
    facts.details = { ...facts.details, identityId, createdFor: person.name, ...(replaceFactors ? { replaceFactors: 'true' } : {}) };
    if (!this.o.dualControl) throw new Error('PersonFactorsService: dual control is not wired');
    await this.o.dualControl.guard(principal, ctx, { operation: 'IssueEnrolmentLink', identityId, ttlMinutes, replaceFactors }, facts);
    const link = await this.issueLink(identityId, { ttlMinutes, replaceFactors }, { actor: principal.identityId, correlationId: ctx.correlationId, ...(ctx.reason ? { reason: ctx.reason } : {}) });
    facts.details = { ...facts.details, linkId: link.linkId, expiresAt: link.expiresAt.toISOString(), createdBy: principal.name };
    return link;
  }

  private linkTtl(value: unknown): number {
    const ttl = value === undefined || value === 0 ? this.o.enrolmentLinkTtlMinutes : value;
    if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > 24 * 60) throw invalidArgument('ttl_minutes', 'must be a whole number of minutes from 1 to 1440');
    return ttl;
  }

  /**
   * Issue the link once it is allowed (bootstrap, the bootstrap exception, or an approved request:
   * `by` then names the requester and the approvers). A new link replaces the person's previous one;
   * with `replaceFactors` their security keys and authenticator app are removed first.
   */
  async issueLink(identityId: string, options: { ttlMinutes?: number; replaceFactors?: boolean }, by: LinkIssuer): Promise<IssuedEnrolmentLink> {
    const ttl = this.linkTtl(options.ttlMinutes);
    await this.person(identityId, 'identity_id');
    const linkId = randomUUID();
    const secret = randomBytes(32).toString('base64url');
    const expiresAt = new Date(this.now().getTime() + ttl * 60_000);
    const state = await this.execute(identityId, (now) => ({
      type: 'IssueEnrolmentLink',
      data: { identityId, linkId, expiresAt, ...(options.replaceFactors ? { replaceFactors: true } : {}) },
      metadata: { now, ...by },
    }));
    if (options.replaceFactors) {
      // The factors the events just removed stop working now: sign-in reads this store.
      for (const c of await this.o.factors.listCredentials(identityId)) {
        if (!state.credentials.includes(c.credentialId)) await this.o.factors.removeCredential(identityId, c.credentialId);
      }
      if (!state.totpEnrolled) await this.o.factors.removeTotp(identityId);
    }
    await this.o.factors.putEnrolmentLink({ linkId, identityId, secretHash: sha256(secret), expiresAt });
    return { identityId, enrolmentToken: `${linkId}.${secret}`, linkId, expiresAt };
  }

  /** Who asked for and approved the link this person's current factors came through (see approverTiedToRequester). */
  async enrolledThroughLinkOf(identityId: string): Promise<string[]> {
    return (await this.state(identityId)).enrolledThroughLinkOf ?? [];
  }

  /**
   * True when the person has no security key and no link they could still redeem (none issued, or
   * the last one expired): the bootstrap administrator then gets a fresh link at start.
   */
  async awaitsEnrolmentLink(identityId: string): Promise<boolean> {
    const state = await this.state(identityId);
    if (state.credentials.length > 0) return false;
    return !state.link || state.link.redeemed || new Date(state.link.expiresAt).getTime() <= this.now().getTime();
  }

  /** The id of the person with this name (people know their name, not their UUID). */
  private personNamed(name: unknown): string {
    if (typeof name !== 'string' || name.trim() === '' || name.length > LIMITS.nameMaxLength) throw invalidArgument('name', `must be the person's identity name (1 to ${LIMITS.nameMaxLength} characters)`);
    const found = this.o.identities.list().find((s) => s.identity.kind === 'HUMAN' && s.identity.name === name);
    if (!found) throw invalidArgument('name', 'no person has this name');
    return found.identity.identityId;
  }

  /** The person a bearer token from a verified sign-in names (amr hwk+otp). */
  private async signedInPerson(bearer: string | undefined): Promise<Principal> {
    const principal = await this.o.identities.authenticate(bearer);
    if (principal.kind !== 'HUMAN' || !(principal.authMethods.includes('hwk') && principal.authMethods.includes('otp'))) {
      throw refused('SESSION_REQUIRED', 'authorization', 'this needs the person\'s own token from a sign-in with both factors');
    }
    return principal;
  }

  /** The link a token names, checked (constant time) and valid now; not consumed. */
  private async validLink(token: unknown): Promise<{ linkId: string; identityId: string }> {
    const { id, secret } = splitBearerSecret(token, 'enrolment_token');
    const link = await this.o.factors.getEnrolmentLink(id);
    const matches = timingSafeEqual(sha256(secret), link?.secretHash ?? Buffer.alloc(32));
    if (!link || !matches) throw refused('ENROLMENT_LINK_UNKNOWN', 'enrolment_token', 'unknown or replaced enrolment link');
    if (link.usedAt) throw refused('ENROLMENT_LINK_USED', 'enrolment_token', 'this enrolment link was already used');
    if (link.expiresAt.getTime() <= this.now().getTime()) throw refused('ENROLMENT_LINK_EXPIRED', 'enrolment_token', 'this enrolment link has expired');
    return { linkId: link.linkId, identityId: link.identityId };
  }

  private audited<T>(ctx: CallContext, operation: string, fn: (facts: OperationFacts) => Promise<T>): Promise<T> {
    return this.o.executor.runChange(ctx, operation, async (facts) => {
      try {
        return await fn(facts);
      } catch (e) {
        const reason = e instanceof KmsError ? e.facts?.['reason'] : undefined;
        if (reason) facts.details = { ...facts.details, reason };
        throw e;
      }
    }, { holdsSecret: () => true });
  }

  /**
   * WebAuthn registration options for a person: with an enrolment link (their first key) or with
   * their own signed-in token (another key). Answers a ceremony id to send back with the response.
   */
  registrationOptions(ctx: CallContext, grant: { enrolmentToken: unknown } | { bearerToken: string | undefined }): Promise<{ ceremonyId: string; options: unknown }> {
    return this.audited(ctx, 'BeginWebAuthnRegistration', async (facts) => {
      let identityId: string;
      let grantedBy: string;
      if ('bearerToken' in grant) {
        identityId = (await this.signedInPerson(grant.bearerToken)).identityId;
        grantedBy = 'session';
      } else {
        const link = await this.validLink(grant.enrolmentToken);
        identityId = link.identityId;
        grantedBy = link.linkId;
      }
      const person = await this.person(identityId, 'identity_id');
      facts.details = { ...facts.details, identityId, via: grantedBy === 'session' ? 'session' : 'enrolment-link' };
      const existing = await this.o.factors.listCredentials(identityId);
      const options = await generateRegistrationOptions({
        rpName: this.o.relyingParty.rpName,
        rpID: this.o.relyingParty.rpId,
        userName: person.name,
        userID: Buffer.from(identityId, 'utf8'),
        attestationType: 'none',
        excludeCredentials: existing.map((c) => ({ id: c.credentialId, transports: c.transports as AuthenticatorTransportFuture[] })),
        authenticatorSelection: { userVerification: 'required', residentKey: 'preferred' },
        timeout: CEREMONY_TTL_MS,
      });
      const ceremonyId = randomUUID();
      await this.o.factors.putCeremony({ ceremonyId, identityId, purpose: 'registration', challenge: options.challenge, grantedBy, expiresAt: new Date(this.now().getTime() + CEREMONY_TTL_MS) }, this.now());
      return { ceremonyId, options };
    });
  }

  /**
   * Verify a registration (the challenge is taken: single use) and store the key. With a link, the
   * link is used up here and an enrolment session for the authenticator app is answered.
   */
  verifyRegistration(
    ctx: CallContext,
    input: { ceremonyId: unknown; response: unknown } & ({ enrolmentToken: unknown } | { bearerToken: string | undefined }),
  ): Promise<{ credentialId: string; enrolmentSession?: string; enrolmentSessionExpiresAt?: Date }> {
    return this.audited(ctx, 'EnrolWebAuthnCredential', async (facts) => {
      const ceremonyId = uuid(input.ceremonyId, 'ceremony_id');
      const response = object(input.response, 'response') as unknown as RegistrationResponseJSON;
      const principal = 'bearerToken' in input ? await this.signedInPerson(input.bearerToken) : undefined;
      if (!('bearerToken' in input)) await this.validLink(input.enrolmentToken);
      const ceremony = await this.o.factors.takeCeremony(ceremonyId, 'registration', this.now());
      if (!ceremony) throw refused('CHALLENGE_UNKNOWN_OR_USED', 'ceremony_id', 'unknown, expired or already used ceremony; ask for new options');
      facts.details = { ...facts.details, identityId: ceremony.identityId };
      const viaSession = ceremony.grantedBy === 'session';
      if (viaSession ? principal?.identityId !== ceremony.identityId : principal !== undefined) {
        throw refused('CEREMONY_OF_ANOTHER_GRANT', 'ceremony_id', 'this ceremony was not started with this grant');
      }
      if (!viaSession && 'enrolmentToken' in input) {
        const link = await this.validLink(input.enrolmentToken);
        if (link.linkId !== ceremony.grantedBy) throw refused('CEREMONY_OF_ANOTHER_GRANT', 'ceremony_id', 'this ceremony was not started with this enrolment link');
      }
      let verification: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
      try {
        verification = await verifyRegistrationResponse({
          response,
          expectedChallenge: ceremony.challenge,
          expectedOrigin: this.o.relyingParty.origins,
          expectedRPID: this.o.relyingParty.rpId,
          requireUserVerification: true,
        });
      } catch (e) {
        throw refused(webAuthnReason(e), 'response', `the security key's registration did not verify (${webAuthnProblem(e)})`);
      }
      if (!verification.verified) throw refused('REGISTRATION_NOT_VERIFIED', 'response', 'the security key\'s registration did not verify');
      const credential = verification.registrationInfo.credential;
      const publicKey = Buffer.from(credential.publicKey);
      const fingerprint = sha256(publicKey).toString('hex');
      facts.details = { ...facts.details, credentialId: credential.id, publicKeyFingerprint: fingerprint };
      if (!viaSession) {
        // Used up before the key is stored: of two racing redemptions only one gets here.
        if (!(await this.o.factors.useEnrolmentLink(ceremony.grantedBy ?? '', this.now()))) throw refused('ENROLMENT_LINK_USED', 'enrolment_token', 'this enrolment link was already used');
        await this.execute(ceremony.identityId, (now) => ({ type: 'RedeemEnrolmentLink', data: { linkId: ceremony.grantedBy ?? '' }, metadata: { now, actor: ceremony.identityId, correlationId: ctx.requestId } }));
      }
      await this.execute(ceremony.identityId, (now) => ({
        type: 'EnrolWebAuthnCredential',
        data: { identityId: ceremony.identityId, credentialId: credential.id, publicKeyFingerprint: fingerprint, via: viaSession ? 'session' : 'enrolment-link' },
        metadata: { now, actor: ceremony.identityId, correlationId: ctx.requestId },
      }));
      await this.o.factors.addCredential({
        credentialId: credential.id,
        identityId: ceremony.identityId,
        publicKey,
        signCount: credential.counter,
        transports: credential.transports ?? [],
        createdAt: this.now(),
      });
      if (viaSession) return { credentialId: credential.id };
      const sessionSecret = randomBytes(32).toString('base64url');
      const sessionId = randomUUID();
      const expiresAt = new Date(this.now().getTime() + ENROLMENT_SESSION_TTL_MS);
      await this.o.factors.putCeremony({ ceremonyId: sessionId, identityId: ceremony.identityId, purpose: 'enrolment-session', challenge: sha256(sessionSecret).toString('hex'), expiresAt }, this.now());
      return { credentialId: credential.id, enrolmentSession: `${sessionId}.${sessionSecret}`, enrolmentSessionExpiresAt: expiresAt };
    });
  }

  private async enrolmentSession(value: unknown, take: boolean): Promise<string> {
    const { id, secret } = splitBearerSecret(value, 'enrolment_session');
    const session = await this.o.factors.peekCeremony(id, 'enrolment-session', this.now());
    const matches = timingSafeEqual(sha256(secret), session ? Buffer.from(session.challenge, 'hex') : Buffer.alloc(32));
    if (!session || !matches) throw refused('ENROLMENT_SESSION_UNKNOWN', 'enrolment_session', 'unknown or expired enrolment session; start again with a new enrolment link');
    if (take && !(await this.o.factors.takeCeremony(id, 'enrolment-session', this.now()))) throw refused('ENROLMENT_SESSION_UNKNOWN', 'enrolment_session', 'this enrolment session was already used');
    return session.identityId;
  }

  private wrap(identityId: string, secret: string): Buffer {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.o.totpWrapKey, iv);
    cipher.setAAD(Buffer.from(`kms-totp-v1:${identityId}`));
    const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, body, cipher.getAuthTag()]);
  }

  private unwrap(identityId: string, wrapped: Buffer): string {
    const decipher = createDecipheriv('aes-256-gcm', this.o.totpWrapKey, wrapped.subarray(0, 12));
    decipher.setAAD(Buffer.from(`kms-totp-v1:${identityId}`));
    decipher.setAuthTag(wrapped.subarray(wrapped.length - 16));
    try {
      return Buffer.concat([decipher.update(wrapped.subarray(12, wrapped.length - 16)), decipher.final()]).toString('utf8');
    } catch {
      // Never the bytes: the row was altered or wrapped under another master key.
      throw new KmsError('INTEGRITY_VIOLATION', 'the stored authenticator-app secret does not unwrap under this master key');
    }
  }

  /** A new TOTP secret for the enrolling person: the otpauth:// URI and its QR code (shown once). */
  beginTotpEnrolment(ctx: CallContext, input: { enrolmentSession: unknown }): Promise<{ otpauthUri: string; qrCodeDataUrl: string; secret: string }> {
    return this.audited(ctx, 'BeginTotpEnrolment', async (facts) => {
      const identityId = await this.enrolmentSession(input.enrolmentSession, false);
      facts.details = { ...facts.details, identityId };
      const person = await this.person(identityId, 'enrolment_session');
      const secret = generateSecret({ length: 20 });
      if (!(await this.o.factors.putPendingTotp(identityId, this.wrap(identityId, secret)))) {
        throw new KmsError('FACTORS_ALREADY_ENROLLED', 'enrolment_session: this person already has an authenticator app enrolled', 'enrolment_session');
      }
      const otpauthUri = generateURI({ issuer: this.o.relyingParty.rpName, label: person.name, secret, period: TOTP_PERIOD_SECONDS, digits: 6, algorithm: 'sha1' });
      return { otpauthUri, qrCodeDataUrl: await toDataURL(otpauthUri), secret };
    });
  }

  /** Rate limit, drift, replay: the one check of a TOTP code against the service clock. */
  private async checkTotp(identityId: string, secret: string, code: unknown, lastStep: number | undefined): Promise<number> {
    if (typeof code !== 'string' || !/^\d{6}$/.test(code)) throw invalidArgument('totp_code', 'must be the 6 digits the authenticator app shows');
    const now = this.now();
    const failures = await this.o.factors.totpFailuresSince(identityId, new Date(now.getTime() - TOTP_FAILURE_WINDOW_MS));
    if (failures.length >= TOTP_MAX_FAILURES) {
      const oldest = failures[failures.length - TOTP_MAX_FAILURES];
      const retryAfter = Math.max(1, Math.ceil((oldest.getTime() + TOTP_FAILURE_WINDOW_MS - now.getTime()) / 1000));
      throw new AccessRefusedError('TOO_MANY_ATTEMPTS', `too many wrong authenticator codes: try again in ${retryAfter} s`, 'totp_code', { reason: 'TOTP_RATE_LIMITED', 'retry-after': String(retryAfter) });
    }
    const epoch = Math.floor(now.getTime() / 1000);
    const result = await verifyTotp({ secret, token: code, epoch, period: TOTP_PERIOD_SECONDS, epochTolerance: TOTP_PERIOD_SECONDS });
    if (!result.valid) {
      await this.o.factors.recordTotpFailure(identityId, now);
      throw refused('TOTP_INVALID', 'totp_code', 'wrong or out-of-date authenticator code');
    }
    const step = Math.floor(epoch / TOTP_PERIOD_SECONDS) + result.delta;
    if (lastStep !== undefined && step <= lastStep) {
      await this.o.factors.recordTotpFailure(identityId, now);
      throw refused('TOTP_REPLAYED', 'totp_code', 'this authenticator code was already used; wait for the next one');
    }
    return step;
  }

  /** Complete TOTP enrolment with a first valid code; the enrolment session ends here. */
  confirmTotpEnrolment(ctx: CallContext, input: { enrolmentSession: unknown; code: unknown }): Promise<{ identityId: string }> {
    return this.audited(ctx, 'EnrolTotp', async (facts) => {
      const identityId = await this.enrolmentSession(input.enrolmentSession, false);
      facts.details = { ...facts.details, identityId };
      const totp = await this.o.factors.getTotp(identityId);
      if (!totp || totp.confirmed) throw invalidArgument('enrolment_session', 'ask for an authenticator-app secret first');
      const step = await this.checkTotp(identityId, this.unwrap(identityId, totp.wrappedSecret), input.code, undefined);
      await this.enrolmentSession(input.enrolmentSession, true);
      await this.execute(identityId, (now) => ({ type: 'EnrolTotp', data: {}, metadata: { now, actor: identityId, correlationId: ctx.requestId } }));
      if (!(await this.o.factors.confirmTotp(identityId, step))) throw new KmsError('CONCURRENCY_CONFLICT', 'enrolment_session: the authenticator app was confirmed concurrently', 'enrolment_session');
      return { identityId };
    });
  }

  /** Options for signing in: a single-use challenge and the person's keys. By identity id or by the person's name. */
  signInOptions(ctx: CallContext, input: { identityId?: unknown; name?: unknown }): Promise<{ ceremonyId: string; options: unknown }> {
    return this.audited(ctx, 'BeginSignIn', async (facts) => {
      const identityId = input.identityId === undefined && input.name !== undefined ? this.personNamed(input.name) : uuid(input.identityId, 'identity_id');
      facts.details = { ...facts.details, identityId };
      await this.person(identityId, 'identity_id');
      if (!hasBothFactors(await this.state(identityId))) throw refused('FACTORS_NOT_ENROLLED', 'identity_id', 'this person has not enrolled a security key and an authenticator app; ask a security engineer for an enrolment link');
      const credentials = await this.o.factors.listCredentials(identityId);
      const options = await generateAuthenticationOptions({
        rpID: this.o.relyingParty.rpId,
        allowCredentials: credentials.map((c) => ({ id: c.credentialId, transports: c.transports as AuthenticatorTransportFuture[] })),
        userVerification: 'required',
        timeout: CEREMONY_TTL_MS,
      });
      const ceremonyId = randomUUID();
      await this.o.factors.putCeremony({ ceremonyId, identityId, purpose: 'authentication', challenge: options.challenge, expiresAt: new Date(this.now().getTime() + CEREMONY_TTL_MS) }, this.now());
      return { ceremonyId, options };
    });
  }

  /**
   * Sign in: a WebAuthn assertion with user verification AND a TOTP code; only then the server
   * issues the person's token (amr hwk+otp, the credential id as `cid`).
   */
  signIn<R = void>(
    ctx: CallContext,
    input: { ceremonyId: unknown; response: unknown; totpCode: unknown; ttlSeconds?: unknown },
    onIssued?: (issued: IssuedToken & { credentialId: string; identityId: string }, facts: OperationFacts) => Promise<R>,
  ): Promise<IssuedToken & { credentialId: string; identityId: string; then?: R }> {
    return this.audited(ctx, 'SignIn', async (facts) => {
      const ceremonyId = uuid(input.ceremonyId, 'ceremony_id');
      const response = object(input.response, 'response') as unknown as AuthenticationResponseJSON;
      if (typeof response.id !== 'string') throw invalidArgument('response.id', 'must be the credential id');
      if (typeof input.totpCode !== 'string' || !/^\d{6}$/.test(input.totpCode)) throw invalidArgument('totp_code', 'must be the 6 digits the authenticator app shows');
      const ttl = input.ttlSeconds === undefined || input.ttlSeconds === 0 ? MAX_TOKEN_TTL_SECONDS : input.ttlSeconds;
      if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TOKEN_TTL_SECONDS) throw invalidArgument('ttl_seconds', `must be from 1 to ${MAX_TOKEN_TTL_SECONDS}`);
      const ceremony = await this.o.factors.takeCeremony(ceremonyId, 'authentication', this.now());
      if (!ceremony) throw refused('CHALLENGE_UNKNOWN_OR_USED', 'ceremony_id', 'unknown, expired or already used sign-in challenge; ask for new options');
      const identityId = ceremony.identityId;
      facts.details = { ...facts.details, identityId, credentialId: response.id };
      const enrolled = await this.state(identityId);
      if (!enrolled.totpEnrolled) throw refused('FACTORS_NOT_ENROLLED', 'totp_code', 'no authenticator app is enrolled for this person');
      const stored = await this.verifyAssertion(identityId, ceremony.challenge, response, enrolled);
      const totp = await this.o.factors.getTotp(identityId);
      if (!totp?.confirmed) throw refused('FACTORS_NOT_ENROLLED', 'totp_code', 'no authenticator app is enrolled for this person');
      const step = await this.checkTotp(identityId, this.unwrap(identityId, totp.wrappedSecret), input.totpCode, totp.lastStep);
      if (!(await this.o.factors.acceptTotpStep(identityId, step))) throw refused('TOTP_REPLAYED', 'totp_code', 'this authenticator code was already used; wait for the next one');
      const issued = await this.o.identities.issueVerifiedPersonToken(identityId, { webauthnCredentialId: stored.credentialId }, ttl);
      facts.details = { ...facts.details, expiresAt: issued.expiresAt.toISOString() };
      const result = { ...issued, credentialId: stored.credentialId, identityId };
      // Inside the audited call: a console session that cannot be stored fails the sign-in on the record.
      return onIssued ? { ...result, then: await onIssued(result, facts) } : result;
    });
  }

  /**
   * A WebAuthn assertion by one of the person's enrolled keys over `challenge`: origin, RP id, user
   * verification, signature, and a signature counter that moves forward (advanced atomically).
   */
  private async verifyAssertion(identityId: string, challenge: string, response: AuthenticationResponseJSON, enrolled?: PersonFactorsState): Promise<WebAuthnCredentialRecord> {
    const stored = await this.o.factors.getCredential(response.id);
    if (!stored || stored.identityId !== identityId) throw refused('CREDENTIAL_UNKNOWN', 'response.id', 'this security key is not enrolled for this person');
    // The history decides what is enrolled, the table only holds the keys: a row whose enrolment
    // event never committed (or was removed) signs nobody in.
    const state = enrolled ?? (await this.state(identityId));
    if (!state.credentials.includes(stored.credentialId)) throw refused('CREDENTIAL_UNKNOWN', 'response.id', 'this security key is not enrolled for this person');
    let verification: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
    try {
      verification = await verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: this.o.relyingParty.origins,
        expectedRPID: this.o.relyingParty.rpId,
        credential: { id: stored.credentialId, publicKey: new Uint8Array(stored.publicKey), counter: stored.signCount, transports: stored.transports as AuthenticatorTransportFuture[] },
        requireUserVerification: true,
      });
    } catch (e) {
      throw refused(webAuthnReason(e), 'response', `the security key's assertion did not verify (${webAuthnProblem(e)})`);
    }
    if (!verification.verified) throw refused('ASSERTION_NOT_VERIFIED', 'response', 'the security key\'s assertion did not verify');
    const next = verification.authenticationInfo.newCounter;
    // A counter that does not move forward (once either is non-zero) means a cloned key.
    if ((next !== 0 || stored.signCount !== 0) && next <= stored.signCount) {
      throw refused('COUNTER_REGRESSION', 'response', 'the security key\'s signature counter did not increase (a cloned authenticator?)');
    }
    if (!(await this.o.factors.advanceCredential(stored.credentialId, stored.signCount, next, this.now()))) {
      throw refused('COUNTER_REGRESSION', 'response', 'the security key was used concurrently; sign in again');
    }
    return stored;
  }

  /**
   * Step-up options for one decision of a signed-in person: the challenge is SHA-256 of the binding
   * (approval id, change ticket, decision, person, a random nonce), stored with it; single use, 5 minutes.
   * Runs inside the caller's audited call.
   */
  async stepUpOptions(principal: Principal, decision: { approvalId: string; changeTicket: string; decision: 'approve' }): Promise<{ ceremonyId: string; options: unknown }> {
    const identityId = principal.identityId;
    if (!hasBothFactors(await this.state(identityId))) throw refused('FACTORS_NOT_ENROLLED', 'authorization', 'this person has no enrolled security key to confirm with');
    const binding: StepUpBinding = { approval_id: decision.approvalId, change_ticket: decision.changeTicket, decision: decision.decision, identity_id: identityId, nonce: randomBytes(32).toString('base64url') };
    const credentials = await this.o.factors.listCredentials(identityId);
    const options = await generateAuthenticationOptions({
      rpID: this.o.relyingParty.rpId,
      challenge: stepUpChallengeBytes(binding),
      allowCredentials: credentials.map((c) => ({ id: c.credentialId, transports: c.transports as AuthenticatorTransportFuture[] })),
      userVerification: 'required',
      timeout: CEREMONY_TTL_MS,
    });
    const ceremonyId = randomUUID();
    await this.o.factors.putCeremony({ ceremonyId, identityId, purpose: 'step-up', challenge: options.challenge, binding: { ...binding }, expiresAt: new Date(this.now().getTime() + CEREMONY_TTL_MS) }, this.now());
    return { ceremonyId, options };
  }

  /**
   * Verify a step-up assertion for exactly this decision by this person: the ceremony is taken
   * (single use), its binding must match, the assertion must verify like a sign-in's. Answers what
   * the approval's history keeps so anyone can re-verify it offline. Runs inside the caller's audited call.
   */
  async verifyStepUp(principal: Principal, input: { ceremonyId: unknown; response: unknown }, expected: { approvalId: string; changeTicket: string; decision: 'approve' }): Promise<ApprovalStepUp> {
    const ceremonyId = uuid(input.ceremonyId, 'ceremony_id');
    const response = object(input.response, 'response') as unknown as AuthenticationResponseJSON;
    if (typeof response.id !== 'string') throw invalidArgument('response.id', 'must be the credential id');
    const r = response.response as Partial<AuthenticationResponseJSON['response']> | undefined;
    if (typeof r?.authenticatorData !== 'string' || typeof r.clientDataJSON !== 'string' || typeof r.signature !== 'string') throw invalidArgument('response.response', 'must carry authenticatorData, clientDataJSON and signature');
    const ceremony = await this.o.factors.takeCeremony(ceremonyId, 'step-up', this.now());
    if (!ceremony) throw new AccessRefusedError('PERMISSION_DENIED', 'permission denied: unknown, expired or already used step-up ceremony; confirm with your security key again', 'ceremony_id', { reason: 'STEP_UP_STALE' });
    const b = ceremony.binding;
    if (ceremony.identityId !== principal.identityId || b?.['identity_id'] !== principal.identityId) {
      throw new AccessRefusedError('PERMISSION_DENIED', 'permission denied: this step-up ceremony belongs to another person', 'ceremony_id', { reason: 'STEP_UP_OF_ANOTHER_PERSON' });
    }
    if (b['approval_id'] !== expected.approvalId || b['change_ticket'] !== expected.changeTicket || b['decision'] !== expected.decision || typeof b['nonce'] !== 'string') {
      throw new AccessRefusedError('PERMISSION_DENIED', 'permission denied: this step-up ceremony was made for another approval, change ticket or decision', 'ceremony_id', { reason: 'STEP_UP_WRONG_BINDING' });
    }
    const binding: StepUpBinding = { approval_id: b['approval_id'], change_ticket: b['change_ticket'], decision: 'approve', identity_id: b['identity_id'], nonce: b['nonce'] };
    const stored = await this.verifyAssertion(principal.identityId, stepUpChallenge(binding), response);
    return {
      scheme: STEP_UP_SCHEME,
      binding,
      credentialId: stored.credentialId,
      authenticatorData: r.authenticatorData,
      clientDataJSON: r.clientDataJSON,
      signature: r.signature,
      publicKey: stored.publicKey.toString('base64url'),
      algorithm: coseAlgorithmOf(stored.publicKey),
      rpId: this.o.relyingParty.rpId,
    };
  }

  /** A signed-in person removes one of their own security keys (never the last: sign-in would be impossible). */
  removeCredential(ctx: CallContext, input: { bearerToken: string | undefined; credentialId: unknown }): Promise<void> {
    return this.audited(ctx, 'RemoveWebAuthnCredential', async (facts) => {
      const principal = await this.signedInPerson(input.bearerToken);
      const credentialId = input.credentialId;
      if (typeof credentialId !== 'string' || credentialId.length === 0 || credentialId.length > 1366) throw invalidArgument('credential_id', 'must be a credential id');
      facts.details = { ...facts.details, identityId: principal.identityId, credentialId };
      const credentials = await this.o.factors.listCredentials(principal.identityId);
      if (!credentials.some((c) => c.credentialId === credentialId)) throw invalidArgument('credential_id', 'no such security key for this person');
      if (credentials.length === 1) throw invalidArgument('credential_id', 'this is the person\'s last security key; enrol another first');
      await this.execute(principal.identityId, (now) => ({ type: 'RemoveWebAuthnCredential', data: { credentialId }, metadata: { now, actor: principal.identityId, correlationId: ctx.requestId } }));
      await this.o.factors.removeCredential(principal.identityId, credentialId);
    });
  }
}

/** The reason code of a WebAuthn verification failure, from @simplewebauthn's error. */
function webAuthnReason(e: unknown): string {
  const m = e instanceof Error ? e.message : '';
  if (/origin/i.test(m)) return 'WRONG_ORIGIN';
  if (/RP ID|rpid/i.test(m)) return 'WRONG_RP_ID';
  if (/user.*verif/i.test(m)) return 'USER_VERIFICATION_MISSING';
  if (/challenge/i.test(m)) return 'CHALLENGE_MISMATCH';
  if (/counter/i.test(m)) return 'COUNTER_REGRESSION';
  if (/signature/i.test(m)) return 'BAD_SIGNATURE';
  return 'WEBAUTHN_INVALID';
}

/** What was wrong, in the library's words, without echoing data from the request. */
function webAuthnProblem(e: unknown): string {
  switch (webAuthnReason(e)) {
    case 'WRONG_ORIGIN':
      return 'unexpected origin';
    case 'WRONG_RP_ID':
      return 'unexpected relying party id';
    case 'USER_VERIFICATION_MISSING':
      return 'user verification is required';
    case 'CHALLENGE_MISMATCH':
      return 'the challenge does not match';
    case 'COUNTER_REGRESSION':
      return 'the signature counter did not increase';
    case 'BAD_SIGNATURE':
      return 'bad signature';
    default:
      return 'malformed or invalid response';
  }
}
