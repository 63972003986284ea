import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { type Actor, type KeyServiceUnderTest, startKeyServiceUnderTest } from './key-service.e2e-harness';
import { auditRows, createTrailerClient, enrolmentLinkVia, refused, streamEvents, type TrailerClient } from './access-control.e2e-helpers';

type Credential = { client_id: string; client_secret: string };
type Approval = { approval_id: string; status: string; requester: string; approver: string; operation: string; target_id: string };

const rid = (label: string) => `${label}-${randomUUID()}`;
const TICKET = { change_ticket: 'CHG-ROLES' };


/**
 * Issue 13, dual control over people, continued: changing an identity's roles (ChangeIdentityRoles)
 * and re-enabling a person take two people under registration's approver rule — and the sock puppet
 * attack carried over to roles (ann promotes dan; dan may not approve ann's requests).
 */
describe("changing a person's roles and re-enabling a person (end to end, issue 13)", () => {
  let kms: KeyServiceUnderTest;
  let trailers: TrailerClient;
  let orders: Actor;
  /** A person ann asked for and ben approved: created by ann. */
  let annsPuppet: Actor;
  let ann: Actor;
  let ben: Actor;
  let cat: Actor;
  let dan: Actor;

  const names = async () => (await kms.admin.call<{ identities: Array<{ name: string }> }>('ListIdentities', {})).identities.map((i) => i.name);

  /** A refusal answered over gRPC with its code and KMS error code, and its audit rows. */
  const refusedAs = async (who: Actor, method: 'ApproveRequest' | 'ChangeIdentityRoles' | 'ReEnableIdentity' | 'RegisterIdentity', request: Record<string, unknown>) => {
    const requestId = rid(`refused-${method}`);
    const e = await refused(who.call(method, request, requestId));
    return { code: status[e.code], errorCode: e.errorCode, field: e.field, message: e.message, audit: await auditRows(kms.db, requestId) };
  };
  const roleChange = async (asker: Actor, target: Actor, roles: string[]) => {
    const requestId = rid('ask-roles');
    const asked = await trailers.refusal('ChangeIdentityRoles', { identity_id: target.identityId, roles, context: TICKET }, { token: await asker.token(), requestId });
    expect({ code: status[asked.code], errorCode: asked.trailers['kms-error-code'] }).toEqual({ code: 'FAILED_PRECONDITION', errorCode: 'APPROVAL_REQUIRED' });
    return { approvalId: asked.trailers['kms-approval-id'], requestId };
  };
  const rolesOf = async (who: Actor) => (await kms.admin.call<{ roles: string[] }>('GetIdentity', { identity_id: who.identityId })).roles;

  beforeAll(async () => {
    kms = await startKeyServiceUnderTest('e2e_people_roles');
    trailers = createTrailerClient(kms.service.grpcAddress);
    orders = await kms.register('orders-app', 'WORKLOAD');
    // Registered by the harness's registrars: tied to none of each other, nor to the administrator.
    ann = await kms.register('ann.seceng', 'HUMAN', ['security-engineering']);
    ben = await kms.register('ben.seceng', 'HUMAN', ['security-engineering']);
    cat = await kms.register('cat.seceng', 'HUMAN', ['security-engineering']);
    dan = await kms.register('dan.oncall', 'HUMAN', ['sre-oncall']);
    const asked = await trailers.refusal('RegisterIdentity', { name: 'ann.puppet', kind: 'HUMAN', roles: ['security-engineering'], context: TICKET }, { token: await ann.token() });
    const made = await ben.call<Approval & { issued_credential: Credential }>('ApproveRequest', { approval_id: asked.trailers['kms-approval-id'], context: TICKET });
    annsPuppet = kms.actor(made.issued_credential.client_id, 'ann.puppet', made.issued_credential.client_secret, true);
    // Its factors come through a link ann asks for and ben approves (and receives).
    kms.people.adopt(await kms.people.ceremonies.enrol(annsPuppet.identityId, await enrolmentLinkVia(ann, ben, annsPuppet.identityId, TICKET)));
  });
  afterAll(async () => {
    trailers?.close();
    await kms?.stop();
  });

  it('a role change takes a second person: neither the requester nor the target may approve (audited DENIED); the approval is audited with its approver and the demotion applies to the token already held', async () => {
    const catsToken = await cat.token();
    await kms.client.call('RegisterIdentity', { name: 'cat-workload-1', kind: 'WORKLOAD' }, { token: catsToken });

    const noTicket = await refusedAs(ann, 'ChangeIdentityRoles', { identity_id: cat.identityId, roles: ['sre-oncall'] });
    expect(noTicket).toMatchObject({ code: 'INVALID_ARGUMENT', errorCode: 'INVALID_ARGUMENT', field: 'context.change_ticket' });
    const badRoles = await refusedAs(ann, 'ChangeIdentityRoles', { identity_id: cat.identityId, roles: ['compliance-officer', 'sre-oncall'], context: TICKET });
    expect(badRoles).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'roles' });
    expect(badRoles.audit).toEqual([expect.objectContaining({ operation: 'ChangeIdentityRoles', outcome: 'FAILURE', error_code: 'INVALID_ARGUMENT', actor: ann.identityId })]);

    const { approvalId, requestId } = await roleChange(ann, cat, ['sre-oncall']);
    expect(await auditRows(kms.db, requestId)).toEqual([
      expect.objectContaining({
        operation: 'ChangeIdentityRoles',
        outcome: 'FAILURE',
        error_code: 'APPROVAL_REQUIRED',
        actor: ann.identityId,
        details: expect.objectContaining({ identityId: cat.identityId, roles: 'sre-oncall', previousRoles: 'security-engineering', approvalId }),
      }),
    ]);
    expect(await rolesOf(cat)).toEqual(['security-engineering']);

    const self = await refusedAs(ann, 'ApproveRequest', { approval_id: approvalId, context: TICKET });
    expect(self).toMatchObject({ code: 'PERMISSION_DENIED', errorCode: 'SELF_APPROVAL', audit: [expect.objectContaining({ outcome: 'DENIED', error_code: 'SELF_APPROVAL', actor: ann.identityId })] });
    const target = await refusedAs(cat, 'ApproveRequest', { approval_id: approvalId, context: TICKET });
    expect(target).toMatchObject({ code: 'PERMISSION_DENIED', errorCode: 'SELF_APPROVAL', audit: [expect.objectContaining({ outcome: 'DENIED', error_code: 'SELF_APPROVAL', actor: cat.identityId })] });
    expect(target.message).toMatch(/the approver is the identity this change is about/);
    // Changing roles is security engineering's: an on-call engineer may not be the second person.
    const wrongRole = await refusedAs(dan, 'ApproveRequest', { approval_id: approvalId, context: TICKET });
    expect(wrongRole).toMatchObject({ code: 'PERMISSION_DENIED', errorCode: 'PERMISSION_DENIED', audit: [expect.objectContaining({ outcome: 'DENIED', actor: dan.identityId })] });
    expect(await rolesOf(cat)).toEqual(['security-engineering']);

    const approveId = rid('approve-roles');
    const done = await ben.call<Approval>('ApproveRequest', { approval_id: approvalId, context: TICKET }, approveId);
    expect(done).toMatchObject({ status: 'EXECUTED', operation: 'ChangeIdentityRoles', requester: ann.identityId, approver: ben.identityId, target_id: cat.identityId });
    expect(await auditRows(kms.db, approveId)).toEqual([
      expect.objectContaining({ operation: 'ApproveRequest', outcome: 'SUCCESS', actor: ben.identityId, details: expect.objectContaining({ approvalId, operation: 'ChangeIdentityRoles', status: 'Executed', targetId: cat.identityId }) }),
    ]);
    expect(await rolesOf(cat)).toEqual(['sre-oncall']);
    const events = await streamEvents(kms.db, `identity-${cat.identityId}`);
    expect(events.at(-1)).toMatchObject({
      type: 'IdentityRolesChanged',
      data: { identityId: cat.identityId, roles: ['sre-oncall'], previousRoles: ['security-engineering'] },
      metadata: { actor: ann.identityId, approvers: [ben.identityId], approvalId, changeTicket: TICKET.change_ticket },
    });

    // The token cat held before is still valid, and carries the new roles from its next call on.
    const demotedId = rid('demoted-call');
    const e = await refused(kms.client.call('RegisterIdentity', { name: 'cat-workload-2', kind: 'WORKLOAD' }, { token: catsToken, requestId: demotedId }));
    expect({ code: status[e.code], errorCode: e.errorCode }).toEqual({ code: 'PERMISSION_DENIED', errorCode: 'PERMISSION_DENIED' });
    expect(await auditRows(kms.db, demotedId)).toEqual([expect.objectContaining({ operation: 'RegisterIdentity', outcome: 'DENIED', error_code: 'PERMISSION_DENIED', actor: cat.identityId })]);
    expect(await names()).not.toContain('cat-workload-2');
  });

  it('nobody changes their own roles (audited DENIED), and a workload given a service role takes two people too', async () => {
    const own = await refusedAs(ann, 'ChangeIdentityRoles', { identity_id: ann.identityId, roles: ['security-engineering', 'key-admin'], context: TICKET });
    expect(own).toMatchObject({ code: 'PERMISSION_DENIED', errorCode: 'PERMISSION_DENIED', field: 'identity_id' });
    expect(own.audit).toEqual([expect.objectContaining({ operation: 'ChangeIdentityRoles', outcome: 'DENIED', error_code: 'PERMISSION_DENIED', actor: ann.identityId })]);
    expect(await rolesOf(ann)).toEqual(['security-engineering']);

    const { approvalId } = await roleChange(ann, orders, ['anomaly-detector']);
    expect(await rolesOf(orders)).toEqual([]);
    expect((await ben.call<Approval>('ApproveRequest', { approval_id: approvalId, context: TICKET })).status).toBe('EXECUTED');
    expect(await rolesOf(orders)).toEqual(['anomaly-detector']);
  });

  it("the sock puppet over roles: a person whose roles ann changed cannot approve ann's requests, even after changing something of their own; nor can a person the requester created", async () => {
    const promotion = await roleChange(ann, dan, ['security-engineering']);
    expect((await ben.call<Approval>('ApproveRequest', { approval_id: promotion.approvalId, context: TICKET })).status).toBe('EXECUTED');

    const askOfAnn = await roleChange(ann, cat, ['security-engineering']);
    const byDan = await refusedAs(dan, 'ApproveRequest', { approval_id: askOfAnn.approvalId, context: TICKET });
    expect(byDan).toMatchObject({ code: 'PERMISSION_DENIED', errorCode: 'SELF_APPROVAL', audit: [expect.objectContaining({ outcome: 'DENIED', error_code: 'SELF_APPROVAL', actor: dan.identityId })] });
    expect(byDan.message).toMatch(/was last changed by the requester/);

    // dan rotates his own credential (one person may): he is still the one ann gave his roles to.
    const rotated = await dan.call<Credential>('RotateCredential', { identity_id: dan.identityId, context: TICKET });
    dan = kms.actor(dan.identityId, dan.name, rotated.client_secret, true);
    const again = await refusedAs(dan, 'ApproveRequest', { approval_id: askOfAnn.approvalId, context: TICKET });
    expect(again).toMatchObject({ errorCode: 'SELF_APPROVAL', audit: [expect.objectContaining({ outcome: 'DENIED', actor: dan.identityId })] });
    expect(again.message).toMatch(/had its roles last changed by the requester/);
    // Nor may ben, who approved dan's promotion, use dan as his second person.
    const askOfBen = await roleChange(ben, cat, ['security-engineering', 'sre-oncall']);
    expect((await refusedAs(dan, 'ApproveRequest', { approval_id: askOfBen.approvalId, context: TICKET })).message).toMatch(/had its roles last changed with the requester's approval/);

    // And the person ann had registered (ann created it) cannot approve ann's role change either.
    const byPuppet = await refusedAs(annsPuppet, 'ApproveRequest', { approval_id: askOfAnn.approvalId, context: TICKET });
    expect(byPuppet).toMatchObject({ errorCode: 'SELF_APPROVAL', audit: [expect.objectContaining({ outcome: 'DENIED', actor: annsPuppet.identityId })] });
    expect(byPuppet.message).toMatch(/was created by the requester/);

    expect(await rolesOf(cat)).toEqual(['sre-oncall']);
    for (const a of [askOfAnn, askOfBen]) expect((await kms.admin.call<Approval>('GetApprovalRequest', { approval_id: a.approvalId })).status).toBe('PENDING');
  });

  it('re-enabling a person takes a second person, not the requester nor one whose roles the requester changed (suspending stays one person)', async () => {
    const suspendId = rid('suspend-person');
    expect((await ann.call<{ suspended: boolean }>('SuspendIdentity', { identity_id: ben.identityId }, suspendId)).suspended).toBe(true);
    expect(await auditRows(kms.db, suspendId)).toEqual([expect.objectContaining({ operation: 'SuspendIdentity', outcome: 'SUCCESS', actor: ann.identityId })]);
    const suspended = await refused(ben.call('ListIdentities', {}));
    expect(suspended.errorCode).toBe('PERMISSION_DENIED');

    const askId = rid('ask-reenable-person');
    const asked = await trailers.refusal('ReEnableIdentity', { identity_id: ben.identityId, context: TICKET }, { token: await ann.token(), requestId: askId });
    expect(asked.trailers['kms-error-code']).toBe('APPROVAL_REQUIRED');
    const approvalId = asked.trailers['kms-approval-id'];
    expect(await auditRows(kms.db, askId)).toEqual([
      expect.objectContaining({ operation: 'ReEnableIdentity', outcome: 'FAILURE', error_code: 'APPROVAL_REQUIRED', actor: ann.identityId, details: expect.objectContaining({ identityId: ben.identityId, approvalId }) }),
    ]);

    expect(await refusedAs(ann, 'ApproveRequest', { approval_id: approvalId, context: TICKET })).toMatchObject({ errorCode: 'SELF_APPROVAL', audit: [expect.objectContaining({ outcome: 'DENIED' })] });
    expect(await refusedAs(dan, 'ApproveRequest', { approval_id: approvalId, context: TICKET })).toMatchObject({ errorCode: 'SELF_APPROVAL', audit: [expect.objectContaining({ outcome: 'DENIED' })] });
    expect((await kms.admin.call<{ suspended: boolean }>('GetIdentity', { identity_id: ben.identityId })).suspended).toBe(true);

    const approveId = rid('approve-reenable-person');
    const done = await kms.admin.call<Approval>('ApproveRequest', { approval_id: approvalId, context: TICKET }, approveId);
    expect(done).toMatchObject({ status: 'EXECUTED', operation: 'ReEnableIdentity', requester: ann.identityId, approver: kms.admin.identityId });
    expect(await auditRows(kms.db, approveId)).toEqual([expect.objectContaining({ operation: 'ApproveRequest', outcome: 'SUCCESS', actor: kms.admin.identityId, details: expect.objectContaining({ status: 'Executed' }) })]);
    kms.clock.advance(6 * 60_000); // a fresh token: the one from before the suspension stays dead
    expect((await ben.call<{ identities: unknown[] }>('ListIdentities', {})).identities.length).toBeGreaterThan(0);
  });
});
