import { KmsError } from '../errors/kms-error';
import type { CommandMetadata } from '../key/key.commands';
import {
  type ApprovalCommand,
  type ApprovalEvent,
  type ApprovalState,
  type ApprovalStepUp,
  approvalStreamId,
  decideApproval,
  evolveApproval,
  type RequestApproval,
} from './approval.decider';
import type { IdentityProvenance } from './identity.decider';

const APPROVAL = '99999999-8888-4777-8666-555555555555';
const KEY = '11111111-2222-4333-8444-555555555555';
const ALICE = 'alice-id';
const BOB = 'bob-id';
const t0 = new Date('2026-03-01T09:00:00.000Z');
const deadline = new Date('2026-03-02T09:00:00.000Z');
const before = new Date(deadline.getTime() - 1);
const after = new Date(deadline.getTime() + 1);

const meta = (actor: string, now: Date, over: Partial<CommandMetadata> = {}): CommandMetadata => ({ now, actor, correlationId: `req-${actor}`, ...over });

const request = (over: Partial<RequestApproval['data']> = {}, m: Partial<CommandMetadata> = { reason: 'retire v1' }): ApprovalCommand => ({
  type: 'RequestApproval',
  data: {
    approvalId: APPROVAL,
    operation: 'ScheduleKeyVersionDestruction',
    targetId: KEY,
    params: { version: 1, delayDays: null },
    changeTicket: 'CHG-42',
    expiresAt: deadline,
    ...over,
  },
  metadata: meta(ALICE, t0, { changeTicket: 'CHG-42', ...m }),
});
/** An approver registered by the bootstrap step and never changed since: tied to no requester. */
const independent: IdentityProvenance = { createdBy: 'system:bootstrap', createdWithApprovalOf: [], lastChangedBy: 'system:bootstrap', lastChangedWithApprovalOf: [] };
const grant = (actor: string, now: Date, approver: IdentityProvenance = independent): ApprovalCommand => ({ type: 'GrantApproval', data: { approver }, metadata: meta(actor, now) });
const reject = (actor: string, now: Date): ApprovalCommand => ({ type: 'RejectApproval', data: {}, metadata: meta(actor, now) });
const expire = (now: Date): ApprovalCommand => ({ type: 'ExpireApproval', data: {}, metadata: meta('system:approval-expiry', now) });
const executed = (now: Date, outcome: 'SUCCEEDED' | 'FAILED' = 'SUCCEEDED', errorCode?: string): ApprovalCommand => ({
  type: 'RecordExecution',
  data: { outcome, ...(errorCode ? { errorCode } : {}) },
  metadata: meta(BOB, now),
});

const none: ApprovalState = { status: 'None' };

/** given: the state after these commands were decided and their events folded. */
function given(...commands: ApprovalCommand[]): ApprovalState {
  let state: ApprovalState = none;
  for (const c of commands) state = decideApproval(c, state).reduce(evolveApproval, state);
  return state;
}

