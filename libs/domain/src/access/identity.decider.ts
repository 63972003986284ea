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
export type IdentityEvent = IdentityRegistered | IdentityCredentialRotated | IdentitySuspended | IdentityReEnabled;

export type RegisterIdentity = Command<
  'RegisterIdentity',
  { identityId: string; name: string; kind: IdentityKind; roles: Role[]; credentialVerifier: string }
>;
export type RotateCredential = Command<'RotateCredential', { credentialVerifier: string }>;
export type SuspendIdentity = Command<'SuspendIdentity', Record<string, never>>;
export type ReEnableIdentity = Command<'ReEnableIdentity', Record<string, never>>;
export type IdentityCommand = RegisterIdentity | RotateCredential | SuspendIdentity | ReEnableIdentity;

export interface IdentityRecord {
  identityId: string;
  name: string;
  kind: IdentityKind;
  roles: Role[];
  credentialVerifier: string;
  /** Tokens issued before this time are refused (credential rotation, re-enable). */
  validFrom: string;
  createdAt: string;
}

export type IdentityState =
  | { status: 'Unregistered' }
  | { status: 'Active'; identity: IdentityRecord }
  | { status: 'Suspended'; identity: IdentityRecord; suspendedAt: string };

export function identityStreamId(identityId: string): string {
  return `identity-${identityId}`;
}

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
    default: {
      const never: never = command;
      throw new Error(`unhandled command ${JSON.stringify(never)}`);
    }
  }
}

export function evolveIdentity(state: IdentityState, event: IdentityEvent): IdentityState {
  switch (event.type) {
    case 'IdentityRegistered':
      return {
        status: 'Active',
        identity: { ...event.data, validFrom: event.metadata.occurredAt, createdAt: event.metadata.occurredAt },
      };
    case 'IdentityCredentialRotated':
      if (state.status === 'Unregistered') return state;
      return { ...state, identity: { ...state.identity, credentialVerifier: event.data.credentialVerifier, validFrom: event.metadata.occurredAt } };
    case 'IdentitySuspended':
      if (state.status === 'Unregistered') return state;
      return { status: 'Suspended', identity: state.identity, suspendedAt: event.metadata.occurredAt };
    case 'IdentityReEnabled':
      if (state.status === 'Unregistered') return state;
      // Tokens issued before suspension stay dead.
      return { status: 'Active', identity: { ...state.identity, validFrom: event.metadata.occurredAt } };
    default: {
      const never: never = event;
      throw new Error(`unhandled event ${JSON.stringify(never)}`);
    }
  }
}
