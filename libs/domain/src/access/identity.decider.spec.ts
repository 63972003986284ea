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
  approverTiedToRequester,
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
        identity: {
          identityId: ID,
          name: 'orders-service',
          kind: 'WORKLOAD',
          roles: [],
          credentialVerifier: 'v-1',
          validFrom: t0.toISOString(),
          createdAt: t0.toISOString(),
          createdBy: 'admin-1',
          createdWithApprovalOf: [],
          lastChangedBy: 'admin-1',
          lastChangedWithApprovalOf: [],
        },
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

  describe('who made it (for the approver rule)', () => {
    const person = (over: Partial<CommandMetadata>, now = t0): IdentityCommand => ({
      type: 'RegisterIdentity',
      data: { identityId: ID, name: 'carol', kind: 'HUMAN', roles: ['security-engineering'], credentialVerifier: 'v-1' },
      metadata: meta(now, over),
    });

    it('given a person registered by bob with alice approving, then bob created it, alice approved it, and the requester rule ties it to both', () => {
      const state = given(person({ actor: 'bob', approvers: ['alice'], approvalId: 'ap-1', changeTicket: 'CHG-1' }));
      expect(state).toMatchObject({ status: 'Active', identity: { createdBy: 'bob', createdWithApprovalOf: ['alice'], lastChangedBy: 'bob', lastChangedWithApprovalOf: ['alice'] } });
      if (state.status === 'Unregistered') throw new Error('not registered');
      expect(approverTiedToRequester(state.identity, 'bob')).toBe('was created by the requester');
      expect(approverTiedToRequester(state.identity, 'alice')).toMatch(/created with the requester's approval/);
      expect(approverTiedToRequester(state.identity, 'dave')).toBeUndefined();
      // Factors enrolled through a link dave asked for (or approved) tie the person to dave too.
      expect(approverTiedToRequester({ ...state.identity, factorsEnrolledThroughLinkOf: ['dave', 'erin'] }, 'dave')).toMatch(/factors enrolled through an enrolment link the requester asked for or approved/);
      expect(approverTiedToRequester({ ...state.identity, factorsEnrolledThroughLinkOf: ['dave', 'erin'] }, 'erin')).toMatch(/enrolment link/);
      expect(approverTiedToRequester({ ...state.identity, factorsEnrolledThroughLinkOf: ['dave', 'erin'] }, 'frank')).toBeUndefined();
    });

    it('given a registered person, when someone else changes it, then the change is recorded as the last one and the creator stays tied', () => {
      const rotatedByDave: IdentityCommand = { type: 'RotateCredential', data: { credentialVerifier: 'v-2' }, metadata: meta(t1, { actor: 'dave', approvers: ['erin'] }) };
      const state = given(person({ actor: 'bob', approvers: ['alice'] }), rotatedByDave);
      expect(state).toMatchObject({ identity: { createdBy: 'bob', createdWithApprovalOf: ['alice'], lastChangedBy: 'dave', lastChangedWithApprovalOf: ['erin'] } });
      if (state.status === 'Unregistered') throw new Error('not registered');
      expect(approverTiedToRequester(state.identity, 'dave')).toBe('was last changed by the requester');
      expect(approverTiedToRequester(state.identity, 'erin')).toMatch(/last changed with the requester's approval/);
      expect(approverTiedToRequester(state.identity, 'bob')).toBe('was created by the requester');
      expect(approverTiedToRequester(state.identity, 'frank')).toBeUndefined();
    });

    it('given a suspended person, when re-enabled by a requester with an approver, then both are the last change', () => {
      const state = given(person({ actor: 'bob' }), { type: 'SuspendIdentity', data: {}, metadata: meta(t1, { actor: 'detector' }) }, reEnable(t2, { actor: 'dave', approvers: ['erin'] }));
      expect(state).toMatchObject({ status: 'Active', identity: { createdBy: 'bob', lastChangedBy: 'dave', lastChangedWithApprovalOf: ['erin'] } });
    });
  });

  describe('binding a client certificate (KMIP mutual TLS)', () => {
    const fingerprint = 'ab'.repeat(32);
    const bind = (fp: unknown, subject: unknown = 'CN=mongodb-1, O=kms', now = t1): IdentityCommand => ({ type: 'BindClientCertificate', data: { fingerprint: fp, subject }, metadata: meta(now) });

    it('given a workload, when a certificate is bound, then the identity records its fingerprint and subject and who bound it', () => {
      const { events, state } = when(bind(fingerprint), given(register()));
      expect(events.map((e) => e.type)).toEqual(['IdentityCertificateBound']);
      expect(state).toMatchObject({ status: 'Active', identity: { clientCertificate: { fingerprint, subject: 'CN=mongodb-1, O=kms' }, lastChangedBy: 'admin-1' } });
    });

    it('given the same certificate bound, when it is bound again, then nothing happens', () => {
      expect(when(bind(fingerprint), given(register(), bind(fingerprint))).events).toEqual([]);
    });

    it('refuses a fingerprint that is not a SHA-256, an empty subject, a person and an unknown identity, naming the field', () => {
      expect(refusal(() => decideIdentity(bind('AB:CD'), given(register())))).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'fingerprint' });
      expect(refusal(() => decideIdentity(bind(fingerprint, ''), given(register())))).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'subject' });
      expect(refusal(() => decideIdentity(bind(fingerprint), given(register({ kind: 'HUMAN', roles: ['sre-oncall'] }))))).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'identity_id' });
      expect(refusal(() => decideIdentity(bind(fingerprint), unregistered))).toMatchObject({ code: 'IDENTITY_NOT_FOUND' });
    });

    it('given a bound certificate, when another is bound, then it replaces the first', () => {
      const other = 'cd'.repeat(32);
      const { events, state } = when(bind(other, 'CN=mongodb-2, O=kms'), given(register(), bind(fingerprint)));
      expect(events.map((e) => e.type)).toEqual(['IdentityCertificateBound']);
      expect(state).toMatchObject({ identity: { clientCertificate: { fingerprint: other, subject: 'CN=mongodb-2, O=kms' } } });
    });

    it('given a bound certificate, when it is unbound, then the identity has none and the event names the one removed; unbinding again changes nothing', () => {
      const unbind: IdentityCommand = { type: 'UnbindClientCertificate', data: {}, metadata: meta(t1) };
      const { events, state } = when(unbind, given(register(), bind(fingerprint)));
      expect(events).toEqual([expect.objectContaining({ type: 'IdentityCertificateUnbound', data: { identityId: expect.any(String), fingerprint } })]);
      expect(state.status === 'Active' && state.identity.clientCertificate).toBe(undefined);
      expect(when(unbind, given(register())).events).toEqual([]);
    });
  });

  describe('changing roles', () => {
    const PERSON = '22222222-3333-4444-8555-666666666666';
    const registerPerson = (roles: HumanRole[] = ['sre-oncall']): IdentityCommand => ({
      type: 'RegisterIdentity',
      data: { identityId: PERSON, name: 'carol', kind: 'HUMAN', roles, credentialVerifier: 'v-1' },
      metadata: meta(t0, { actor: 'bob', approvers: ['alice'] }),
    });
    const changeRoles = (roles: unknown, over: Partial<CommandMetadata> = {}, now = t1): IdentityCommand => ({ type: 'ChangeIdentityRoles', data: { roles }, metadata: meta(now, over) });

    it('given a person, when dave changes their roles with erin approving, then the roles are replaced, the previous ones recorded, and dave and erin are tied to it', () => {
      const before = given(registerPerson());
      const { events, state } = when(changeRoles(['security-engineering', 'key-admin'], { actor: 'dave', approvers: ['erin'], approvalId: 'ap-9', changeTicket: 'CHG-9' }), before);
      expect(events).toEqual([
        {
          type: 'IdentityRolesChanged',
          data: { identityId: PERSON, roles: ['key-admin', 'security-engineering'], previousRoles: ['sre-oncall'] },
          metadata: { actor: 'dave', correlationId: 'req-1', occurredAt: t1.toISOString(), approvers: ['erin'], approvalId: 'ap-9', changeTicket: 'CHG-9' },
        },
      ]);
      expect(state).toMatchObject({
        status: 'Active',
        identity: { roles: ['key-admin', 'security-engineering'], lastChangedBy: 'dave', lastChangedWithApprovalOf: ['erin'], rolesChangedBy: 'dave', rolesChangedWithApprovalOf: ['erin'] },
      });
      if (state.status === 'Unregistered' || before.status === 'Unregistered') throw new Error('not registered');
      // Existing tokens stay valid: the roles are read from this state on every call.
      expect(state.identity.validFrom).toBe(before.identity.validFrom);
      expect(approverTiedToRequester(state.identity, 'dave')).toBe('was last changed by the requester');
      expect(approverTiedToRequester(state.identity, 'erin')).toMatch(/last changed with the requester's approval/);
    });

    it('given a person whose roles dave changed, when the person later rotates their own credential, then dave stays tied as whoever gave them their roles', () => {
      const ownRotation: IdentityCommand = { type: 'RotateCredential', data: { credentialVerifier: 'v-2' }, metadata: meta(t2, { actor: PERSON }) };
      const state = given(registerPerson(), changeRoles(['key-admin'], { actor: 'dave', approvers: ['erin'] }), ownRotation);
      if (state.status === 'Unregistered') throw new Error('not registered');
      expect(state.identity).toMatchObject({ lastChangedBy: PERSON, rolesChangedBy: 'dave' });
      expect(approverTiedToRequester(state.identity, 'dave')).toBe('had its roles last changed by the requester');
      expect(approverTiedToRequester(state.identity, 'erin')).toMatch(/had its roles last changed with the requester's approval/);
      expect(approverTiedToRequester(state.identity, 'frank')).toBeUndefined();
    });

    it('given a person, when they change their own roles, then PERMISSION_DENIED naming identity_id and nothing changes', () => {
      const r = refusal(() => decideIdentity(changeRoles(['security-engineering'], { actor: PERSON }), given(registerPerson())));
      expect(r).toMatchObject({ code: 'PERMISSION_DENIED', field: 'identity_id' });
      expect(r.message).toMatch(/their own roles/);
    });

    it.each([
      ['no role at all', [], /at least one/],
      ['an unknown role', ['sre-oncall', 'root'], /roles are/],
      ['a service role', ['anomaly-detector'], /roles are/],
      ['the compliance officer with another role', ['compliance-officer', 'key-admin'], /separation of duties/],
      ['not a list', 'key-admin', /at least one/],
    ])('given a person, when asked to hold %s, then INVALID_ARGUMENT naming roles', (_what, roles, why) => {
      const r = refusal(() => decideIdentity(changeRoles(roles, { actor: 'dave' }), given(registerPerson())));
      expect(r).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'roles' });
      expect(r.message).toMatch(why);
    });

    it('given a workload, when given a service role, then it holds it; when given a person\'s role, then INVALID_ARGUMENT naming roles', () => {
      const workload = given(register());
      expect(when(changeRoles(['anomaly-detector'], { actor: 'dave' }), workload).state).toMatchObject({ identity: { roles: ['anomaly-detector'], rolesChangedBy: 'dave' } });
      expect(when(changeRoles([], { actor: 'dave' }), given(register({ roles: ['rotation-scheduler'] }))).state).toMatchObject({ identity: { roles: [] } });
      expect(refusal(() => decideIdentity(changeRoles(['key-admin'], { actor: 'dave' }), workload))).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'roles' });
    });

    it('given a person, when asked for the roles they already hold (in any order, repeated), then nothing happens', () => {
      const state = given(registerPerson(['sre-oncall', 'key-admin']));
      expect(decideIdentity(changeRoles(['sre-oncall', 'key-admin', 'sre-oncall'], { actor: 'dave' }), state)).toEqual([]);
    });

    it('given a suspended person, when their roles are withdrawn, then they stay suspended with the new roles', () => {
      const suspended = given(registerPerson(['security-engineering']), suspend(t1));
      expect(when(changeRoles(['sre-oncall'], { actor: 'dave' }, t2), suspended).state).toMatchObject({ status: 'Suspended', identity: { roles: ['sre-oncall'] } });
    });

    it('given nothing, when roles are changed, then IDENTITY_NOT_FOUND', () => {
      expect(refusal(() => decideIdentity(changeRoles(['sre-oncall'], { actor: 'dave' }), unregistered))).toMatchObject({ code: 'IDENTITY_NOT_FOUND', field: 'identity_id' });
    });
  });

  it('evolve ignores identity events for an identity it never saw registered', () => {
    const stray: IdentityEvent = { type: 'IdentitySuspended', data: { identityId: ID }, metadata: { actor: 'x', correlationId: 'c', occurredAt: t1.toISOString() } };
    expect(evolveIdentity(unregistered, stray)).toBe(unregistered);
  });
});
