import { DAY_MS, nextRotationAt, PURPOSE_MAX_ROTATION_DAYS } from '@kms/domain';
import { DEFAULT_RETENTION, type PlannerOptions } from '../planner/deadline.planner';
import type { ScheduledKey } from '../planner/scheduled-key.projection';

export type PolicyViolationCode =
  /** The primary version is older than the key's rotation period. */
  | 'ROTATION_OVERDUE'
  /** The key's rotation period is longer than its purpose allows. */
  | 'ROTATION_PERIOD_TOO_LONG'
  /** A retired version is still kept (not scheduled for destruction) after its retention ended. */
  | 'RETENTION_EXCEEDED'
  /** A version scheduled for destruction is past its destruction date and still exists. */
  | 'DESTRUCTION_OVERDUE';

export interface PolicyViolation {
  code: PolicyViolationCode;
  keyId: string;
  tenant: string;
  name: string;
  purpose: string;
  version?: number;
  /** When it was due (ISO), for overdue findings. */
  dueAt?: string;
  message: string;
}

export interface PolicyReport {
  checkedAt: string;
  keys: number;
  versions: number;
  violations: PolicyViolation[];
}

export interface PolicyCheckOptions extends PlannerOptions {
  /** Tolerance for deadlines (the scheduler acts within its reconcile interval). Default 0. */
  graceMs?: number;
}

const days = (ms: number): string => `${(ms / DAY_MS).toFixed(1)} days`;

/** Check every key against its purpose's rotation and retention limits at `now`. Pure. */
export function checkRotationPolicy(keys: Iterable<ScheduledKey>, now: Date, options: PolicyCheckOptions = {}): PolicyReport {
  const grace = options.graceMs ?? 0;
  const retention = options.retention ?? DEFAULT_RETENTION;
  const violations: PolicyViolation[] = [];
  let keyCount = 0;
  let versionCount = 0;
  for (const view of keys) {
    const k = view.state.key;
    keyCount += 1;
    versionCount += k.versions.length;
    const about = { keyId: k.keyId, tenant: k.tenant, name: k.name, purpose: k.purpose };
    const max = PURPOSE_MAX_ROTATION_DAYS[k.purpose];
    if (k.rotationPeriodDays > max) {
      violations.push({
        ...about,
        code: 'ROTATION_PERIOD_TOO_LONG',
        message: `rotation period ${k.rotationPeriodDays} days is longer than ${k.purpose} allows (${max} days)`,
      });
    }
    // The purpose's limit applies even when the key's own period is (wrongly) longer.
    const periodDays = Math.min(k.rotationPeriodDays, max);
    const due = Date.parse(nextRotationAt({ ...k, rotationPeriodDays: periodDays }).toISOString());
    if (now.getTime() > due + grace) {
      violations.push({
        ...about,
        code: 'ROTATION_OVERDUE',
        version: k.primaryVersion,
        dueAt: new Date(due).toISOString(),
        message: `primary v${k.primaryVersion} since ${k.primarySince} is ${days(now.getTime() - due)} overdue for rotation${view.state.status === 'Disabled' ? ' (the primary version is disabled: rotate by hand after enabling it)' : ''}`,
      });
    }
    for (const v of k.versions) {
      if (v.version === k.primaryVersion) continue;
      if (v.state === 'DESTROY_SCHEDULED' && v.destroyAt && now.getTime() > Date.parse(v.destroyAt) + grace) {
        violations.push({
          ...about,
          code: 'DESTRUCTION_OVERDUE',
          version: v.version,
          dueAt: v.destroyAt,
          message: `v${v.version} was due for destruction at ${v.destroyAt} and still exists`,
        });
      }
      const retiredAt = view.retiredAt[v.version];
      const rule = retention[k.purpose];
      if ((v.state === 'ENABLED' || v.state === 'DISABLED') && retiredAt !== undefined && rule.kind === 'days') {
        const end = Date.parse(retiredAt) + rule.days * DAY_MS;
        if (now.getTime() > end + grace) {
          violations.push({
            ...about,
            code: 'RETENTION_EXCEEDED',
            version: v.version,
            dueAt: new Date(end).toISOString(),
            message: `v${v.version} retired at ${retiredAt} is kept ${days(now.getTime() - end)} beyond its ${rule.days}-day retention`,
          });
        }
      }
    }
  }
  violations.sort((a, b) => a.keyId.localeCompare(b.keyId) || (a.version ?? 0) - (b.version ?? 0) || a.code.localeCompare(b.code));
  return { checkedAt: now.toISOString(), keys: keyCount, versions: versionCount, violations };
}

/** The report as the text the policy check command prints. */
export function formatPolicyReport(report: PolicyReport): string {
  const head = `rotation policy check at ${report.checkedAt}: ${report.keys} keys, ${report.versions} versions`;
  if (report.violations.length === 0) return `${head}: OK, no violations`;
  const lines = report.violations.map(
    (v) => `  ${v.code} ${v.keyId} (${v.tenant}/${v.name}, ${v.purpose}${v.version !== undefined ? `, v${v.version}` : ''}): ${v.message}`,
  );
  return [`${head}: ${report.violations.length} violation(s)`, ...lines].join('\n');
}
