import type { Decider } from '../events/decider';
import { IDENTITY_STREAM_PREFIX } from '../events/stream-ids';
import { KmsError, invalidArgument } from '../errors/kms-error';
import type { CommandMetadata } from '../key/key.commands';
import type { EventMetadata } from '../key/key.events';
import { HUMAN_ROLES, type HumanRole, IDENTITY_KINDS, type IdentityKind, type Role, SERVICE_ROLES } from './access-types';

type Event<T extends string, D> = { type: T; data: D; metadata: EventMetadata };
type Command<T extends string, D> = { type: T; data: D; metadata: CommandMetadata };

/** Credential verifiers are HMAC-SHA256 of the secret under a server key: never the secret. */
export type IdentityRegistered = Event<
  'IdentityRegistered',
  { identityId: string; name: string; kind: IdentityKind; roles: Role[]; credentialVerifier: string }
>;
export type IdentityCredentialRotated = Event<'IdentityCredentialRotated', { identityId: string; credentialVerifier: string }>;
export type IdentitySuspended = Event<'IdentitySuspended', { identityId: string }>;
export type IdentityReEnabled = Event<'IdentityReEnabled', { identityId: string }>;
/** The identity's roles were replaced (granted, changed or withdrawn); `previousRoles` is what it held before. */
export type IdentityRolesChanged = Event<'IdentityRolesChanged', { identityId: string; roles: Role[]; previousRoles: Role[] }>;
/** A TLS client certificate (SHA-256 fingerprint of its DER, and its subject) now authenticates the identity (KMIP). */
export type IdentityCertificateBound = Event<'IdentityCertificateBound', { identityId: string; fingerprint: string; subject: string }>;
/** The identity's client certificate no longer authenticates it (KMIP); `fingerprint` is the one removed. */
export type IdentityCertificateUnbound = Event<'IdentityCertificateUnbound', { identityId: string; fingerprint: string }>;
export type IdentityEvent = IdentityRegistered | IdentityCredentialRotated | IdentitySuspended | IdentityReEnabled | IdentityRolesChanged | IdentityCertificateBound | IdentityCertificateUnbound;

export type RegisterIdentity = Command<
  'RegisterIdentity',
  { identityId: string; name: string; kind: IdentityKind; roles: Role[]; credentialVerifier: string }
>;
export type RotateCredential = Command<'RotateCredential', { credentialVerifier: string }>;
export type SuspendIdentity = Command<'SuspendIdentity', Record<string, never>>;
export type ReEnableIdentity = Command<'ReEnableIdentity', Record<string, never>>;
/** Replace the identity's roles with `roles` (the whole new set, validated like a registration's). */
export type ChangeIdentityRoles = Command<'ChangeIdentityRoles', { roles: unknown }>;
/** Let a client certificate authenticate a workload (replaces the one bound before, if any). */
export type BindClientCertificate = Command<'BindClientCertificate', { fingerprint: unknown; subject: unknown }>;
/** Stop the workload's client certificate from authenticating it. */
export type UnbindClientCertificate = Command<'UnbindClientCertificate', Record<string, never>>;
export type IdentityCommand = RegisterIdentity | RotateCredential | SuspendIdentity | ReEnableIdentity | ChangeIdentityRoles | BindClientCertificate | UnbindClientCertificate;

export interface IdentityRecord {
  identityId: string;
  name: string;
  kind: IdentityKind;
  roles: Role[];
  credentialVerifier: string;
  /** Tokens issued before this time are refused (credential rotation, re-enable). */
  validFrom: string;
  createdAt: string;
  /** Who registered it: the requester (`system:bootstrap` for the first administrator). */
  createdBy: string;
  /** Who approved its registration (and so received its first credential), if anyone. */
  createdWithApprovalOf: string[];
  /** Who made its latest change (registration, credential, suspension, re-enable, roles). */
  lastChangedBy: string;
  /** Who approved its latest change, if anyone. */
  lastChangedWithApprovalOf: string[];
  /**
   * Who last changed its roles after registration, and who approved that: kept apart from the latest
   * change so a later unrelated change (its own credential rotation) does not untie it from whoever
   * gave it its powers. Absent while its roles are those it was registered with.
   */
  rolesChangedBy?: string;
  rolesChangedWithApprovalOf?: string[];
  /** The TLS client certificate that authenticates it over KMIP: SHA-256 of the DER (hex) and its subject. */
  clientCertificate?: { fingerprint: string; subject: string };
}

