import type { Decider } from '../events/decider';
import { PERSON_FACTORS_STREAM_PREFIX } from '../events/stream-ids';
import { KmsError, invalidArgument } from '../errors/kms-error';
import type { CommandMetadata } from '../key/key.commands';
import type { EventMetadata } from '../key/key.events';

type Event<T extends string, D> = { type: T; data: D; metadata: EventMetadata };
type Command<T extends string, D> = { type: T; data: D; metadata: CommandMetadata };

/**
 * A person's second factors as audited facts. The secrets themselves (link token, public key, TOTP
 * secret) never appear here: a link is named by its id, a credential by its id and the SHA-256
 * fingerprint of its public key.
 */
export type EnrolmentLinkIssued = Event<'EnrolmentLinkIssued', { identityId: string; linkId: string; expiresAt: string }>;
export type EnrolmentLinkRedeemed = Event<'EnrolmentLinkRedeemed', { identityId: string; linkId: string }>;
export type WebAuthnCredentialEnrolled = Event<
  'WebAuthnCredentialEnrolled',
  { identityId: string; credentialId: string; publicKeyFingerprint: string; via: WebAuthnEnrolmentVia }
>;
export type WebAuthnCredentialRemoved = Event<'WebAuthnCredentialRemoved', { identityId: string; credentialId: string }>;
export type TotpEnrolled = Event<'TotpEnrolled', { identityId: string }>;
/** A lost or compromised factor replaced: every security key and the authenticator app removed, before a new link. */
export type PersonFactorsReset = Event<'PersonFactorsReset', { identityId: string; credentialIds: string[]; totpRemoved: boolean }>;
export type PersonFactorsEvent = EnrolmentLinkIssued | EnrolmentLinkRedeemed | WebAuthnCredentialEnrolled | WebAuthnCredentialRemoved | TotpEnrolled | PersonFactorsReset;

/** How a registration was allowed: a one-time enrolment link, or a signed-in session of the same person. */
export type WebAuthnEnrolmentVia = 'enrolment-link' | 'session';

/** `replaceFactors`: the person lost a factor; their keys and app are removed and the link enrols new ones. */
export type IssueEnrolmentLink = Command<'IssueEnrolmentLink', { identityId: string; linkId: string; expiresAt: Date; replaceFactors?: boolean }>;
export type RedeemEnrolmentLink = Command<'RedeemEnrolmentLink', { linkId: string }>;
export type EnrolWebAuthnCredential = Command<'EnrolWebAuthnCredential', { identityId: string; credentialId: string; publicKeyFingerprint: string; via: WebAuthnEnrolmentVia }>;
export type RemoveWebAuthnCredential = Command<'RemoveWebAuthnCredential', { credentialId: string }>;
export type EnrolTotp = Command<'EnrolTotp', Record<string, never>>;
export type PersonFactorsCommand = IssueEnrolmentLink | RedeemEnrolmentLink | EnrolWebAuthnCredential | RemoveWebAuthnCredential | EnrolTotp;

export interface PersonFactorsState {
  identityId?: string;
  /**
   * The latest link issued: an earlier one is invalid from the moment another is issued. `issuedBy`:
   * who asked for it and who approved it — anyone of them could have used it themselves.
   */
  link?: { linkId: string; expiresAt: string; redeemed: boolean; issuedBy: string[] };
  /**
   * Who could have enrolled this person's factors instead of them: the people who asked for and
   * approved the link their first current security key came through (later keys are added from a
   * session those factors opened). Such a person may not pair with this one for dual authorization.
   */
  enrolledThroughLinkOf?: string[];
  /** Enrolled WebAuthn credential ids (base64url). */
  credentials: string[];
  totpEnrolled: boolean;
}

export const PERSON_FACTORS_EVENT_TYPES: readonly PersonFactorsEvent['type'][] = [
  'EnrolmentLinkIssued',
  'EnrolmentLinkRedeemed',
  'WebAuthnCredentialEnrolled',
  'WebAuthnCredentialRemoved',
  'TotpEnrolled',
  'PersonFactorsReset',
];

export function personFactorsStreamId(identityId: string): string {
  return `${PERSON_FACTORS_STREAM_PREFIX}${identityId}`;
}

/** Whether the person has both factors, so may sign in. */
export function hasBothFactors(state: PersonFactorsState): boolean {
  return state.credentials.length > 0 && state.totpEnrolled;
}

function meta(m: CommandMetadata): EventMetadata {
  return {
    actor: m.actor,
    correlationId: m.correlationId,
    occurredAt: m.now.toISOString(),
    ...(m.reason ? { reason: m.reason } : {}),
    ...(m.changeTicket ? { changeTicket: m.changeTicket } : {}),
    ...(m.approvers?.length ? { approvers: m.approvers } : {}),
    ...(m.approvalId ? { approvalId: m.approvalId } : {}),
  };
}

const CREDENTIAL_ID = /^[A-Za-z0-9_-]{16,1366}$/;
const FINGERPRINT = /^[0-9a-f]{64}$/;

