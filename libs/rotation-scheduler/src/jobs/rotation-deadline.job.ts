import type { Clock } from '@kms/application';
import { deadlineJobId, type Deadline } from '../planner/deadline.planner';
import { type KeyServicePort, KeyServiceRefusal } from '../gateway/key-service.port';

/**
 * What running a deadline did. `not-due`: run again at `dueAt` (the job fired early, or the deadline
 * moved). `held`: due, but something still depends on the version; look again at `until`.
 */
export type DeadlineOutcome =
  | { status: 'done'; detail: string }
  | { status: 'skipped'; detail: string }
  | { status: 'not-due'; dueAt: string; detail: string }
  | { status: 'held'; until: string; detail: string };

/**
 * Extension point for dependent confirmation: asked before a retired version's destruction is
 * scheduled. The default lets everything through (ROOT_TENANT / SERVICE_ENVELOPE retention is by time).
 */
export interface RetirementGuard {
  mayRetire(keyId: string, version: number): Promise<{ allowed: true } | { allowed: false; reason: string }>;
}

export const allowAllRetirements: RetirementGuard = { mayRetire: async () => ({ allowed: true }) };

export interface DeadlineJobSettings {
  /** destroy_after_days passed with ScheduleKeyVersionDestruction: the waiting period before destruction. */
  destroyAfterDays: number;
  retirementGuard?: RetirementGuard;
  /** How long a retirement held by outstanding ciphertexts waits before it looks again. Default 1 h. */
  holdRecheckMs?: number;
}

export const DEFAULT_HOLD_RECHECK_MS = 3_600_000;

/**
 * FAILED_PRECONDITION answers meaning the work is already done or can no longer be done by a
 * scheduler (someone acted meanwhile): the job ends instead of retrying.
 */
const SETTLED: Readonly<Record<Deadline['kind'], ReadonlySet<string>>> = {
  rotate: new Set(['KEY_DISABLED']),
  retire: new Set(['KEY_VERSION_DESTROY_SCHEDULED', 'KEY_VERSION_DESTROYED', 'PRIMARY_VERSION_PROTECTED']),
  destroy: new Set(['KEY_VERSION_DESTROYED', 'ILLEGAL_TRANSITION']),
  confirm: new Set(),
  // The ceremony is no longer superseded (already destroyed): someone settled it meanwhile.
  escrow: new Set(['ILLEGAL_TRANSITION']),
};

function isSettled(kind: Deadline['kind'], e: unknown): e is KeyServiceRefusal {
  return e instanceof KeyServiceRefusal && e.status === 'FAILED_PRECONDITION' && e.errorCode !== undefined && SETTLED[kind].has(e.errorCode);
}

/**
 * Run one deadline against the key service: re-read the key, act only if the deadline still holds,
 * and treat "already done" refusals as done. Other errors are thrown for the queue to retry.
 */