export type IdentityState =
  | { status: 'Unregistered' }
  | { status: 'Active'; identity: IdentityRecord }
  | { status: 'Suspended'; identity: IdentityRecord; suspendedAt: string };

export function identityStreamId(identityId: string): string {
  return `${IDENTITY_STREAM_PREFIX}${identityId}`;
}

const FINGERPRINT_PATTERN = /^[0-9a-f]{64}$/;
const NAME_PATTERN = /^[a-z0-9][a-z0-9._@-]{0,127}$/;

function meta(m: CommandMetadata): EventMetadata {
  return {
    actor: m.actor,
    correlationId: m.correlationId,
    occurredAt: m.now.toISOString(),
    ...(m.reason ? { reason: m.reason } : {}),
    ...(m.changeTicket ? { changeTicket: m.changeTicket } : {}),
    ...(m.approvers ? { approvers: m.approvers } : {}),
    ...(m.approvalId ? { approvalId: m.approvalId } : {}),
  };
}

/** Roles for an identity: people need at least one human role; workloads may hold service roles only. */
export function validateRoles(kind: IdentityKind, roles: unknown): Role[] {
  const list = Array.isArray(roles) ? roles : [];
  if (kind === 'WORKLOAD') {
    for (const r of list) {
      if (!(SERVICE_ROLES as readonly unknown[]).includes(r)) {
        throw invalidArgument('roles', `workloads hold no people's roles; their keys come from key policies (service roles: ${SERVICE_ROLES.join(', ')})`);
      }
    }
    return [...new Set(list as Role[])].sort();
  }
  if (list.length === 0) throw invalidArgument('roles', `a human identity needs at least one of ${HUMAN_ROLES.join(', ')}`);
  for (const r of list) if (!(HUMAN_ROLES as readonly unknown[]).includes(r)) throw invalidArgument('roles', `roles are ${HUMAN_ROLES.join(', ')}`);
  const unique = [...new Set(list as HumanRole[])].sort();
  // Separation of duties: whoever audits must not also operate or use keys.
  if (unique.includes('compliance-officer') && unique.length > 1) {
    throw invalidArgument('roles', 'compliance-officer cannot be combined with another role (separation of duties)');
  }
  return unique;
}

