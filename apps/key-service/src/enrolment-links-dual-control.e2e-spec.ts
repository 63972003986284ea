import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { personFactorsStreamId } from '@kms/domain';
import { type Actor, type KeyServiceUnderTest, startKeyServiceUnderTest } from './key-service.e2e-harness';
import { auditRows, createTrailerClient, refused, streamEvents, type TrailerClient } from './access-control.e2e-helpers';

type Approval = { approval_id: string; status: string; requester: string; approver: string; operation: string; target_id: string };
type Key = { key_id: string; policy: { grants: Record<string, { permissions: string[] }> } };

const rid = (label: string) => `${label}-${randomUUID()}`;
const TICKET = { change_ticket: 'CHG-ENROL' };


/**
 * Issue 13's last hole: a security engineer could create an enrolment link for a colleague who had
 * not enrolled yet, enrol their own security key and app as that colleague, and approve their own
 * requests through that identity. A link for another person now takes two people; the approver
 * receives it, and both are tied to the person for dual authorization.
 */
describe('enrolment links take two people: one person cannot enrol their own authenticator as someone else (issue 13)', () => {
  let kms: KeyServiceUnderTest;
  let trailers: TrailerClient;
  let orders: Actor;
  let billing: Actor;
  let erin: Actor;
  let frank: Actor;
  let gina: Actor;
  let key: Key;

  beforeAll(async () => {
    kms = await startKeyServiceUnderTest('e2e_enrolment_links');
    trailers = createTrailerClient(kms.service.grpcAddress);
    orders = await kms.register('orders-app', 'WORKLOAD');
    billing = await kms.register('billing-app', 'WORKLOAD');
    // Two security engineers and a new colleague, none made by another of the three.
    erin = await kms.register('erin.seceng', 'HUMAN', ['security-engineering', 'key-admin']);
    frank = await kms.register('frank.seceng', 'HUMAN', ['security-engineering', 'key-admin']);
    gina = await kms.register('gina.seceng', 'HUMAN', ['security-engineering', 'key-admin']);
    key = await kms.admin.call<Key>('CreateKey', { name: 'links-dek', purpose: 'SERVICE_ENVELOPE', algorithm: 'AES_256_GCM', policy: { grants: { [orders.identityId]: { permissions: ['ENCRYPT'] } } }, context: TICKET });
  });
  afterAll(async () => {
    trailers?.close();
    await kms?.stop();
  });

  it('one engineer asking for another person\'s link gets an approval request, never the link (gRPC and HTTP, audited)', async () => {
    const requestId = rid('erin-asks-link');
    const asked = await trailers.refusal('CreateEnrolmentLink', { identity_id: gina.identityId, context: TICKET }, { token: await erin.token(), requestId });
    expect({ code: status[asked.code], errorCode: asked.trailers['kms-error-code'] }).toEqual({ code: 'FAILED_PRECONDITION', errorCode: 'APPROVAL_REQUIRED' });
    expect(await auditRows(kms.db, requestId)).toEqual([
      expect.objectContaining({ operation: 'CreateEnrolmentLink', outcome: 'FAILURE', error_code: 'APPROVAL_REQUIRED', actor: erin.identityId, details: expect.objectContaining({ identityId: gina.identityId, approvalId: asked.trailers['kms-approval-id'] }) }),
    ]);
    // Over HTTP (the console's route) the same: 409 naming the approval, no token in the answer.
    const http = await fetch(`${kms.httpUrl}/v1/console/enrolment-links`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await erin.token()}` },
      body: JSON.stringify({ identity_id: gina.identityId, context: TICKET }),
    });
    const body = (await http.json()) as Record<string, unknown>;
    expect({ status: http.status, code: body['code'] }).toEqual({ status: 409, code: 'APPROVAL_REQUIRED' });
    expect(body['approvalId']).toMatch(/^[0-9a-f-]{36}$/);
    expect(body['enrolment_token']).toBeUndefined();
    // Nothing was issued: gina's factor stream holds no link.
    expect(await streamEvents(kms.db, personFactorsStreamId(gina.identityId))).toEqual([]);
    // erin cannot approve her own request; a link for oneself is refused outright.
    const self = await refused(erin.call('ApproveRequest', { approval_id: asked.trailers['kms-approval-id'], context: TICKET }));
    expect(self.errorCode).toBe('SELF_APPROVAL');
    const own = await refused(erin.call('CreateEnrolmentLink', { identity_id: erin.identityId, context: TICKET }));
    expect({ code: status[own.code], errorCode: own.errorCode, field: own.field }).toEqual({ code: 'PERMISSION_DENIED', errorCode: 'PERMISSION_DENIED', field: 'identity_id' });
  });

  it('the approver receives the link; both are tied to the person: neither can have their own request approved by them', async () => {
    const asked = await trailers.refusal('CreateEnrolmentLink', { identity_id: gina.identityId, context: TICKET }, { token: await erin.token() });
    const approvalId = asked.trailers['kms-approval-id'];
    const approveId = rid('frank-approves-link');
    const done = await frank.call<Approval & { issued_enrolment_link: { enrolment_token: string; identity_id: string; enrolment_url: string } }>('ApproveRequest', { approval_id: approvalId, context: TICKET }, approveId);
    expect(done).toMatchObject({ status: 'EXECUTED', operation: 'IssueEnrolmentLink', requester: erin.identityId, approver: frank.identityId });
    expect(done.issued_enrolment_link.identity_id).toBe(gina.identityId);
    expect(done.issued_enrolment_link.enrolment_url).toContain(encodeURIComponent(done.issued_enrolment_link.enrolment_token));
    // Shown once: not in the approval as read later, not in the audit record, not in the events.
    expect((await kms.admin.call<Record<string, unknown>>('GetApprovalRequest', { approval_id: approvalId }))['issued_enrolment_link']).toBeFalsy();
    const secret = done.issued_enrolment_link.enrolment_token.split('.')[1];
    expect(JSON.stringify(await auditRows(kms.db, approveId))).not.toContain(secret);
    const issued = await streamEvents(kms.db, personFactorsStreamId(gina.identityId));
    expect(issued.map((e) => [e.type, e.metadata['actor'], e.metadata['approvers']])).toEqual([['EnrolmentLinkIssued', erin.identityId, [frank.identityId]]]);
    expect(JSON.stringify(issued)).not.toContain(secret);

    // The misuse the control exists for: frank enrols his own authenticator as gina with the link.
    kms.people.adopt(await kms.people.ceremonies.enrol(gina.identityId, done.issued_enrolment_link.enrolment_token));
    const grants = { [orders.identityId]: { permissions: ['ENCRYPT', 'DECRYPT'] }, [billing.identityId]: { permissions: ['DECRYPT'] } };
    for (const requester of [frank, erin]) {
      const ask = await trailers.refusal('SetKeyPolicy', { key_id: key.key_id, policy: { grants }, context: TICKET }, { token: await requester.token() });
      expect(ask.trailers['kms-error-code']).toBe('APPROVAL_REQUIRED');
      const requestId = rid('gina-approves');
      const e = await refused(gina.call('ApproveRequest', { approval_id: ask.trailers['kms-approval-id'], context: TICKET }, requestId));
      expect({ code: status[e.code], errorCode: e.errorCode }).toEqual({ code: 'PERMISSION_DENIED', errorCode: 'SELF_APPROVAL' });
      expect(e.message).toMatch(/holds factors enrolled through an enrolment link the requester asked for or approved/);
      expect(await auditRows(kms.db, requestId)).toEqual([expect.objectContaining({ operation: 'ApproveRequest', outcome: 'DENIED', error_code: 'SELF_APPROVAL', actor: gina.identityId })]);
      expect((await kms.admin.call<Approval>('GetApprovalRequest', { approval_id: ask.trailers['kms-approval-id'] })).status).toBe('PENDING');
    }
    expect(Object.keys((await kms.admin.call<Key>('GetKey', { key_id: key.key_id })).policy.grants)).toEqual([orders.identityId]);

    // The tie is to those two only: the administrator's request, gina may approve.
    const adminAsk = await trailers.refusal('SetKeyPolicy', { key_id: key.key_id, policy: { grants }, context: TICKET }, { token: await kms.admin.token() });
    expect(await gina.call<Approval>('ApproveRequest', { approval_id: adminAsk.trailers['kms-approval-id'], context: TICKET })).toMatchObject({ status: 'EXECUTED', approver: gina.identityId });
  });

  it('a lost security key is replaced only with two people: the old key stops signing in, the new link enrols new factors', async () => {
    const old = await kms.people.factorsOf(gina.identityId);
    // Without replace_factors a person who has factors gets no link (refused before any approval is asked for).
    const plain = await refused(erin.call('CreateEnrolmentLink', { identity_id: gina.identityId, context: TICKET }));
    expect(plain.errorCode).toBe('FACTORS_ALREADY_ENROLLED');
    const link = await (async () => {
      const asked = await trailers.refusal('CreateEnrolmentLink', { identity_id: gina.identityId, replace_factors: true, context: TICKET }, { token: await erin.token() });
      expect(asked.trailers['kms-error-code']).toBe('APPROVAL_REQUIRED');
      // Until approved, gina's factors still work.
      await kms.people.ceremonies.signIn(old);
      const done = await kms.admin.call<Approval & { issued_enrolment_link: { enrolment_token: string } }>('ApproveRequest', { approval_id: asked.trailers['kms-approval-id'], context: TICKET });
      expect(done.status).toBe('EXECUTED');
      return done.issued_enrolment_link.enrolment_token;
    })();
    const events = await streamEvents(kms.db, personFactorsStreamId(gina.identityId));
    expect(events.slice(-2).map((e) => [e.type, e.data['credentialIds'] ?? null])).toEqual([
      ['PersonFactorsReset', [old.key.id]],
      ['EnrolmentLinkIssued', null],
    ]);
    await expect(kms.people.ceremonies.signIn(old)).rejects.toMatchObject({ status: 401 });
    const renewed = await kms.people.ceremonies.enrol(gina.identityId, link);
    kms.people.adopt(renewed);
    expect(renewed.key.id).not.toBe(old.key.id);
    const { accessToken } = await kms.people.ceremonies.signIn(renewed);
    expect(accessToken).toMatch(/^ey/);
  });
});