export function decidePersonFactors(command: PersonFactorsCommand, state: PersonFactorsState): PersonFactorsEvent[] {
  const metadata = meta(command.metadata);
  const now = command.metadata.now;
  switch (command.type) {
    case 'IssueEnrolmentLink': {
      // A link is for the first factor; adding an authenticator later takes the person's own session,
      // and replacing lost ones is asked for explicitly (replace_factors).
      const hasFactors = state.credentials.length > 0 || state.totpEnrolled;
      if (hasFactors && !command.data.replaceFactors) {
        throw new KmsError(
          'FACTORS_ALREADY_ENROLLED',
          'identity_id: this person already has a security key; they add another from their own signed-in session, or ask for a link with replace_factors when one was lost',
          'identity_id',
        );
      }
      if (command.data.expiresAt.getTime() <= now.getTime()) throw invalidArgument('ttl_minutes', 'the link must expire in the future');
      const issued: PersonFactorsEvent = { type: 'EnrolmentLinkIssued', data: { identityId: command.data.identityId, linkId: command.data.linkId, expiresAt: command.data.expiresAt.toISOString() }, metadata };
      if (!hasFactors) return [issued];
      return [{ type: 'PersonFactorsReset', data: { identityId: command.data.identityId, credentialIds: [...state.credentials], totpRemoved: state.totpEnrolled }, metadata }, issued];
    }
    case 'RedeemEnrolmentLink': {
      const link = state.link;
      if (!link || link.linkId !== command.data.linkId) throw new KmsError('UNAUTHENTICATED', 'unauthenticated: unknown or replaced enrolment link', 'enrolment_token');
      if (link.redeemed) throw new KmsError('UNAUTHENTICATED', 'unauthenticated: this enrolment link was already used', 'enrolment_token');
      if (Date.parse(link.expiresAt) <= now.getTime()) throw new KmsError('UNAUTHENTICATED', 'unauthenticated: this enrolment link has expired', 'enrolment_token');
      return [{ type: 'EnrolmentLinkRedeemed', data: { identityId: state.identityId ?? '', linkId: link.linkId }, metadata }];
    }
    case 'EnrolWebAuthnCredential': {
      const d = command.data;
      if (d.via === 'enrolment-link' && !state.link?.redeemed) throw new KmsError('UNAUTHENTICATED', 'unauthenticated: redeem an enrolment link first', 'enrolment_token');
      if (d.via === 'session' && state.credentials.length === 0) throw new KmsError('UNAUTHENTICATED', 'unauthenticated: a session adds a security key only for a person who has one', 'authorization');
      if (!CREDENTIAL_ID.test(d.credentialId)) throw invalidArgument('response.id', 'must be a base64url credential id');
      if (!FINGERPRINT.test(d.publicKeyFingerprint)) throw invalidArgument('response', 'the public key fingerprint is not SHA-256 hex');
      if (state.credentials.includes(d.credentialId)) throw invalidArgument('response.id', 'this authenticator is already enrolled');
      return [{ type: 'WebAuthnCredentialEnrolled', data: { identityId: d.identityId, credentialId: d.credentialId, publicKeyFingerprint: d.publicKeyFingerprint, via: d.via }, metadata }];
    }
    case 'RemoveWebAuthnCredential': {
      if (!state.identityId || !state.credentials.includes(command.data.credentialId)) throw invalidArgument('credential_id', 'no such security key for this person');
      return [{ type: 'WebAuthnCredentialRemoved', data: { identityId: state.identityId, credentialId: command.data.credentialId }, metadata }];
    }
    case 'EnrolTotp': {
      if (!state.identityId || state.credentials.length === 0) throw new KmsError('UNAUTHENTICATED', 'unauthenticated: enrol a security key first', 'enrolment_session');
      if (state.totpEnrolled) throw new KmsError('FACTORS_ALREADY_ENROLLED', 'enrolment_session: this person already has an authenticator app enrolled', 'enrolment_session');
      return [{ type: 'TotpEnrolled', data: { identityId: state.identityId }, metadata }];
    }
    default: {
      const never: never = command;
      throw new Error(`unhandled command ${JSON.stringify(never)}`);
    }
  }
}

export function evolvePersonFactors(state: PersonFactorsState, event: PersonFactorsEvent): PersonFactorsState {
  switch (event.type) {
    case 'EnrolmentLinkIssued':
      return {
        ...state,
        identityId: event.data.identityId,
        link: { linkId: event.data.linkId, expiresAt: event.data.expiresAt, redeemed: false, issuedBy: [event.metadata.actor, ...(event.metadata.approvers ?? [])] },
      };
    case 'EnrolmentLinkRedeemed':
      return state.link?.linkId === event.data.linkId ? { ...state, link: { ...state.link, redeemed: true } } : state;
    case 'WebAuthnCredentialEnrolled':
      return {
        ...state,
        identityId: event.data.identityId,
        credentials: [...state.credentials, event.data.credentialId],
        ...(event.data.via === 'enrolment-link' ? { enrolledThroughLinkOf: state.link?.issuedBy ?? [] } : {}),
      };
    case 'WebAuthnCredentialRemoved':
      return { ...state, credentials: state.credentials.filter((c) => c !== event.data.credentialId) };
    case 'PersonFactorsReset':
      return { ...state, credentials: [], totpEnrolled: false };
    case 'TotpEnrolled':
      return { ...state, totpEnrolled: true };
    default: {
      const never: never = event;
      throw new Error(`unhandled event ${JSON.stringify(never)}`);
    }
  }
}

/** A person's second factors as a Decider (one stream per person). */
export const personFactorsDecider: Decider<PersonFactorsCommand, PersonFactorsEvent, PersonFactorsState> = {
  decide: decidePersonFactors,
  evolve: evolvePersonFactors,
  initialState: () => ({ credentials: [], totpEnrolled: false }),
};