export function decideIdentity(command: IdentityCommand, state: IdentityState): IdentityEvent[] {
  const metadata = meta(command.metadata);
  switch (command.type) {
    case 'RegisterIdentity': {
      if (state.status !== 'Unregistered') throw new KmsError('IDENTITY_ALREADY_EXISTS', 'identity already exists', 'name');
      const d = command.data;
      if (!NAME_PATTERN.test(d.name)) throw invalidArgument('name', 'lower-case letters, digits, ".", "_", "@", "-", at most 128 characters');
      if (!(IDENTITY_KINDS as readonly string[]).includes(d.kind)) throw invalidArgument('kind', `must be one of ${IDENTITY_KINDS.join(', ')}`);
      return [
        {
          type: 'IdentityRegistered',
          data: { identityId: d.identityId, name: d.name, kind: d.kind, roles: validateRoles(d.kind, d.roles), credentialVerifier: d.credentialVerifier },
          metadata,
        },
      ];
    }
    case 'RotateCredential': {
      if (state.status === 'Unregistered') throw new KmsError('IDENTITY_NOT_FOUND', 'identity not found', 'identity_id');
      return [{ type: 'IdentityCredentialRotated', data: { identityId: state.identity.identityId, credentialVerifier: command.data.credentialVerifier }, metadata }];
    }
    case 'SuspendIdentity': {
      if (state.status === 'Unregistered') throw new KmsError('IDENTITY_NOT_FOUND', 'identity not found', 'identity_id');
      if (state.status === 'Suspended') return [];
      return [{ type: 'IdentitySuspended', data: { identityId: state.identity.identityId }, metadata }];
    }
    case 'ReEnableIdentity': {
      if (state.status === 'Unregistered') throw new KmsError('IDENTITY_NOT_FOUND', 'identity not found', 'identity_id');
      if (state.status === 'Active') return [];
      return [{ type: 'IdentityReEnabled', data: { identityId: state.identity.identityId }, metadata }];
    }
    case 'ChangeIdentityRoles': {
      if (state.status === 'Unregistered') throw new KmsError('IDENTITY_NOT_FOUND', 'identity not found', 'identity_id');
      // Checked here too, not only where the request is made: it is the requester who acts when an approval runs.
      if (command.metadata.actor === state.identity.identityId) {
        throw new KmsError('PERMISSION_DENIED', 'permission denied: nobody may change their own roles', 'identity_id');
      }
      const roles = validateRoles(state.identity.kind, command.data.roles);
      const previousRoles = state.identity.roles;
      if (sameRoles(roles, previousRoles)) return [];
      return [{ type: 'IdentityRolesChanged', data: { identityId: state.identity.identityId, roles, previousRoles }, metadata }];
    }
    case 'BindClientCertificate': {
      if (state.status === 'Unregistered') throw new KmsError('IDENTITY_NOT_FOUND', 'identity not found', 'identity_id');
      if (state.identity.kind !== 'WORKLOAD') throw invalidArgument('identity_id', 'only workloads authenticate with a client certificate; people sign in with their security key and authenticator app');
      const { fingerprint, subject } = command.data;
      if (typeof fingerprint !== 'string' || !FINGERPRINT_PATTERN.test(fingerprint)) throw invalidArgument('fingerprint', 'must be the SHA-256 of the certificate (64 lower-case hex digits)');
      if (typeof subject !== 'string' || subject.length === 0 || subject.length > 1024) throw invalidArgument('subject', 'must be the certificate subject, 1 to 1024 characters');
      if (state.identity.clientCertificate?.fingerprint === fingerprint) return [];
      return [{ type: 'IdentityCertificateBound', data: { identityId: state.identity.identityId, fingerprint, subject }, metadata }];
    }
    case 'UnbindClientCertificate': {
      if (state.status === 'Unregistered') throw new KmsError('IDENTITY_NOT_FOUND', 'identity not found', 'identity_id');
      const bound = state.identity.clientCertificate;
      if (!bound) return [];
      return [{ type: 'IdentityCertificateUnbound', data: { identityId: state.identity.identityId, fingerprint: bound.fingerprint }, metadata }];
    }
    default: {
      const never: never = command;
      throw new Error(`unhandled command ${JSON.stringify(never)}`);
    }
  }
}

/** Whether two validated (sorted, unique) role lists are the same set. */
export function sameRoles(a: readonly Role[], b: readonly Role[]): boolean {
  const x = [...a].sort();
  const y = [...b].sort();
  return x.length === y.length && x.every((r, i) => r === y[i]);
}

/** Who made an identity what it is: its registration, its latest change and its latest role change, with their approvers. */
export type IdentityProvenance = Pick<
  IdentityRecord,
  'createdBy' | 'createdWithApprovalOf' | 'lastChangedBy' | 'lastChangedWithApprovalOf' | 'rolesChangedBy' | 'rolesChangedWithApprovalOf'
> & {
  /** A person's: who asked for and approved the enrolment link their current factors came through. */
  factorsEnrolledThroughLinkOf?: string[];
};

