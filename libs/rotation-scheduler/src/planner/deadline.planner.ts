import { confirmationDeadline, DAY_MS, type KeyPurpose, nextRotationAt, pendingDependents } from '@kms/domain';
import type { ScheduledKey } from './scheduled-key.projection';

/** Retired root tenant and service envelope versions are kept this long (policy "Retention and Retirement"). */
export const RETENTION_DAYS = 365;

/**
 * How long a retired (no longer primary) version of each purpose is kept before its destruction is
 * scheduled. `dependents`: as soon as nothing depends on it any more (DATA_PROTECTION): the deadline is
 * due at retirement, and the job holds it while the key service still counts ciphertexts under the
 * version (see runDeadline).
 */
export type RetentionRule = { kind: 'days'; days: number } | { kind: 'dependents' };

export const DEFAULT_RETENTION: Readonly<Record<KeyPurpose, RetentionRule>> = {
  ROOT_TENANT: { kind: 'days', days: RETENTION_DAYS },
  SERVICE_ENVELOPE: { kind: 'days', days: RETENTION_DAYS },
  // "Retain data protection keys until all ciphertext ... has been re-keyed".
  DATA_PROTECTION: { kind: 'dependents' },
  // "Validation that old packages are destroyed is required": an old break-glass package goes as soon as it is re-sealed.
  BREAK_GLASS: { kind: 'days', days: 0 },
};

export interface PlannerOptions {
  retention?: Readonly<Record<KeyPurpose, RetentionRule>>;
}

interface DeadlineBase {
  keyId: string;
  version: number;
  /** ISO-8601 time the action is due. */
  dueAt: string;
}

/** One thing the scheduler must do at a given time. */
export type Deadline =
  /** Rotate: `version` is the primary that becomes too old (break-glass keys: their 30-day re-sealing). */
  | (DeadlineBase & { kind: 'rotate'; purpose: KeyPurpose })
  /** Schedule destruction of a retired version whose retention ended. */
  | (DeadlineBase & { kind: 'retire'; retiredAt: string })
  /** Destroy a DESTROY_SCHEDULED version at its destroyAt, or an imported version at its expiry (BYOK). */
  | (DeadlineBase & { kind: 'destroy' })
  /** The confirmation window of primary `version` ends with dependents still pending: raise the alert. */
  | (DeadlineBase & { kind: 'confirm' })
  /**
   * Break-glass escrow: settle the destruction declarations of superseded `version`'s ceremony
   * (SettleEscrowDeclarations): at once when every custodian declared (the version is destroyed),
   * at declareBy otherwise (the overdue alert).
   */
  | (DeadlineBase & { kind: 'escrow'; ceremonyId: string });

export type DeadlineKind = Deadline['kind'];

/**
 * Deterministic job id of a deadline: the same deadline always maps to the same id, so adding it twice
 * is a no-op. A rotation's id names the primary version, so a rotation by hand makes a new deadline.
 */
export function deadlineJobId(d: Pick<Deadline, 'kind' | 'keyId' | 'version'>): string {
  return `${d.kind}:${d.keyId}:v${d.version}`;
}

function addDays(iso: string, days: number): string {
  return new Date(Date.parse(iso) + days * DAY_MS).toISOString();
}

/** Deadlines of one key, ordered by due time then job id. Pure: time is not read, only compared later. */
export function planKeyDeadlines(key: ScheduledKey, options: PlannerOptions = {}): Deadline[] {
  const retention = options.retention ?? DEFAULT_RETENTION;
  const k = key.state.key;
  const out: Deadline[] = [];
  // A disabled primary cannot be rotated (KEY_DISABLED): a person must act; the policy check reports it.
  if (key.state.status === 'Enabled') {
    out.push({ kind: 'rotate', keyId: k.keyId, version: k.primaryVersion, purpose: k.purpose, dueAt: nextRotationAt(k).toISOString() });
  }
  // Nothing older is retired while a registered dependent has not confirmed the primary: the key
  // service would refuse (DEPENDENTS_NOT_CONFIRMED), and the confirmation event re-plans the key.
  const awaitingConfirmation = pendingDependents(k).length > 0;
  if (awaitingConfirmation && k.confirmationsOverdueReported !== k.primaryVersion) {
    out.push({ kind: 'confirm', keyId: k.keyId, version: k.primaryVersion, dueAt: confirmationDeadline(k).toISOString() });
  }
  for (const [version, ceremony] of Object.entries(key.escrow ?? {})) {
    if (ceremony.status !== 'SUPERSEDED') continue;
    const allIn = ceremony.custodians.every((c) => ceremony.declared.includes(c));
    const dueAt = allIn ? ceremony.lastDeclaredAt : ceremony.overdueRaised ? null : ceremony.declareBy;
    if (dueAt) out.push({ kind: 'escrow', keyId: k.keyId, version: Number(version), ceremonyId: ceremony.ceremonyId, dueAt });
  }
  for (const v of k.versions) {
    // An imported version goes at its expiry, the primary too (its key is then disabled until a new import or rotation).
    if (v.expiresAt && v.state !== 'DESTROYED') {
      const dueAt = v.state === 'DESTROY_SCHEDULED' && v.destroyAt && v.destroyAt < v.expiresAt ? v.destroyAt : v.expiresAt;
      out.push({ kind: 'destroy', keyId: k.keyId, version: v.version, dueAt });
      continue;
    }
    if (v.version === k.primaryVersion) continue;
    // An escrowed version is destroyed by its escrow, once every custodian declared their package destroyed.
    if (key.escrow?.[v.version]) continue;
    if (v.state === 'DESTROY_SCHEDULED' && v.destroyAt) {
      out.push({ kind: 'destroy', keyId: k.keyId, version: v.version, dueAt: v.destroyAt });
      continue;
    }
    if (v.state !== 'ENABLED' && v.state !== 'DISABLED') continue;
    const retiredAt = key.retiredAt[v.version];
    if (retiredAt === undefined || awaitingConfirmation) continue;
    const rule = retention[k.purpose];
    const dueAt = rule.kind === 'days' ? addDays(retiredAt, rule.days) : retiredAt;
    out.push({ kind: 'retire', keyId: k.keyId, version: v.version, retiredAt, dueAt });
  }
  return out.sort(byDue);
}

/** Deadlines of every key, ordered by due time then job id. */
export function planDeadlines(keys: Iterable<ScheduledKey>, options: PlannerOptions = {}): Deadline[] {
  const out: Deadline[] = [];
  for (const key of keys) out.push(...planKeyDeadlines(key, options));
  return out.sort(byDue);
}

function byDue(a: Deadline, b: Deadline): number {
  return a.dueAt.localeCompare(b.dueAt) || deadlineJobId(a).localeCompare(deadlineJobId(b));
}

/** Milliseconds until the deadline is due at `now`; 0 when it is due or overdue. */
export function delayUntil(d: Pick<Deadline, 'dueAt'>, now: Date): number {
  return Math.max(0, Date.parse(d.dueAt) - now.getTime());
}
