/** A stored one-time enrolment link: only the SHA-256 of its secret. */
export interface EnrolmentLinkRecord {
  linkId: string;
  identityId: string;
  secretHash: Buffer;
  expiresAt: Date;
  usedAt?: Date;
}

/**
 * Why a ceremony exists: WebAuthn registration or authentication, an enrolment session (TOTP
 * steps), or a step-up assertion bound to one decision (console approvals).
 */
export type CeremonyPurpose = 'registration' | 'authentication' | 'enrolment-session' | 'step-up';

/** A single-use WebAuthn challenge (or the hash of an enrolment session's secret), bound to a person. */
export interface CeremonyRecord {
  ceremonyId: string;
  identityId: string;
  purpose: CeremonyPurpose;
  /** The WebAuthn challenge (base64url), or the hex SHA-256 of an enrolment session secret. */
  challenge: string;
  /** How the registration is allowed (enrolment link id or "session"); absent for others. */
  grantedBy?: string;
  /** What a step-up ceremony's challenge is derived from (approval id, change ticket, decision, person, nonce). */
  binding?: Record<string, string>;
  expiresAt: Date;
}

/** A person's WebAuthn credential: public, but only the fingerprint ever leaves this store in events. */
export interface WebAuthnCredentialRecord {
  credentialId: string;
  identityId: string;
  /** COSE public key bytes. */
  publicKey: Buffer;
  signCount: number;
  transports: string[];
  createdAt: Date;
  lastUsedAt?: Date;
}

/** A person's TOTP factor: the secret wrapped under a key derived from the master key. */
export interface TotpRecord {
  identityId: string;
  wrappedSecret: Buffer;
  confirmed: boolean;
  /** The last accepted RFC 6238 time step: a code of this step or an earlier one is refused. */
  lastStep?: number;
}

/**
 * Where people's second factors live (PostgreSQL in deployments, so every replica agrees). Every
 * "consume" is atomic: of two replicas racing on the same challenge or step, only one wins.
 */
export interface SecondFactorStore {
  /** Store a new link for the person, replacing (so invalidating) any earlier one. */
  putEnrolmentLink(link: EnrolmentLinkRecord): Promise<void>;
  getEnrolmentLink(linkId: string): Promise<EnrolmentLinkRecord | undefined>;
  /** Mark the link used if it is unused and unexpired at `now`; false when another call won or it expired. */
  useEnrolmentLink(linkId: string, now: Date): Promise<boolean>;

  putCeremony(ceremony: CeremonyRecord, now: Date): Promise<void>;
  /** Read a ceremony still valid at `now` without consuming it (enrolment sessions). */
  peekCeremony(ceremonyId: string, purpose: CeremonyPurpose, now: Date): Promise<CeremonyRecord | undefined>;
  /** Take (delete) a ceremony valid at `now`: a second take of the same one gets undefined. */
  takeCeremony(ceremonyId: string, purpose: CeremonyPurpose, now: Date): Promise<CeremonyRecord | undefined>;

  addCredential(credential: WebAuthnCredentialRecord): Promise<void>;
  getCredential(credentialId: string): Promise<WebAuthnCredentialRecord | undefined>;
  listCredentials(identityId: string): Promise<WebAuthnCredentialRecord[]>;
  /** Move the counter from `from` to `to` (compare-and-set) and note the use; false when it moved meanwhile. */
  advanceCredential(credentialId: string, from: number, to: number, usedAt: Date): Promise<boolean>;
  removeCredential(identityId: string, credentialId: string): Promise<boolean>;

  /** Store a pending (unconfirmed) TOTP secret, replacing a pending one; a confirmed one is kept. */
  putPendingTotp(identityId: string, wrappedSecret: Buffer): Promise<boolean>;
  getTotp(identityId: string): Promise<TotpRecord | undefined>;
  /** Remove the person's authenticator app, confirmed or not (their factors are being replaced). */
  removeTotp(identityId: string): Promise<boolean>;
  confirmTotp(identityId: string, step: number): Promise<boolean>;
  /** Accept `step` if it is later than the last accepted one (atomic); false: a replay. */
  acceptTotpStep(identityId: string, step: number): Promise<boolean>;
  recordTotpFailure(identityId: string, at: Date): Promise<void>;
  /** Failures at or after `since`, oldest first (for the rate limit and its retry-after). */
  totpFailuresSince(identityId: string, since: Date): Promise<Date[]>;
}