function changedBy(identity: IdentityRecord, event: IdentityEvent): IdentityRecord {
  return { ...identity, lastChangedBy: event.metadata.actor, lastChangedWithApprovalOf: event.metadata.approvers ?? [] };
}

/**
 * Why `requester` must not approve with this identity, or undefined when it may: a person who created
 * or last changed an identity — or approved that and so received its credential — could be acting as it,
 * and a person who gave it its current roles made it the approver it is.
 */
export function approverTiedToRequester(approver: IdentityProvenance, requester: string): string | undefined {
  if (approver.createdBy === requester) return 'was created by the requester';
  if (approver.createdWithApprovalOf.includes(requester)) return "was created with the requester's approval (the requester received its credential)";
  if (approver.lastChangedBy === requester) return 'was last changed by the requester';
  if (approver.lastChangedWithApprovalOf.includes(requester)) return "was last changed with the requester's approval";
  if (approver.rolesChangedBy === requester) return 'had its roles last changed by the requester';
  if (approver.rolesChangedWithApprovalOf?.includes(requester)) return "had its roles last changed with the requester's approval";
  if (approver.factorsEnrolledThroughLinkOf?.includes(requester)) return 'holds factors enrolled through an enrolment link the requester asked for or approved (the requester could have enrolled their own)';
  return undefined;
}

export function evolveIdentity(state: IdentityState, event: IdentityEvent): IdentityState {
  switch (event.type) {
    case 'IdentityRegistered':
      return {
        status: 'Active',
        identity: {
          ...event.data,
          validFrom: event.metadata.occurredAt,
          createdAt: event.metadata.occurredAt,
          createdBy: event.metadata.actor,
          createdWithApprovalOf: event.metadata.approvers ?? [],
          lastChangedBy: event.metadata.actor,
          lastChangedWithApprovalOf: event.metadata.approvers ?? [],
        },
      };
    case 'IdentityCredentialRotated':
      if (state.status === 'Unregistered') return state;
      return { ...state, identity: { ...changedBy(state.identity, event), credentialVerifier: event.data.credentialVerifier, validFrom: event.metadata.occurredAt } };
    case 'IdentitySuspended':
      if (state.status === 'Unregistered') return state;
      return { status: 'Suspended', identity: changedBy(state.identity, event), suspendedAt: event.metadata.occurredAt };
    case 'IdentityReEnabled':
      if (state.status === 'Unregistered') return state;
      // Tokens issued before suspension stay dead.
      return { status: 'Active', identity: { ...changedBy(state.identity, event), validFrom: event.metadata.occurredAt } };
    case 'IdentityRolesChanged':
      if (state.status === 'Unregistered') return state;
      // Tokens stay valid: every call reads the roles from this state (IdentityService.authenticate), not from the token.
      return {
        ...state,
        identity: {
          ...changedBy(state.identity, event),
          roles: event.data.roles,
          rolesChangedBy: event.metadata.actor,
          rolesChangedWithApprovalOf: event.metadata.approvers ?? [],
        },
      };
    case 'IdentityCertificateBound':
      if (state.status === 'Unregistered') return state;
      return { ...state, identity: { ...changedBy(state.identity, event), clientCertificate: { fingerprint: event.data.fingerprint, subject: event.data.subject } } };
    case 'IdentityCertificateUnbound': {
      if (state.status === 'Unregistered') return state;
      const { clientCertificate: _removed, ...rest } = changedBy(state.identity, event);
      return { ...state, identity: rest };
    }
    default: {
      const never: never = event;
      throw new Error(`unhandled event ${JSON.stringify(never)}`);
    }
  }
}

/** The identity aggregate as a Decider. */
export const identityDecider: Decider<IdentityCommand, IdentityEvent, IdentityState> = {
  decide: decideIdentity,
  evolve: evolveIdentity,
  initialState: () => ({ status: 'Unregistered' }),
};