export async function runDeadline(deadline: Deadline, keys: KeyServicePort, clock: Clock, settings: DeadlineJobSettings): Promise<DeadlineOutcome> {
  const id = deadlineJobId(deadline);
  const now = clock.now().getTime();
  const key = await keys.getKey(deadline.keyId);
  const version = key.versions.find((v) => v.version === deadline.version);
  try {
    switch (deadline.kind) {
      case 'rotate': {
        if (key.primaryVersion !== deadline.version) return { status: 'skipped', detail: `already rotated: primary is v${key.primaryVersion}` };
        if (!key.enabled) return { status: 'skipped', detail: 'the primary version is not enabled; a person must act' };
        // The key service's own next_rotation_time wins over the plan (the period may have changed).
        if (Date.parse(key.nextRotationAt) > now) return { status: 'not-due', dueAt: key.nextRotationAt, detail: 'rotation not due yet' };
        const after = await keys.rotateKey(deadline.keyId, `scheduled rotation (${id})`);
        return { status: 'done', detail: `rotated: v${deadline.version} -> v${after.primaryVersion}` };
      }
      case 'retire': {
        if (!version || (version.state !== 'ENABLED' && version.state !== 'DISABLED')) {
          return { status: 'skipped', detail: `v${deadline.version} is ${version?.state ?? 'missing'}` };
        }
        if (key.primaryVersion === deadline.version) return { status: 'skipped', detail: `v${deadline.version} is the primary again` };
        if (Date.parse(deadline.dueAt) > now) return { status: 'not-due', dueAt: deadline.dueAt, detail: 'retention not over yet' };
        // DATA_PROTECTION: kept until everything handed out under it was re-encrypted (policy).
        if (key.purpose === 'DATA_PROTECTION' && version.outstandingCiphertexts > 0) {
          const until = new Date(now + (settings.holdRecheckMs ?? DEFAULT_HOLD_RECHECK_MS)).toISOString();
          return { status: 'held', until, detail: `${version.outstandingCiphertexts} ciphertext(s) still under v${deadline.version}; re-encrypt them to release it` };
        }
        const guard = await (settings.retirementGuard ?? allowAllRetirements).mayRetire(deadline.keyId, deadline.version);
        if (!guard.allowed) return { status: 'skipped', detail: `retirement held: ${guard.reason}` };
        const after = await keys.scheduleDestruction(deadline.keyId, deadline.version, settings.destroyAfterDays, `retention ended (${id})`);
        const destroyAt = after.versions.find((v) => v.version === deadline.version)?.destroyAt;
        return { status: 'done', detail: `destruction of v${deadline.version} scheduled for ${destroyAt ?? 'unknown'}` };
      }
      case 'destroy': {
        if (version?.expireAt && version.state !== 'DESTROYED' && Date.parse(version.expireAt) <= now) {
          await keys.destroyVersion(deadline.keyId, deadline.version, `imported version expired (${id})`);
          return { status: 'done', detail: `imported v${deadline.version} expired at ${version.expireAt}: destroyed` };
        }
        if (version?.expireAt && version.state !== 'DESTROY_SCHEDULED' && version.state !== 'DESTROYED') {
          return { status: 'not-due', dueAt: version.expireAt, detail: 'the imported version has not expired yet' };
        }
        if (!version || version.state !== 'DESTROY_SCHEDULED') return { status: 'skipped', detail: `v${deadline.version} is ${version?.state ?? 'missing'}` };
        const destroyAt = version.destroyAt ?? deadline.dueAt;
        if (Date.parse(destroyAt) > now) return { status: 'not-due', dueAt: destroyAt, detail: 'destruction not due yet' };
        await keys.destroyVersion(deadline.keyId, deadline.version, `scheduled destruction (${id})`);
        return { status: 'done', detail: `v${deadline.version} destroyed` };
      }
      case 'confirm': {
        if (key.primaryVersion !== deadline.version) return { status: 'skipped', detail: `v${deadline.version} is no longer the primary` };
        if (Date.parse(deadline.dueAt) > now) return { status: 'not-due', dueAt: deadline.dueAt, detail: 'confirmation window still open' };
        await keys.reportOverdueConfirmations(deadline.keyId, deadline.version, `confirmation window ended (${id})`);
        return { status: 'done', detail: `overdue confirmations of v${deadline.version} reported` };
      }
      case 'escrow': {
        if (Date.parse(deadline.dueAt) > now) return { status: 'not-due', dueAt: deadline.dueAt, detail: 'declaration window still open' };
        const settled = await keys.settleEscrowDeclarations(deadline.keyId, deadline.version, `escrow declarations due (${id})`);
        return settled.pendingDeclarations.length === 0
          ? { status: 'done', detail: `every declaration of ceremony ${deadline.ceremonyId} is in: v${deadline.version} ${settled.status.toLowerCase()}` }
          : { status: 'done', detail: `declarations overdue from ${settled.pendingDeclarations.join(', ')}: alert raised, v${deadline.version} kept` };
      }
      default:
        return assertNever(deadline);
    }
  } catch (e) {
    if (isSettled(deadline.kind, e)) return { status: 'skipped', detail: `settled by the key service: ${e.errorCode}` };
    if (deadline.kind === 'escrow' && e instanceof KeyServiceRefusal && e.errorCode === 'CONFIRMATIONS_NOT_OVERDUE') {
      return { status: 'not-due', dueAt: deadline.dueAt, detail: 'the key service says the declaration window is still open' };
    }
    if (deadline.kind === 'destroy' && e instanceof KeyServiceRefusal && e.errorCode === 'DESTRUCTION_NOT_DUE') {
      return { status: 'not-due', dueAt: version?.destroyAt ?? deadline.dueAt, detail: 'the key service says destruction is not due yet' };
    }
    throw e;
  }
}

function assertNever(x: never): never {
  throw new Error(`unhandled deadline: ${JSON.stringify(x)}`);
}
