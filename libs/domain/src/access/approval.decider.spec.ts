import { KmsError } from '../errors/kms-error';
import type { CommandMetadata } from '../key/key.commands';
import {
  type ApprovalCommand,
  type ApprovalEvent,
  type ApprovalState,
  approvalStreamId,
  decideApproval,
  evolveApproval,
  type RequestApproval,
} from './approval.decider';

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
const grant = (actor: string, now: Date): ApprovalCommand => ({ type: 'GrantApproval', data: {}, metadata: meta(actor, now) });
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

describe('approval decider (dual authorization)', () => {
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
