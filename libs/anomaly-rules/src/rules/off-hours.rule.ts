import type { UsageSchedule } from '../config/anomaly-rules.config';
import type { UsageRecord } from '../model/anomaly.model';
import { alreadyFlagged, FLAG_HORIZON_MS, finding, markFlagged, windowStart, type RuleContext, type RuleResult, type SubjectState } from './rule-context';

const formatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

/** Local weekday (1 = Monday) and minutes since midnight of an instant in a time zone. */
export function localTime(t: Date, timeZone: string): { day: number; minutes: number } {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(timeZone, f);
  }
  const parts = f.formatToParts(t);
  const get = (type: string): string => parts.find((p) => p.type === type)?.value ?? '';
  return { day: WEEKDAYS[get('weekday')] ?? 0, minutes: Number(get('hour')) * 60 + Number(get('minute')) };
}

const toMinutes = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Whether an instant is inside a schedule (an end before the start wraps past midnight). */
export function withinSchedule(t: Date, s: UsageSchedule): boolean {
  const { day, minutes } = localTime(t, s.timeZone);
  const start = toMinutes(s.start);
  const end = toMinutes(s.end);
  if (start <= end) return s.days.includes(day) && minutes >= start && minutes < end;
  // Overnight shift: the part after midnight belongs to the previous day's shift.
  if (minutes >= start) return s.days.includes(day);
  return minutes < end && s.days.includes(day === 1 ? 7 : day - 1);
}

/** Off hours: an identity with a schedule calls outside it. */
export function offHoursRule(subject: SubjectState, identityId: string, r: UsageRecord, ctx: RuleContext): RuleResult {
  const cfg = ctx.config.offHours;
  const schedule = Object.hasOwn(ctx.config.identities, identityId) ? ctx.config.identities[identityId]?.schedule : undefined;
  if (!cfg.enabled || !schedule || withinSchedule(r.time, schedule)) return { subject, findings: [] };
  const size = cfg.dedupeSeconds * 1000;
  const w = windowStart(r.time.getTime(), size);
  const scope = `off-hours|identity|${identityId}`;
  if (alreadyFlagged(subject, scope, w)) return { subject, findings: [] };
  const local = localTime(r.time, schedule.timeZone);
  return {
    subject: markFlagged(subject, scope, w, FLAG_HORIZON_MS),
    findings: [
      finding({
        rule: 'off-hours',
        scope,
        start: w,
        sizeMs: size,
        severity: cfg.severity,
        record: r,
        identityId,
        keyId: r.keyId ?? null,
        summary: `identity ${identityId} called ${r.operation} outside its schedule (${schedule.start}-${schedule.end} ${schedule.timeZone})`,
        evidence: { count: 1, auditRecordIds: [r.id], facts: { timeZone: schedule.timeZone, localDay: local.day, localMinutes: local.minutes, scheduleStart: schedule.start, scheduleEnd: schedule.end } },
      }),
    ],
  };
}
