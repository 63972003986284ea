import { KmsError } from '../errors/kms-error';
import type { CommandMetadata } from '../key/key.commands';
import type { HumanRole, IdentityKind } from './access-types';
import {
  decideIdentity,
  evolveIdentity,
  type IdentityCommand,
  type IdentityEvent,
  type IdentityState,
  identityStreamId,
  type RegisterIdentity,
  validateRoles,
} from './identity.decider';

const ID = '11111111-2222-4333-8444-555555555555';
const t0 = new Date('2026-03-01T09:00:00.000Z');
const t1 = new Date('2026-03-01T09:05:00.000Z');
const t2 = new Date('2026-03-01T09:10:00.000Z');
const meta = (now = t0, over: Partial<CommandMetadata> = {}): CommandMetadata => ({ now, actor: 'admin-1', correlationId: 'req-1', ...over });

const register = (over: Partial<RegisterIdentity['data']> = {}, now = t0): IdentityCommand => ({
  type: 'RegisterIdentity',
  data: { identityId: ID, name: 'orders-service', kind: 'WORKLOAD', roles: [], credentialVerifier: 'v-1', ...over },
  metadata: meta(now),
});
const rotate = (verifier: string, now: Date): IdentityCommand => ({ type: 'RotateCredential', data: { credentialVerifier: verifier }, metadata: meta(now) });
const suspend = (now: Date): IdentityCommand => ({ type: 'SuspendIdentity', data: {}, metadata: meta(now) });
const reEnable = (now: Date, over: Partial<CommandMetadata> = {}): IdentityCommand => ({ type: 'ReEnableIdentity', data: {}, metadata: meta(now, over) });

/** given: the state after these commands were decided and their events folded. */
function given(...commands: IdentityCommand[]): IdentityState {
  let state: IdentityState = { status: 'Unregistered' };
  for (const c of commands) state = decideIdentity(c, state).reduce(evolveIdentity, state);
  return state;
}

/** when/then: the events a command produces, folded onto the state. */
function when(command: IdentityCommand, state: IdentityState): { events: IdentityEvent[]; state: IdentityState } {
  const events = decideIdentity(command, state);
  return { events, state: events.reduce(evolveIdentity, state) };
}

function refusal(f: () => unknown): { code: string; field?: string; message: string } {
  try {
    f();
  } catch (e) {
    if (e instanceof KmsError) return { code: e.code, ...(e.field ? { field: e.field } : {}), message: e.message };
    throw e;
  }
  throw new Error('expected a refusal, the command was accepted');
}

const unregistered: IdentityState = { status: 'Unregistered' };

