import { randomUUID } from 'node:crypto';
import { BOOTSTRAP_ACTOR, BOOTSTRAP_EXCEPTION_STREAM_ID, type IdentityKind, type Principal, type Role } from '@kms/domain';
import { applicationFixture, type ApplicationFixture, keyInput, kmsErrorOf } from '../testing/application-fixture';
import { ApprovalService } from './approval.service';
import { DualAuthorization, type IdentityChange, type RequestedChange } from './dual-authorization.service';
import { IdentityService } from './identity.service';
import { InMemoryNotificationSink } from './notification-sink.port';
import type { OperationFacts } from '../crypto/crypto.service';

const SECRETS = { tokenSigningKey: Buffer.alloc(32, 1), credentialPepper: Buffer.alloc(32, 2) };

describe('DualAuthorization over people', () => {
  let app: ApplicationFixture;
  let identities: IdentityService;
  let approvals: ApprovalService;
  let dual: DualAuthorization;
  let admin: Principal;

  const principalOf = (identityId: string, name: string, kind: IdentityKind, roles: Role[]): Principal => ({ identityId, name, kind, roles, authMethods: ['hwk', 'otp'] });
  const ctx = (p: Principal) => ({ actor: p.identityId, correlationId: randomUUID(), changeTicket: 'CHG-77' });
  const person = (name: string, roles: Role[] = ['security-engineering']): RequestedChange & { operation: 'RegisterIdentity' } => ({
    operation: 'RegisterIdentity',
    identityId: randomUUID(),
    name,
    kind: 'HUMAN',
    roles,
  });

  /** The controller's flow: guard, then register when the guard lets it run now. */
  async function registerAs(p: Principal, change: RequestedChange & { operation: 'RegisterIdentity' }, facts: OperationFacts = {}): Promise<Principal> {
    await dual.guard(p, ctx(p), change, facts);
    const { identity } = await identities.register({ name: change.name, kind: change.kind, roles: change.roles }, ctx(p), change.identityId);
    return principalOf(identity.identityId, identity.name, identity.kind, identity.roles);
  }

  /** The approval id of an APPROVAL_REQUIRED refusal. */
  async function approvalAsked(p: Promise<unknown>): Promise<string> {
    const e = await kmsErrorOf(p);
    expect(e.code).toBe('APPROVAL_REQUIRED');
    return e.facts?.['approval-id'] as string;
  }

  beforeEach(async () => {
    app = applicationFixture();
    identities = new IdentityService(app.store, SECRETS, app.clock);
    approvals = new ApprovalService(app.store, app.clock, new InMemoryNotificationSink());
    dual = new DualAuthorization(approvals, app.lifecycle, identities);
    const { identity } = await identities.register(
      { name: 'bootstrap-admin', kind: 'HUMAN', roles: ['key-admin', 'security-engineering'] },
      { actor: BOOTSTRAP_ACTOR, correlationId: 'boot' },
    );
    admin = principalOf(identity.identityId, identity.name, 'HUMAN', identity.roles);
  });

  afterEach(() => app.store.close());

  it('given a fresh store, when the bootstrap administrator registers a person, then it runs alone once, recorded; the second person takes two', async () => {
    const facts: OperationFacts = {};
    const bob = await registerAs(admin, person('bob'), facts);
    expect(facts.details).toMatchObject({ bootstrapException: 'used' });
    expect((await identities.get(bob.identityId)).identity).toMatchObject({ createdBy: admin.identityId, createdWithApprovalOf: [] });
    const record = await app.store.readStream(BOOTSTRAP_EXCEPTION_STREAM_ID);
    expect(record.events.map((e) => [e.type, e.data])).toEqual([['BootstrapExceptionUsed', { administrator: admin.identityId, name: 'bob' }]]);

    const second = person('dave');
    await approvalAsked(registerAs(admin, second));
    expect(identities.list().map((s) => s.identity.name)).not.toContain('dave');
  });

  it('given the exception was used, when another instance (empty cache, same store) sees the bootstrap administrator register a person, then it takes two people', async () => {
    await registerAs(admin, person('bob'));
    const replica = new IdentityService(app.store, SECRETS, app.clock);
    const replicaDual = new DualAuthorization(new ApprovalService(app.store, app.clock, new InMemoryNotificationSink()), app.lifecycle, replica);
    expect(await replica.claimBootstrapException(admin.identityId, 'erin', ctx(admin))).toBe(false);
    await approvalAsked(replicaDual.guard(admin, ctx(admin), person('erin'), {}));
  });

  it('given a person registered by the bootstrap administrator, when that person registers a sock puppet, then it needs a second person, not themselves; the puppet cannot approve its creator', async () => {
    const bob = await registerAs(admin, person('bob'));
    const puppet = person('bob-puppet');
    const approvalId = await approvalAsked(registerAs(bob, puppet));
    expect(identities.list().map((s) => s.identity.name)).not.toContain('bob-puppet');
    expect((await approvals.get(approvalId)).approval).toMatchObject({ operation: 'RegisterHumanIdentity', targetId: puppet.identityId, requester: bob.identityId });

    expect(await kmsErrorOf(approvals.approve(approvalId, ctx(bob)))).toMatchObject({ code: 'SELF_APPROVAL' });

    // Someone else approves: the puppet exists, made by bob with the admin's approval, its credential handed to the admin.
    const done = await approvals.approve(approvalId, ctx(admin));
    expect(done.status).toBe('Executed');
    expect(done.output?.issuedCredential?.clientId).toBe(puppet.identityId);
    // People never exchange the handed-over secret for a token (IssueToken refuses them); their principal is the identity.
    await expect(identities.issueToken({ clientId: puppet.identityId, clientSecret: done.output?.issuedCredential?.clientSecret })).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    const c = principalOf(puppet.identityId, puppet.name, 'HUMAN', puppet.roles);
    expect((await identities.get(c.identityId)).identity).toMatchObject({ kind: 'HUMAN', roles: ['security-engineering'], createdBy: bob.identityId, createdWithApprovalOf: [admin.identityId] });

    // bob asks for a key policy change; the puppet bob made cannot be the second person.
    const key = await app.lifecycle.createKey(keyInput(), ctx(admin));
    const policyAsk = await approvalAsked(dual.guard(bob, ctx(bob), { operation: 'SetKeyPolicy', keyId: key.keyId, policy: { grants: { [c.identityId]: ['DECRYPT'] } } }, {}));
    const refused = await kmsErrorOf(approvals.approve(policyAsk, ctx(c)));
    expect(refused).toMatchObject({ code: 'SELF_APPROVAL', field: 'approval_id' });
    expect(refused.message).toMatch(/was created by the requester/);
    expect((await approvals.get(policyAsk)).status).toBe('Pending');
    expect((await app.catalog.get(key.keyId)).key.policy.grants).toEqual({});

    // Nor can the admin, who received the puppet's credential, use it to approve the admin's own requests.
    const adminAsk = await approvalAsked(dual.guard(admin, ctx(admin), { operation: 'SetKeyPolicy', keyId: key.keyId, policy: { grants: { [c.identityId]: ['DECRYPT'] } } }, {}));
    expect((await kmsErrorOf(approvals.approve(adminAsk, ctx(c)))).message).toMatch(/created with the requester's approval/);
  });

  it('given a key-provisioner workload, when it asks for an exportable key, then it takes a change ticket and a person\'s approval, and the approved key has the id asked for', async () => {
    const { identity } = await identities.register({ name: 'kmip-client', kind: 'WORKLOAD', roles: ['key-provisioner'] }, ctx(admin));
    const workload = principalOf(identity.identityId, identity.name, 'WORKLOAD', identity.roles);
    const keyId = randomUUID();
    const input = keyInput({ name: 'exportable-one', owner: workload.name, policy: { grants: { [workload.identityId]: ['ENCRYPT', 'DECRYPT', 'ADMINISTER'] } } });
    const noTicket = await kmsErrorOf(dual.guard(workload, { actor: workload.identityId, correlationId: 'c' }, { operation: 'CreateExportableKey', keyId, input }, {}));
    expect(noTicket).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'context.change_ticket' });
    // A creation that could not succeed now is refused before anyone is asked (the name is taken).
    await app.lifecycle.createKey(keyInput({ name: 'taken' }), ctx(admin));
    expect(await kmsErrorOf(dual.guard(workload, ctx(workload), { operation: 'CreateExportableKey', keyId, input: { ...input, name: 'taken' } }, {}))).toMatchObject({ code: 'KEY_ALREADY_EXISTS' });

    const facts: OperationFacts = {};
    const approvalId = await approvalAsked(dual.guard(workload, ctx(workload), { operation: 'CreateExportableKey', keyId, input }, facts));
    expect(facts.details).toMatchObject({ keyId, name: 'exportable-one', exportable: 'true', approvalId });
    await expect(app.catalog.get(keyId)).rejects.toMatchObject({ code: 'KEY_NOT_FOUND' });
    const done = await approvals.approve(approvalId, ctx(admin));
    expect(done.status).toBe('Executed');
    const key = (await app.catalog.get(keyId)).key;
    expect(key).toMatchObject({ name: 'exportable-one', exportable: true, owner: 'kmip-client' });
    expect([...(key.policy.grants[workload.identityId] ?? [])].sort()).toEqual(['ADMINISTER', 'DECRYPT', 'ENCRYPT']);
  });

  it('given a key, when a person renames it, then a second person approves it; a workload administering it renames it directly', async () => {
    const key = await app.lifecycle.createKey(keyInput({ name: 'before' }), ctx(admin));
    const bob = await registerAs(admin, person('bob'));
    const approvalId = await approvalAsked(dual.guard(bob, ctx(bob), { operation: 'RenameKey', keyId: key.keyId, name: 'after' }, {}));
    expect((await app.catalog.get(key.keyId)).key.name).toBe('before');
    expect((await approvals.approve(approvalId, ctx(admin))).status).toBe('Executed');
    expect((await app.catalog.get(key.keyId)).key.name).toBe('after');
    const workload = principalOf(randomUUID(), 'svc', 'WORKLOAD', []);
    await expect(dual.guard(workload, ctx(workload), { operation: 'RenameKey', keyId: key.keyId, name: 'again' }, {})).resolves.toBeUndefined();
  });

  it('given an invalid person, when asked for, then it is refused before any approval request exists', async () => {
    await registerAs(admin, person('bob'));
    const e = await kmsErrorOf(dual.guard(admin, ctx(admin), person('carol', ['compliance-officer', 'key-admin']), {}));
    expect(e).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'roles' });
    expect(await kmsErrorOf(dual.guard(admin, ctx(admin), person('bob'), {}))).toMatchObject({ code: 'IDENTITY_ALREADY_EXISTS', field: 'name' });
    expect(approvals.list()).toEqual([]);
  });

  it('given a person, when they register a workload, then it runs now and uses no exception', async () => {
    const facts: OperationFacts = {};
    await registerAs(admin, { operation: 'RegisterIdentity', identityId: randomUUID(), name: 'orders-app', kind: 'WORKLOAD', roles: [] }, facts);
    expect(facts.details).toBeUndefined();
    expect((await app.store.readStream(BOOTSTRAP_EXCEPTION_STREAM_ID)).events).toEqual([]);
  });

  describe("changing an identity's roles and re-enabling a person", () => {
    let alice: Principal;
    let bob: Principal;
    let carol: Principal;

    /** Someone registered by the test itself, so tied to none of the people below. */
    async function independent(name: string, roles: Role[], kind: IdentityKind = 'HUMAN'): Promise<Principal & { clientSecret: string }> {
      const { identity, clientSecret } = await identities.register({ name, kind, roles }, { actor: 'test-setup', correlationId: randomUUID() });
      return { ...principalOf(identity.identityId, name, kind, identity.roles), clientSecret };
    }
    const changeRoles = (target: Principal, roles: unknown): IdentityChange => ({ operation: 'ChangeIdentityRoles', identityId: target.identityId, roles });
    const ask = (p: Principal, change: IdentityChange, facts: OperationFacts = {}) => dual.requireSecondPersonForIdentityChange(p, ctx(p), change, facts);
    const rolesOf = async (p: Principal) => (await identities.get(p.identityId)).identity.roles;

    beforeEach(async () => {
      alice = await independent('alice', ['security-engineering']);
      bob = await independent('bob', ['security-engineering']);
      carol = await independent('carol', ['sre-oncall']);
    });

    it('given a person, when another changes their roles, then a second person must approve — not the requester, not the target — and the change records both', async () => {
      expect(await kmsErrorOf(dual.requireSecondPersonForIdentityChange(alice, { actor: alice.identityId, correlationId: 'c' }, changeRoles(carol, ['key-admin']), {}))).toMatchObject({
        code: 'INVALID_ARGUMENT',
        field: 'context.change_ticket',
      });
      const facts: OperationFacts = {};
      const approvalId = await approvalAsked(ask(alice, changeRoles(carol, ['key-admin']), facts));
      expect(facts.details).toEqual({ identityId: carol.identityId, roles: 'key-admin', previousRoles: 'sre-oncall', approvalId });
      expect((await approvals.get(approvalId)).approval).toMatchObject({ operation: 'ChangeIdentityRoles', targetId: carol.identityId, requester: alice.identityId, params: { roles: 'key-admin', previousRoles: 'sre-oncall' } });
      expect(await rolesOf(carol)).toEqual(['sre-oncall']);

      expect(await kmsErrorOf(approvals.approve(approvalId, ctx(alice)))).toMatchObject({ code: 'SELF_APPROVAL' });
      expect((await kmsErrorOf(approvals.approve(approvalId, ctx(carol)))).message).toMatch(/the approver is the identity this change is about/);
      expect(await rolesOf(carol)).toEqual(['sre-oncall']);

      const done = await approvals.approve(approvalId, ctx(bob));
      expect(done).toMatchObject({ status: 'Executed', approval: { approver: bob.identityId } });
      expect((await identities.get(carol.identityId)).identity).toMatchObject({
        roles: ['key-admin'],
        lastChangedBy: alice.identityId,
        lastChangedWithApprovalOf: [bob.identityId],
        rolesChangedBy: alice.identityId,
        rolesChangedWithApprovalOf: [bob.identityId],
      });
    });

    it('given a person holding a token, when they are demoted, then the same token authenticates with the new roles at once', async () => {
      const dave = await independent('dave', ['security-engineering', 'key-admin']);
      // The token the sign-in ceremony (PersonFactorsService.signIn) has the service issue once both factors are verified.
      const { token } = await identities.issueVerifiedPersonToken(dave.identityId, { webauthnCredentialId: 'dave-security-key' });
      expect((await identities.authenticate(token)).roles).toEqual(['key-admin', 'security-engineering']);
      await approvals.approve(await approvalAsked(ask(alice, changeRoles(dave, ['sre-oncall']))), ctx(bob));
      expect((await identities.authenticate(token)).roles).toEqual(['sre-oncall']);
    });

    it('given a person, when they ask to change their own roles, then PERMISSION_DENIED naming identity_id and nothing is asked of anyone', async () => {
      expect(await kmsErrorOf(ask(alice, changeRoles(alice, ['security-engineering', 'key-admin'])))).toMatchObject({ code: 'PERMISSION_DENIED', field: 'identity_id' });
      expect(approvals.list()).toEqual([]);
    });

    it('given invalid roles or an unknown identity, when asked for, then refused naming the field before any approval request; the roles already held answer the identity as it is', async () => {
      expect(await kmsErrorOf(ask(alice, changeRoles(carol, ['compliance-officer', 'sre-oncall'])))).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'roles' });
      expect(await kmsErrorOf(ask(alice, changeRoles(carol, [])))).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'roles' });
      expect(await kmsErrorOf(ask(alice, { operation: 'ChangeIdentityRoles', identityId: 'not-an-id', roles: ['sre-oncall'] }))).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'identity_id' });
      expect(await kmsErrorOf(ask(alice, { operation: 'ChangeIdentityRoles', identityId: randomUUID(), roles: ['sre-oncall'] }))).toMatchObject({ code: 'IDENTITY_NOT_FOUND', field: 'identity_id' });
      expect(await ask(alice, changeRoles(carol, ['sre-oncall', 'sre-oncall']))).toMatchObject({ status: 'Active', identity: { roles: ['sre-oncall'] } });
      expect(approvals.list()).toEqual([]);
    });

    it("given a workload, when a person gives it a service role, then it takes two people too (a service role acts on every key or suspends anyone)", async () => {
      const app1 = await independent('orders-app', [], 'WORKLOAD');
      const approvalId = await approvalAsked(ask(alice, changeRoles(app1, ['anomaly-detector'])));
      expect(await rolesOf(app1)).toEqual([]);
      await approvals.approve(approvalId, ctx(bob));
      expect(await rolesOf(app1)).toEqual(['anomaly-detector']);
    });

    it('given alice gave dave his roles, when dave later changes something of his own and approves alice\'s request, then SELF_APPROVAL: whoever gave an approver its powers stays tied to it', async () => {
      const dave = await independent('dave', ['sre-oncall']);
      await approvals.approve(await approvalAsked(ask(alice, changeRoles(dave, ['security-engineering']))), ctx(bob));
      await identities.rotateCredential(dave.identityId, ctx(dave));
      const askOfAlice = await approvalAsked(ask(alice, changeRoles(carol, ['key-admin'])));
      const refused = await kmsErrorOf(approvals.approve(askOfAlice, ctx(dave)));
      expect(refused).toMatchObject({ code: 'SELF_APPROVAL', field: 'approval_id' });
      expect(refused.message).toMatch(/had its roles last changed by the requester/);
      // bob approved dave's promotion: dave cannot be bob's second person either.
      const askOfBob = await approvalAsked(ask(bob, changeRoles(carol, ['sre-oncall', 'key-admin'])));
      expect((await kmsErrorOf(approvals.approve(askOfBob, ctx(dave)))).message).toMatch(/had its roles last changed with the requester's approval/);
      expect(await rolesOf(carol)).toEqual(['sre-oncall']);
    });

    it('given a pending request, when its requester is demoted before it is approved, then it does not run (PERMISSION_DENIED recorded)', async () => {
      const askOfAlice = await approvalAsked(ask(alice, changeRoles(carol, ['key-admin'])));
      await approvals.approve(await approvalAsked(ask(bob, changeRoles(alice, ['sre-oncall']))), ctx(await independent('erin', ['security-engineering'])));
      const done = await approvals.approve(askOfAlice, ctx(bob));
      expect(done).toMatchObject({ status: 'ExecutionFailed', approval: { errorCode: 'PERMISSION_DENIED' } });
      expect(await rolesOf(carol)).toEqual(['sre-oncall']);
    });

    it('given a suspended person, when another asks to re-enable them, then it takes a second person; nobody re-enables themselves', async () => {
      await identities.suspend(carol.identityId, ctx(alice));
      expect(await kmsErrorOf(ask(carol, { operation: 'ReEnableIdentity', identityId: carol.identityId }))).toMatchObject({ code: 'PERMISSION_DENIED', field: 'identity_id' });
      const approvalId = await approvalAsked(ask(alice, { operation: 'ReEnableIdentity', identityId: carol.identityId }));
      expect((await identities.get(carol.identityId)).status).toBe('Suspended');
      expect(await kmsErrorOf(approvals.approve(approvalId, ctx(alice)))).toMatchObject({ code: 'SELF_APPROVAL' });
      await approvals.approve(approvalId, ctx(bob));
      expect((await identities.get(carol.identityId)).identity).toMatchObject({ lastChangedBy: alice.identityId, lastChangedWithApprovalOf: [bob.identityId] });
      expect((await identities.get(carol.identityId)).status).toBe('Active');
      // Already active: answered as it is, nothing asked.
      expect(await ask(alice, { operation: 'ReEnableIdentity', identityId: carol.identityId })).toMatchObject({ status: 'Active' });
      expect(approvals.list('Pending')).toEqual([]);
    });
  });
});
