/** How many of the newest nightly archives each target keeps (policy: "the latest seven nightly backups"). */
export const NIGHTLY_KEPT = 7;
/** Months the weekly copies are kept (policy: "weekly copies for three months"). */
export const WEEKLY_KEPT_MONTHS = 3;

export interface RetainedArchive {
  name: string;
  createdAt: Date;
}

export interface RetentionPlan {
  /** Kept archives, newest first, each with why: nightly, weekly (its ISO week) or both. */
  keep: Array<{ name: string; createdAt: Date; reasons: string[] }>;
  /** Archives to delete, newest first. */
  remove: Array<{ name: string; createdAt: Date }>;
}

/** ISO-8601 week of a UTC date, e.g. "2026-W09" (weeks start on Monday; week 1 holds the first Thursday). */
export function isoWeek(d: Date): string {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const day = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - day);
  const yearStart = Date.UTC(t.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((t.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${t.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

/** `now` minus `months` calendar months (UTC). */
export function monthsBefore(now: Date, months: number): Date {
  const d = new Date(now.getTime());
  d.setUTCMonth(d.getUTCMonth() - months);
  return d;
}

/**
 * Which archives of one target to keep at `now`: the newest NIGHTLY_KEPT, plus the newest archive of
 * every ISO week whose archive is at most WEEKLY_KEPT_MONTHS old. Everything else is removed.
 * Archives from the future (a clock gone wrong) are kept and never count as nightly.
 */
export function planRetention(archives: readonly RetainedArchive[], now: Date): RetentionPlan {
  const newestFirst = [...archives].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.name.localeCompare(a.name));
  const reasons = new Map<string, string[]>();
  const why = (name: string, reason: string) => reasons.set(name, [...(reasons.get(name) ?? []), reason]);
  const past = newestFirst.filter((a) => a.createdAt.getTime() <= now.getTime());
  for (const a of newestFirst) if (a.createdAt.getTime() > now.getTime()) why(a.name, 'future-dated');
  for (const a of past.slice(0, NIGHTLY_KEPT)) why(a.name, 'nightly');
  const cutoff = monthsBefore(now, WEEKLY_KEPT_MONTHS).getTime();
  const weeks = new Set<string>();
  for (const a of past) {
    const week = isoWeek(a.createdAt);
    if (weeks.has(week) || a.createdAt.getTime() < cutoff) continue;
    weeks.add(week);
    why(a.name, `weekly ${week}`);
  }
  return {
    keep: newestFirst.filter((a) => reasons.has(a.name)).map((a) => ({ name: a.name, createdAt: a.createdAt, reasons: reasons.get(a.name) ?? [] })),
    remove: newestFirst.filter((a) => !reasons.has(a.name)).map((a) => ({ name: a.name, createdAt: a.createdAt })),
  };
}