describe('identity decider', () => {
  describe('registering', () => {
    it('given nothing, when a workload registers, then it is active with no roles and tokens valid from now', () => {
      const { events, state } = when(register(), unregistered);
      expect(events).toEqual([
        {
          type: 'IdentityRegistered',
          data: { identityId: ID, name: 'orders-service', kind: 'WORKLOAD', roles: [], credentialVerifier: 'v-1' },
          metadata: { actor: 'admin-1', correlationId: 'req-1', occurredAt: t0.toISOString() },
        },
      ]);
      expect(state).toEqual({
        status: 'Active',
        identity: { identityId: ID, name: 'orders-service', kind: 'WORKLOAD', roles: [], credentialVerifier: 'v-1', validFrom: t0.toISOString(), createdAt: t0.toISOString() },
      });
      expect(identityStreamId(ID)).toBe(`identity-${ID}`);
    });

    it('given nothing, when a person registers with repeated roles, then the roles are kept once each, sorted', () => {
      const { state } = when(register({ name: 'alice@example.org', kind: 'HUMAN', roles: ['sre-oncall', 'key-admin', 'sre-oncall'] }), unregistered);
      expect(state.status === 'Active' && state.identity.roles).toEqual(['key-admin', 'sre-oncall']);
    });

    it.each([
      ['an empty name', ''],
      ['upper-case letters', 'Orders'],
      ['a space', 'orders service'],
      ['a leading dash', '-orders'],
      ['a slash', 'orders/prod'],
      ['129 characters', 'a'.repeat(129)],
    ])('refuses a name with %s, naming the field', (_what, name) => {
      expect(refusal(() => decideIdentity(register({ name }), unregistered))).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'name' });
    });

    it('accepts a name of 128 characters and one with . _ @ -', () => {
      expect(when(register({ name: 'a'.repeat(128) }), unregistered).state.status).toBe('Active');
      expect(when(register({ name: 'svc.orders_v2@prod-eu' }), unregistered).state.status).toBe('Active');
    });

    it('refuses an unknown kind, naming the field', () => {
      const r = refusal(() => decideIdentity(register({ kind: 'ROBOT' as IdentityKind }), unregistered));
      expect(r).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'kind' });
      expect(r.message).toContain('WORKLOAD, HUMAN');
    });

    it('refuses roles on a workload: workloads get keys through key policies', () => {
      const r = refusal(() => decideIdentity(register({ kind: 'WORKLOAD', roles: ['key-admin'] }), unregistered));
      expect(r).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'roles' });
      expect(r.message).toMatch(/key policies/);
    });

    it('refuses a person without a role', () => {
      const r = refusal(() => decideIdentity(register({ name: 'bob', kind: 'HUMAN', roles: [] }), unregistered));
      expect(r).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'roles' });
      expect(r.message).toContain('sre-oncall, security-engineering, compliance-officer, key-admin');
    });

    it('refuses a person with an unknown role, even next to a known one', () => {
      for (const roles of [['root'], ['key-admin', 'superuser'], ['KEY-ADMIN']]) {
        expect(refusal(() => decideIdentity(register({ name: 'bob', kind: 'HUMAN', roles: roles as HumanRole[] }), unregistered))).toMatchObject({
          code: 'INVALID_ARGUMENT',
          field: 'roles',
        });
      }
    });

    it('given a registered identity, when it registers again, then IDENTITY_ALREADY_EXISTS', () => {
      expect(refusal(() => decideIdentity(register(), given(register())))).toMatchObject({ code: 'IDENTITY_ALREADY_EXISTS' });
    });

    it('validateRoles: workloads none, people at least one known role', () => {
      expect(validateRoles('WORKLOAD', undefined)).toEqual([]);
      expect(validateRoles('WORKLOAD', [])).toEqual([]);
      expect(validateRoles('HUMAN', ['sre-oncall', 'key-admin', 'sre-oncall'])).toEqual(['key-admin', 'sre-oncall']);
      expect(validateRoles('HUMAN', ['compliance-officer'])).toEqual(['compliance-officer']);
      // Separation of duties: the auditor holds no operating role.
      expect(refusal(() => validateRoles('HUMAN', ['security-engineering', 'compliance-officer']))).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'roles' });
      expect(refusal(() => validateRoles('HUMAN', 'key-admin'))).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'roles' });
      expect(refusal(() => validateRoles('WORKLOAD', ['sre-oncall']))).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'roles' });
    });
  });

  describe('suspending and re-enabling', () => {
    it('given an active identity, when it is suspended, then it is suspended from now', () => {
      const { events, state } = when(suspend(t1), given(register()));
      expect(events.map((e) => e.type)).toEqual(['IdentitySuspended']);
      expect(state).toMatchObject({ status: 'Suspended', suspendedAt: t1.toISOString() });
    });

    it('given a suspended identity, when it is suspended again, then nothing happens (idempotent)', () => {
      const suspended = given(register(), suspend(t1));
      const { events, state } = when(suspend(t2), suspended);
      expect(events).toEqual([]);
      expect(state).toBe(suspended);
    });

    it('given a suspended identity, when it is re-enabled, then it is active and tokens from before are dead', () => {
      const { events, state } = when(reEnable(t2, { approvers: ['admin-2'], approvalId: 'ap-1', changeTicket: 'CHG-9' }), given(register(), suspend(t1)));
      expect(events).toEqual([
        {
          type: 'IdentityReEnabled',
          data: { identityId: ID },
          metadata: { actor: 'admin-1', correlationId: 'req-1', occurredAt: t2.toISOString(), changeTicket: 'CHG-9', approvers: ['admin-2'], approvalId: 'ap-1' },
        },
      ]);
      expect(state).toMatchObject({ status: 'Active', identity: { validFrom: t2.toISOString(), createdAt: t0.toISOString() } });
    });

    it('given an active identity, when it is re-enabled, then nothing happens (idempotent)', () => {
      const active = given(register());
      expect(when(reEnable(t1), active)).toEqual({ events: [], state: active });
    });

    it('given nothing, suspending, re-enabling or rotating is IDENTITY_NOT_FOUND', () => {
      for (const c of [suspend(t1), reEnable(t1), rotate('v-2', t1)]) {
        expect(refusal(() => decideIdentity(c, unregistered))).toMatchObject({ code: 'IDENTITY_NOT_FOUND', field: 'identity_id' });
      }
    });
  });

  describe('rotating the credential', () => {
    it('given an active identity, when its credential rotates, then the verifier changes and tokens are valid only from now', () => {
      const { events, state } = when(rotate('v-2', t1), given(register()));
      expect(events).toEqual([
        { type: 'IdentityCredentialRotated', data: { identityId: ID, credentialVerifier: 'v-2' }, metadata: { actor: 'admin-1', correlationId: 'req-1', occurredAt: t1.toISOString() } },
      ]);
      expect(state).toMatchObject({ status: 'Active', identity: { credentialVerifier: 'v-2', validFrom: t1.toISOString(), createdAt: t0.toISOString() } });
    });

    it('given a suspended identity, when its credential rotates, then it stays suspended with the new verifier', () => {
      const { state } = when(rotate('v-3', t2), given(register(), suspend(t1)));
      expect(state).toMatchObject({ status: 'Suspended', suspendedAt: t1.toISOString(), identity: { credentialVerifier: 'v-3', validFrom: t2.toISOString() } });
    });
  });

  it('evolve ignores identity events for an identity it never saw registered', () => {
    const stray: IdentityEvent = { type: 'IdentitySuspended', data: { identityId: ID }, metadata: { actor: 'x', correlationId: 'c', occurredAt: t1.toISOString() } };
    expect(evolveIdentity(unregistered, stray)).toBe(unregistered);
  });
});
