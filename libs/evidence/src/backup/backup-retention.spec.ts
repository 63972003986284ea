import { isoWeek, planRetention, type RetainedArchive } from './backup-retention';

const DAY = 86_400_000;

function at(iso: string): Date {
  return new Date(iso);
}

describe('backup retention', () => {
  it('numbers ISO weeks from Monday, week 1 holding the first Thursday', () => {
    expect(isoWeek(at('2026-01-01T02:00:00Z'))).toBe('2026-W01'); // a Thursday
    expect(isoWeek(at('2026-03-01T02:00:00Z'))).toBe('2026-W09'); // a Sunday
    expect(isoWeek(at('2026-03-02T02:00:00Z'))).toBe('2026-W10'); // the Monday after
    expect(isoWeek(at('2027-01-01T02:00:00Z'))).toBe('2026-W53'); // a Friday in 2026's last week
  });

  it('over 120 nightly runs with an injected clock keeps exactly the newest 7 and the last archive of each week of the last 3 months', () => {
    // Nightly at 02:00 UTC from Sunday 2026-01-04 for 120 days; each run adds its archive and prunes.
    let target: RetainedArchive[] = [];
    const removedEver: string[] = [];
    const start = at('2026-01-04T02:00:00Z').getTime();
    let lastPlan: ReturnType<typeof planRetention> | undefined;
    for (let night = 0; night < 120; night++) {
      const now = new Date(start + night * DAY);
      target.push({ name: `kms-backup-${now.toISOString().slice(0, 10)}`, createdAt: now });
      lastPlan = planRetention(target, now);
      removedEver.push(...lastPlan.remove.map((r) => r.name));
      target = target.filter((a) => !lastPlan?.remove.some((r) => r.name === a.name));
    }
    // The last run is 2026-05-03 (a Sunday): 3 months back is 2026-02-03.
    const names = target.map((a) => a.name.slice('kms-backup-'.length)).sort();
    expect(names).toEqual([
      // Last archive (a Sunday) of every ISO week from W06 (2-8 Feb) to W17; W18 ends on the last night.
      '2026-02-08', '2026-02-15', '2026-02-22', '2026-03-01', '2026-03-08', '2026-03-15', '2026-03-22', '2026-03-29',
      '2026-04-05', '2026-04-12', '2026-04-19',
      // The newest seven nightly (2026-04-27 .. 2026-05-03), 2026-05-03 also the weekly one of W18; W17's Sunday is 04-26.
      '2026-04-26', '2026-04-27', '2026-04-28', '2026-04-29', '2026-04-30', '2026-05-01', '2026-05-02', '2026-05-03',
    ].sort());
    // Nothing kept was ever removed before, and nothing is both kept and removed.
    expect(names.filter((n) => removedEver.includes(`kms-backup-${n}`))).toEqual([]);
    expect(lastPlan?.keep.find((k) => k.name === 'kms-backup-2026-05-03')?.reasons).toEqual(['nightly', 'weekly 2026-W18']);
    // 120 archives made, 19 kept: every other one was removed exactly once.
    expect(removedEver).toHaveLength(120 - 19);
    expect(new Set(removedEver).size).toBe(removedEver.length);
  });

  it('keeps a future-dated archive (a clock gone wrong) instead of letting it push out real nightlies', () => {
    const now = at('2026-05-03T02:00:00Z');
    const archives = Array.from({ length: 8 }, (_, i) => ({ name: `n${i}`, createdAt: new Date(now.getTime() - i * DAY) }));
    const plan = planRetention([...archives, { name: 'future', createdAt: new Date(now.getTime() + 30 * DAY) }], now);
    // n0..n7 run from Sunday 05-03 back to Sunday 04-26: n7 stays as W17's weekly copy, the future one stays too.
    expect(plan.keep.map((k) => [k.name, k.reasons.join('+')])).toEqual([
      ['future', 'future-dated'], ['n0', 'nightly+weekly 2026-W18'], ['n1', 'nightly'], ['n2', 'nightly'], ['n3', 'nightly'],
      ['n4', 'nightly'], ['n5', 'nightly'], ['n6', 'nightly'], ['n7', 'weekly 2026-W17'],
    ]);
    expect(plan.remove).toEqual([]);
  });
});