function when(command: ApprovalCommand, state: ApprovalState): { events: ApprovalEvent[]; state: ApprovalState } {
  const events = decideApproval(command, state);
  return { events, state: events.reduce(evolveApproval, state) };
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

const stepUp = (over: Partial<ApprovalStepUp['binding']> = {}): ApprovalStepUp => ({
  scheme: 'kms-approval-step-up-v1',
  binding: { approval_id: APPROVAL, change_ticket: 'CHG-42', decision: 'approve', identity_id: BOB, nonce: 'n', ...over },
  credentialId: 'cred',
  authenticatorData: 'ad',
  clientDataJSON: 'cd',
  signature: 'sig',
  publicKey: 'pk',
  algorithm: -7,
});

describe('approval decider (dual authorization)', () => {
  describe('step-up assertion on a grant', () => {
    it('given a pending request, when the approver grants with a step-up made for it, then the grant event carries the assertion', () => {
      const { events, state } = when({ type: 'GrantApproval', data: { approver: independent, stepUp: stepUp() }, metadata: meta(BOB, before) }, given(request()));
      expect(events).toEqual([expect.objectContaining({ type: 'ApprovalGranted', data: { approvalId: APPROVAL, approver: BOB, stepUp: stepUp() } })]);
      expect(state.status).toBe('Approved');
    });

    it('given a grant with a step-up, when the approved operation runs, then the approval record keeps the assertion (the read model and evidence bundle show it)', () => {
      const granted = when({ type: 'GrantApproval', data: { approver: independent, stepUp: stepUp() }, metadata: meta(BOB, before) }, given(request())).state;
      expect(granted).toMatchObject({ status: 'Approved', approval: { approver: BOB, stepUp: stepUp() } });
      expect(when(executed(before), granted).state).toMatchObject({ status: 'Executed', approval: { stepUp: stepUp() } });
      // A grant without one (ApproveRequest over gRPC) records none.
      expect(when(grant(BOB, before), given(request())).state).not.toHaveProperty('approval.stepUp');
    });

    it.each([
      ['another approval', { approval_id: '00000000-0000-4000-8000-000000000000' }],
      ['another change ticket', { change_ticket: 'CHG-43' }],
      ['another person', { identity_id: 'carol-id' }],
    ])('given a pending request, when the step-up was made for %s, then the grant is refused', (_what, over) => {
      expect(refusal(() => decideApproval({ type: 'GrantApproval', data: { approver: independent, stepUp: stepUp(over) }, metadata: meta(BOB, before) }, given(request())))).toMatchObject({ code: 'PERMISSION_DENIED', field: 'ceremony_id' });
    });
  });

  describe('requesting', () => {
    it('given nothing, when a person asks with a change ticket, then a pending request records who, what, why and until when', () => {
      const { events, state } = when(request(), none);
      expect(events).toEqual([
        {
          type: 'ApprovalRequested',
          data: {
            approvalId: APPROVAL,
            operation: 'ScheduleKeyVersionDestruction',
            targetId: KEY,
            params: { version: 1, delayDays: null },
            changeTicket: 'CHG-42',
            requester: ALICE,
            expiresAt: deadline.toISOString(),
          },
          metadata: { actor: ALICE, correlationId: `req-${ALICE}`, occurredAt: t0.toISOString(), reason: 'retire v1', changeTicket: 'CHG-42' },
        },
      ]);
      expect(state).toEqual({
        status: 'Pending',
        approval: {
          approvalId: APPROVAL,
          operation: 'ScheduleKeyVersionDestruction',
          targetId: KEY,
          params: { version: 1, delayDays: null },
          changeTicket: 'CHG-42',
          requester: ALICE,
          expiresAt: deadline.toISOString(),
          requestedAt: t0.toISOString(),
          reason: 'retire v1',
        },
      });
      expect(approvalStreamId(APPROVAL)).toBe(`approval-${APPROVAL}`);
    });

    it('given nothing, when the change ticket is missing, then INVALID_ARGUMENT naming context.change_ticket', () => {
      const r = refusal(() => decideApproval(request({ changeTicket: '' }, {}), none));
      expect(r).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'context.change_ticket' });
      expect(r.message).toMatch(/^context\.change_ticket: /);
    });

    it('given a request, when the same id is requested again, then APPROVAL_NOT_PENDING', () => {
      expect(refusal(() => decideApproval(request(), given(request())))).toMatchObject({ code: 'APPROVAL_NOT_PENDING', field: 'approval_id' });
    });
  });

  describe('approving', () => {
    it('given a pending request, when a second person approves before the deadline, then it is approved by them', () => {
      const { events, state } = when(grant(BOB, before), given(request()));
      expect(events).toEqual([
        { type: 'ApprovalGranted', data: { approvalId: APPROVAL, approver: BOB }, metadata: { actor: BOB, correlationId: `req-${BOB}`, occurredAt: before.toISOString() } },
      ]);
      expect(state).toMatchObject({ status: 'Approved', approval: { approver: BOB, decidedAt: before.toISOString(), requester: ALICE } });
    });

    it('given a pending request, when the requester approves it, then SELF_APPROVAL', () => {
      const r = refusal(() => decideApproval(grant(ALICE, before), given(request())));
      expect(r).toMatchObject({ code: 'SELF_APPROVAL', field: 'approval_id' });
      expect(r.message).toMatch(/second person/);
    });

    it.each([
      ['created by the requester', { ...independent, createdBy: ALICE, lastChangedBy: ALICE }, /was created by the requester/],
      ["created with the requester's approval", { ...independent, createdBy: 'carol-id', createdWithApprovalOf: [ALICE], lastChangedBy: 'carol-id', lastChangedWithApprovalOf: [ALICE] }, /created with the requester's approval/],
      ['last changed by the requester', { ...independent, lastChangedBy: ALICE }, /was last changed by the requester/],
      ["last changed with the requester's approval", { ...independent, lastChangedBy: 'carol-id', lastChangedWithApprovalOf: [ALICE] }, /last changed with the requester's approval/],
      ['given its roles by the requester', { ...independent, lastChangedBy: 'carol-id', rolesChangedBy: ALICE, rolesChangedWithApprovalOf: ['carol-id'] }, /had its roles last changed by the requester/],
      ["given its roles with the requester's approval", { ...independent, rolesChangedBy: 'carol-id', rolesChangedWithApprovalOf: [ALICE] }, /had its roles last changed with the requester's approval/],
    ])('given a pending request, when a second person whose identity was %s approves, then SELF_APPROVAL naming why and nothing is granted', (_why, approver, why) => {
      const r = refusal(() => decideApproval(grant(BOB, before, approver), given(request())));
      expect(r).toMatchObject({ code: 'SELF_APPROVAL', field: 'approval_id' });
      expect(r.message).toMatch(why);
    });

    it('given a request to change bob, when bob approves it, then SELF_APPROVAL: nobody consents to a change of themselves', () => {
      const aboutBob = given(request({ operation: 'ChangeIdentityRoles', targetId: BOB, params: { roles: 'key-admin,security-engineering', previousRoles: 'sre-oncall' } }));
      const r = refusal(() => decideApproval(grant(BOB, before), aboutBob));
      expect(r).toMatchObject({ code: 'SELF_APPROVAL', field: 'approval_id' });
      expect(r.message).toMatch(/the approver is the identity this change is about/);
      expect(when(grant('carol-id', before), aboutBob).state).toMatchObject({ status: 'Approved', approval: { approver: 'carol-id' } });
    });

    it('given a pending request, when a second person created and changed by others (not the requester) approves, then it is approved', () => {
      const approver: IdentityProvenance = { createdBy: 'carol-id', createdWithApprovalOf: ['dave-id'], lastChangedBy: 'erin-id', lastChangedWithApprovalOf: ['frank-id'] };
      expect(when(grant(BOB, before, approver), given(request())).state).toMatchObject({ status: 'Approved', approval: { approver: BOB } });
    });

    it.each([
      ['at the deadline', deadline],
      ['after the deadline', after],
    ])('given a pending request, when a second person approves %s, then APPROVAL_EXPIRED', (_when, now) => {
      const r = refusal(() => decideApproval(grant(BOB, now), given(request())));
      expect(r).toMatchObject({ code: 'APPROVAL_EXPIRED', field: 'approval_id' });
      expect(r.message).toContain(deadline.toISOString());
    });

    it('given an approved request, when someone approves again, then APPROVAL_NOT_PENDING', () => {
      const approved = given(request(), grant(BOB, before));
      for (const who of [BOB, 'carol-id']) {
        expect(refusal(() => decideApproval(grant(who, before), approved))).toMatchObject({ code: 'APPROVAL_NOT_PENDING', field: 'approval_id' });
      }
    });

    it('given nothing, when someone approves, then APPROVAL_NOT_FOUND', () => {
      expect(refusal(() => decideApproval(grant(BOB, before), none))).toMatchObject({ code: 'APPROVAL_NOT_FOUND', field: 'approval_id' });
    });
  });

  describe('rejecting', () => {
    it('given a pending request, when a second person rejects it, then it is rejected and can no longer be approved', () => {
      const { events, state } = when(reject(BOB, before), given(request()));
      expect(events).toEqual([
        { type: 'ApprovalRejected', data: { approvalId: APPROVAL, rejecter: BOB }, metadata: { actor: BOB, correlationId: `req-${BOB}`, occurredAt: before.toISOString() } },
      ]);
      expect(state).toMatchObject({ status: 'Rejected', approval: { approver: BOB, decidedAt: before.toISOString() } });
      expect(refusal(() => decideApproval(grant('carol-id', before), state))).toMatchObject({ code: 'APPROVAL_NOT_PENDING' });
      expect(refusal(() => decideApproval(reject('carol-id', before), state))).toMatchObject({ code: 'APPROVAL_NOT_PENDING' });
    });

    it('given a pending request, the requester may withdraw it by rejecting it', () => {
      expect(when(reject(ALICE, before), given(request())).state.status).toBe('Rejected');
    });
  });

  describe('expiring', () => {
    it('given a pending request, when expiry runs before the deadline, then nothing happens', () => {
      const pending = given(request());
      expect(when(expire(before), pending)).toEqual({ events: [], state: pending });
    });

    it('given a pending request, when expiry runs at the deadline, then it expires and can no longer be approved', () => {
      const { events, state } = when(expire(deadline), given(request()));
      expect(events).toEqual([
        {
          type: 'ApprovalExpired',
          data: { approvalId: APPROVAL },
          metadata: { actor: 'system:approval-expiry', correlationId: 'req-system:approval-expiry', occurredAt: deadline.toISOString() },
        },
      ]);
      expect(state).toMatchObject({ status: 'Expired', approval: { decidedAt: deadline.toISOString() } });
      expect(refusal(() => decideApproval(grant(BOB, after), state))).toMatchObject({ code: 'APPROVAL_NOT_PENDING' });
    });

    it('given a request no longer pending (approved, rejected, executed), when expiry runs, then nothing happens', () => {
      for (const s of [given(request(), grant(BOB, before)), given(request(), reject(BOB, before)), given(request(), grant(BOB, before), executed(before))]) {
        expect(when(expire(after), s)).toEqual({ events: [], state: s });
      }
      expect(when(expire(after), none)).toEqual({ events: [], state: none });
    });
  });

  describe('recording the execution', () => {
    it('given a pending request, when execution is recorded, then APPROVAL_NOT_PENDING: nothing runs before approval', () => {
      expect(refusal(() => decideApproval(executed(before), given(request())))).toMatchObject({ code: 'APPROVAL_NOT_PENDING' });
    });

    it.each([
      ['rejected', () => given(request(), reject(BOB, before))],
      ['expired', () => given(request(), expire(after))],
      ['never requested', () => none],
    ])('given a %s request, when execution is recorded, then APPROVAL_NOT_PENDING', (_what, state) => {
      expect(refusal(() => decideApproval(executed(after), state()))).toMatchObject({ code: 'APPROVAL_NOT_PENDING' });
    });

    it('given an approved request, when it ran, then it is executed; recording twice is refused', () => {
      const { events, state } = when(executed(before), given(request(), grant(BOB, before)));
      expect(events).toEqual([
        { type: 'ApprovedOperationExecuted', data: { approvalId: APPROVAL, outcome: 'SUCCEEDED' }, metadata: { actor: BOB, correlationId: `req-${BOB}`, occurredAt: before.toISOString() } },
      ]);
      expect(state).toMatchObject({ status: 'Executed', approval: { approver: BOB, requester: ALICE } });
      expect(refusal(() => decideApproval(executed(before), state))).toMatchObject({ code: 'APPROVAL_NOT_PENDING' });
    });

    it('given an approved request, when it failed, then the failure and its code are recorded', () => {
      const { events, state } = when(executed(before, 'FAILED', 'PRIMARY_VERSION_PROTECTED'), given(request(), grant(BOB, before)));
      expect(events[0].data).toEqual({ approvalId: APPROVAL, outcome: 'FAILED', errorCode: 'PRIMARY_VERSION_PROTECTED' });
      expect(state).toMatchObject({ status: 'ExecutionFailed', approval: { errorCode: 'PRIMARY_VERSION_PROTECTED' } });
    });
  });

  it('evolve ignores decisions that arrive for a request that is not pending', () => {
    const rejected = given(request(), reject(BOB, before));
    const late: ApprovalEvent = { type: 'ApprovalGranted', data: { approvalId: APPROVAL, approver: 'carol-id' }, metadata: { actor: 'carol-id', correlationId: 'c', occurredAt: before.toISOString() } };
    expect(evolveApproval(rejected, late)).toBe(rejected);
    const stray: ApprovalEvent = { type: 'ApprovedOperationExecuted', data: { approvalId: APPROVAL, outcome: 'SUCCEEDED' }, metadata: late.metadata };
    expect(evolveApproval(given(request()), stray).status).toBe('Pending');
  });
});
