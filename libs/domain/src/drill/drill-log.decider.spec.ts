import { foldWith } from '../events/decider';
import { KmsError } from '../errors/kms-error';
import { addBusinessDays, type DrillLogCommand, drillLogDecider, type DrillLogEvent, drillStatus, parseFollowUp, validateDrill } from './drill-log.decider';

const at = (iso: string) => ({ now: new Date(iso), actor: 'alice', correlationId: 'c-1' });

function given(events: DrillLogEvent[]) {
  return foldWith(drillLogDecider, events);
}
function when(events: DrillLogEvent[], command: DrillLogCommand): DrillLogEvent[] {
  return drillLogDecider.decide(command, given(events));
}

const record = (drillId: string, date: string, followUps: Array<{ owner: string; action: string }> = []): DrillLogCommand => ({
  type: 'RecordDrill',
  data: { drillId, date, participants: ['alice', 'bob'], archive: 'kms-backup-2026-03-01T02-30-00-000Z', outcome: 'PARTIAL', followUps },
  metadata: at(`${date}T15:00:00.000Z`),
});

describe('drill log', () => {
  it('counts 5 business days over weekends: Friday to the next Friday, Wednesday to the next Wednesday', () => {
    expect(addBusinessDays('2026-03-06', 5)).toBe('2026-03-13'); // a Friday
    expect(addBusinessDays('2026-03-07', 5)).toBe('2026-03-13'); // a Saturday: Monday is the first
    expect(addBusinessDays('2026-03-04', 5)).toBe('2026-03-11'); // a Wednesday
    expect(addBusinessDays('2026-12-31', 5)).toBe('2027-01-07');
  });

  it('given no drill, when one is recorded with two follow-ups, then each is due 5 business days after the drill', () => {
    const events = when([], record('d1', '2026-03-06', [{ owner: 'sre', action: 'document the restore of the HSM token' }, { owner: 'dba', action: 'pin pg_dump 16' }]));
    expect(events).toEqual([
      {
        type: 'DrillRecorded',
        data: {
          drillId: 'd1',
          date: '2026-03-06',
          participants: ['alice', 'bob'],
          archive: 'kms-backup-2026-03-01T02-30-00-000Z',
          outcome: 'PARTIAL',
          followUps: [
            { followUpId: 1, owner: 'sre', action: 'document the restore of the HSM token', dueDate: '2026-03-13' },
            { followUpId: 2, owner: 'dba', action: 'pin pg_dump 16', dueDate: '2026-03-13' },
          ],
        },
        metadata: { actor: 'alice', correlationId: 'c-1', occurredAt: '2026-03-06T15:00:00.000Z' },
      },
    ]);
  });

  it('closes a follow-up once; an unknown drill or follow-up is named, and the same drill is not recorded twice', () => {
    const recorded = when([], record('d1', '2026-03-06', [{ owner: 'sre', action: 'x' }]));
    const close = (followUpId: number, drillId = 'd1'): DrillLogCommand => ({ type: 'CloseDrillFollowUp', data: { drillId, followUpId, note: 'done in CHG-9' }, metadata: at('2026-03-10T09:00:00.000Z') });
    const closed = when(recorded, close(1));
    expect(closed).toEqual([{ type: 'DrillFollowUpClosed', data: { drillId: 'd1', followUpId: 1, note: 'done in CHG-9' }, metadata: { actor: 'alice', correlationId: 'c-1', occurredAt: '2026-03-10T09:00:00.000Z' } }]);
    expect(() => when([...recorded, ...closed], close(1))).toThrow(expect.objectContaining({ code: 'ILLEGAL_TRANSITION', field: 'follow_up_id' }));
    expect(() => when(recorded, close(2))).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', field: 'follow_up_id' }));
    expect(() => when(recorded, close(1, 'd9'))).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', field: 'drill_id' }));
    expect(() => when(recorded, record('d1', '2026-03-07'))).toThrow(KmsError);
  });

  it('reports the monthly drill overdue 31 days after the last one, and open follow-ups overdue after their due date', () => {
    const events = [...when([], record('d1', '2026-03-06', [{ owner: 'sre', action: 'x' }, { owner: 'dba', action: 'y' }]))];
    events.push(...drillLogDecider.decide({ type: 'CloseDrillFollowUp', data: { drillId: 'd1', followUpId: 2, note: '' }, metadata: at('2026-03-09T09:00:00.000Z') }, given(events)));
    const state = given(events);
    const onTime = drillStatus(state, new Date('2026-03-13T23:00:00.000Z'));
    expect(onTime).toMatchObject({ monthlyDrillOverdue: false, nextDrillDue: '2026-04-06', openFollowUps: [{ drillId: 'd1', followUpId: 1, overdue: false }] });
    expect(onTime.lastDrill?.drillId).toBe('d1');
    expect(drillStatus(state, new Date('2026-03-14T00:00:00.000Z')).openFollowUps).toEqual([expect.objectContaining({ followUpId: 1, overdue: true })]);
    expect(drillStatus(state, new Date('2026-04-06T12:00:00.000Z')).monthlyDrillOverdue).toBe(false);
    expect(drillStatus(state, new Date('2026-04-07T00:00:00.000Z')).monthlyDrillOverdue).toBe(true);
    expect(drillStatus(given([]), new Date('2026-04-07T00:00:00.000Z'))).toEqual({ monthlyDrillOverdue: true, openFollowUps: [] });
  });

  it('raises each overdue alert once: the monthly drill by its due date, each follow-up past due', () => {
    const report = (iso: string): DrillLogCommand => ({ type: 'ReportDrillsOverdue', metadata: at(iso) });
    // No drill ever: the monthly drill is overdue, reported once.
    const first = when([], report('2026-03-01T00:00:00.000Z'));
    expect(first.map((e) => e.data)).toEqual([{ subject: 'MONTHLY_DRILL', dueDate: 'none' }]);
    expect(when(first, report('2026-03-02T00:00:00.000Z'))).toEqual([]);
    const history = [...first, ...when(first, record('d1', '2026-03-06', [{ owner: 'sre', action: 'x' }]))];
    // Nothing overdue on the due date itself.
    expect(when(history, report('2026-03-13T12:00:00.000Z'))).toEqual([]);
    const late = when(history, report('2026-03-14T08:00:00.000Z'));
    expect(late.map((e) => e.data)).toEqual([{ subject: 'FOLLOW_UP', dueDate: '2026-03-13', drillId: 'd1', followUpId: 1, owner: 'sre', action: 'x' }]);
    expect(when([...history, ...late], report('2026-03-20T08:00:00.000Z'))).toEqual([]);
    // A month without a drill: the next monthly alert, by its due date.
    expect(when([...history, ...late], report('2026-04-07T08:00:00.000Z')).map((e) => e.data)).toEqual([{ subject: 'MONTHLY_DRILL', dueDate: '2026-04-06' }]);
  });

  it('validates a drill naming the field: date, participants, archive, outcome, follow-ups', () => {
    const ok = { date: '2026-03-06', participants: ['alice'], archive: 'kms-backup-x', outcome: 'PASSED', followUps: [] };
    expect(validateDrill(ok)).toEqual(ok);
    for (const [bad, field] of [
      [{ ...ok, date: '2026-02-30' }, 'date'],
      [{ ...ok, date: '6 March' }, 'date'],
      [{ ...ok, participants: [] }, 'participants'],
      [{ ...ok, participants: [' '] }, 'participants'],
      [{ ...ok, archive: '' }, 'archive'],
      [{ ...ok, outcome: 'OK' }, 'outcome'],
      [{ ...ok, followUps: [{ owner: 'sre' }] }, 'follow_ups.action'],
    ] as const) {
      expect(() => validateDrill(bad)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', field }));
    }
    expect(parseFollowUp('sre: restore the HSM token too')).toEqual({ owner: 'sre', action: 'restore the HSM token too' });
    expect(() => parseFollowUp('no owner')).toThrow(expect.objectContaining({ field: 'follow_ups' }));
  });
});
