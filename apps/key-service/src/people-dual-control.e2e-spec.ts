import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { BOOTSTRAP_EXCEPTION_STREAM_ID } from '@kms/domain';
import { type Actor, type KeyServiceUnderTest, startKeyServiceUnderTest } from './key-service.e2e-harness';
import { auditRows, createTrailerClient, enrolmentLinkVia, refused, streamEvents, type TrailerClient } from './access-control.e2e-helpers';

type Credential = { client_id: string; client_secret: string };
type Approval = { approval_id: string; status: string; requester: string; approver: string; operation: string; target_id: string };
type Key = { key_id: string; policy: { grants: Record<string, { permissions: string[] }> } };

const rid = (label: string) => `${label}-${randomUUID()}`;
const TICKET = { change_ticket: 'CHG-PEOPLE' };


/**
 * Issue 13's attack "register a sock puppet, then self-approve": a security engineer registers a
 * second person with security-engineering, receives its secret and approves their own SetKeyPolicy
 * request with it. People now take two people, and an identity the requester made cannot approve.
 */
describe('dual control over people (end to end, issue 13)', () => {
  let kms: KeyServiceUnderTest;
  let trailers: TrailerClient;
  let orders: Actor;
  let billing: Actor;
  let bob: Actor;

  const names = async () => (await kms.admin.call<{ identities: Array<{ name: string }> }>('ListIdentities', {})).identities.map((i) => i.name);

  beforeAll(async () => {
    kms = await startKeyServiceUnderTest('e2e_people_dual_control');
    trailers = createTrailerClient(kms.service.grpcAddress);
  });
  afterAll(async () => {
    trailers?.close();
    await kms?.stop();
  });

  it('workloads are still registered directly, by one person, without a change ticket', async () => {
    orders = await kms.register('orders-app', 'WORKLOAD');
    billing = await kms.register('billing-app', 'WORKLOAD');
    expect(await names()).toEqual(expect.arrayContaining(['orders-app', 'billing-app']));
    expect(await streamEvents(kms.db, BOOTSTRAP_EXCEPTION_STREAM_ID)).toEqual([]);
  });

  it('the bootstrap administrator registers the first person alone, once, and that is recorded', async () => {
    const requestId = rid('bootstrap-person');
    const r = await kms.admin.call<Credential>('RegisterIdentity', { name: 'bob.seceng', kind: 'HUMAN', roles: ['security-engineering'] }, requestId);
    bob = kms.actor(r.client_id, 'bob.seceng', r.client_secret, true);
    const [row] = await auditRows(kms.db, requestId);
    expect(row).toMatchObject({ operation: 'RegisterIdentity', outcome: 'SUCCESS', details: expect.objectContaining({ bootstrapException: 'used', identityId: r.client_id }) });
    const recorded = await streamEvents(kms.db, BOOTSTRAP_EXCEPTION_STREAM_ID);
    expect(recorded.map((e) => [e.type, e.data])).toEqual([['BootstrapExceptionUsed', { administrator: kms.admin.identityId, name: 'bob.seceng' }]]);
  });

  it('a second use of the exception is refused: the next person takes a second person, and not one the administrator made', async () => {
    const asked = await trailers.refusal('RegisterIdentity', { name: 'dave.seceng', kind: 'HUMAN', roles: ['security-engineering'], context: TICKET }, { token: await kms.admin.token() });
    expect({ code: status[asked.code], errorCode: asked.trailers['kms-error-code'] }).toEqual({ code: 'FAILED_PRECONDITION', errorCode: 'APPROVAL_REQUIRED' });
    expect(await names()).not.toContain('dave.seceng');
    // bob was created by the administrator, so bob cannot be the administrator's second person.
    const requestId = rid('approve-admins-person');
    const e = await refused(bob.call('ApproveRequest', { approval_id: asked.trailers['kms-approval-id'], context: TICKET }, requestId));
    expect({ code: status[e.code], errorCode: e.errorCode }).toEqual({ code: 'PERMISSION_DENIED', errorCode: 'SELF_APPROVAL' });
    expect(e.message).toMatch(/was created by the requester/);
    expect(await auditRows(kms.db, requestId)).toEqual([expect.objectContaining({ operation: 'ApproveRequest', outcome: 'DENIED', error_code: 'SELF_APPROVAL', actor: bob.identityId })]);
    expect(await names()).not.toContain('dave.seceng');
    expect(await streamEvents(kms.db, BOOTSTRAP_EXCEPTION_STREAM_ID)).toHaveLength(1);
  });

  it('a person registering a sock puppet needs a second person; the puppet, once made, cannot approve its maker (audited DENIED)', async () => {
    // bob asks for a second security engineer: not registered, an approval request instead.
    const asked = await trailers.refusal('RegisterIdentity', { name: 'bob.puppet', kind: 'HUMAN', roles: ['security-engineering'], context: TICKET }, { token: await bob.token() });
    expect(asked.trailers['kms-error-code']).toBe('APPROVAL_REQUIRED');
    const approvalId = asked.trailers['kms-approval-id'];
    expect(await names()).not.toContain('bob.puppet');

    // bob cannot approve it himself.
    const self = await refused(bob.call('ApproveRequest', { approval_id: approvalId, context: TICKET }));
    expect({ code: status[self.code], errorCode: self.errorCode }).toEqual({ code: 'PERMISSION_DENIED', errorCode: 'SELF_APPROVAL' });

    // Someone else approves: the puppet exists, and its credential goes to the approver, once, audited.
    const approveId = rid('approve-puppet');
    const done = await kms.admin.call<Approval & { issued_credential: Credential }>('ApproveRequest', { approval_id: approvalId, context: TICKET }, approveId);
    expect(done).toMatchObject({ status: 'EXECUTED', operation: 'RegisterHumanIdentity', requester: bob.identityId, approver: kms.admin.identityId });
    expect(done.issued_credential.client_id).toBe(done.target_id);
    const [row] = await auditRows(kms.db, approveId);
    expect(row).toMatchObject({ outcome: 'SUCCESS', details: expect.objectContaining({ credentialIssuedTo: kms.admin.identityId, operation: 'RegisterHumanIdentity', status: 'Executed' }) });
    expect(JSON.stringify(row?.details)).not.toContain(done.issued_credential.client_secret);
    expect((await kms.admin.call<Record<string, unknown>>('GetApprovalRequest', { approval_id: approvalId }))['issued_credential']).toBeFalsy();
    const puppet = kms.actor(done.issued_credential.client_id, 'bob.puppet', done.issued_credential.client_secret, true);
    expect(await names()).toContain('bob.puppet');
    // The puppet's factors: bob asks for its enrolment link, the administrator approves and hands it over.
    kms.people.adopt(await kms.people.ceremonies.enrol(puppet.identityId, await enrolmentLinkVia(bob, kms.admin, puppet.identityId, TICKET)));

    // The attack: bob asks to grant billing DECRYPT on orders' key, and approves with the puppet.
    const key = await kms.admin.call<Key>('CreateKey', {
      name: 'orders-dek',
      purpose: 'SERVICE_ENVELOPE',
      algorithm: 'AES_256_GCM',
      policy: { grants: { [orders.identityId]: { permissions: ['ENCRYPT', 'DECRYPT'] } } },
      context: TICKET,
    });
    const policyAsk = await trailers.refusal(
      'SetKeyPolicy',
      { key_id: key.key_id, policy: { grants: { [orders.identityId]: { permissions: ['ENCRYPT', 'DECRYPT'] }, [billing.identityId]: { permissions: ['DECRYPT'] } } }, context: TICKET },
      { token: await bob.token() },
    );
    expect(policyAsk.trailers['kms-error-code']).toBe('APPROVAL_REQUIRED');
    const requestId = rid('puppet-approves');
    const e = await refused(puppet.call('ApproveRequest', { approval_id: policyAsk.trailers['kms-approval-id'], context: TICKET }, requestId));
    expect({ code: status[e.code], errorCode: e.errorCode }).toEqual({ code: 'PERMISSION_DENIED', errorCode: 'SELF_APPROVAL' });
    expect(e.message).toMatch(/the approving identity was created by the requester/);
    expect(await auditRows(kms.db, requestId)).toEqual([expect.objectContaining({ operation: 'ApproveRequest', outcome: 'DENIED', error_code: 'SELF_APPROVAL', actor: puppet.identityId })]);
    expect((await kms.admin.call<Approval>('GetApprovalRequest', { approval_id: policyAsk.trailers['kms-approval-id'] })).status).toBe('PENDING');
    expect(Object.keys((await kms.admin.call<Key>('GetKey', { key_id: key.key_id })).policy.grants)).toEqual([orders.identityId]);

    // Nor can the administrator, who received the puppet's credential, approve their own requests with it.
    const adminAsk = await trailers.refusal('SetKeyPolicy', { key_id: key.key_id, policy: { grants: {} }, context: TICKET }, { token: await kms.admin.token() });
    const viaPuppet = await refused(puppet.call('ApproveRequest', { approval_id: adminAsk.trailers['kms-approval-id'], context: TICKET }));
    expect(viaPuppet.errorCode).toBe('SELF_APPROVAL');
    expect(viaPuppet.message).toMatch(/created with the requester's approval/);
  });
});
