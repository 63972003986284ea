import { IDENTITY_TARGETED_OPERATIONS, isUuid } from '@kms/domain';
import type { StoredEvent } from '@kms/event-store';

/** How loud a notification is; a list takes every kind it names at or above its minimum. */
export const NOTIFICATION_SEVERITIES = ['info', 'warning', 'critical'] as const;
export type NotificationSeverity = (typeof NOTIFICATION_SEVERITIES)[number];

/** True when `severity` is at least `minimum`. */
export function atLeast(severity: NotificationSeverity, minimum: NotificationSeverity): boolean {
  return NOTIFICATION_SEVERITIES.indexOf(severity) >= NOTIFICATION_SEVERITIES.indexOf(minimum);
}

/** What a notification says, whatever the channel: built from one store event. Never secrets. */
export interface NotificationFacts {
  /** Kind name, e.g. `approval.requested`; lists subscribe to kinds by name. */
  kind: string;
  severity: NotificationSeverity;
  /** Tenant of the key concerned, when known; lists may be limited to tenants. */
  tenant: string | null;
  /** One line: what happened. */
  title: string;
  sourceEventId: string;
  sourcePosition: bigint;
  /** ISO time of the event. */
  occurredAt: string;
  approvalId?: string;
  operation?: string;
  keyId?: string;
  requester?: string;
  approver?: string;
  changeTicket?: string;
  /** Further named facts (outcome, version, dependents, rule...), shown as they are. */
  details: Record<string, string>;
}

interface ApprovalSeen {
  operation: string;
  targetId: string;
  requester: string;
  changeTicket: string;
  expiresAt: string;
  approver?: string;
}

/**
 * What the kinds need to know beyond the event in hand (who asked for an approval, a key's tenant):
 * the relay feeds it every event of the store in order, replayed ones included.
 */
export class NotificationContext {
  private readonly approvals = new Map<string, ApprovalSeen>();
  private readonly tenants = new Map<string, string>();

  /** Remember what later events will need. */
  apply(e: StoredEvent): void {
    const d = e.data;
    if (e.type === 'ApprovalRequested') {
      this.approvals.set(String(d['approvalId']), {
        operation: String(d['operation']),
        targetId: String(d['targetId']),
        requester: String(d['requester']),
        changeTicket: String(d['changeTicket']),
        expiresAt: String(d['expiresAt']),
      });
    } else if (e.type === 'ApprovalGranted') {
      const a = this.approvals.get(String(d['approvalId']));
      if (a) a.approver = String(d['approver']);
    } else if (e.type === 'KeyCreated') {
      this.tenants.set(String(d['keyId']), String(d['tenant']));
    }
  }

  approval(approvalId: string): Readonly<ApprovalSeen> | undefined {
    return this.approvals.get(approvalId);
  }

  tenantOf(keyId: string | undefined): string | null {
    return keyId === undefined ? null : (this.tenants.get(keyId) ?? null);
  }
}

/** The facts a kind contributes; the relay adds kind, severity and the event's identity. */
export type KindFacts = Omit<NotificationFacts, 'kind' | 'severity' | 'sourceEventId' | 'sourcePosition' | 'occurredAt'> & { severity?: NotificationSeverity };

/**
 * One kind of notification: the store event type it reacts to and how it reads that event. To add a
 * kind (break-glass declarations, drills), write one of these and pass it in `NotificationsDependencies.kinds`.
 */
export interface NotificationKind {
  name: string;
  eventType: string;
  /** Default severity; `describe` may raise or lower it per event. */
  severity: NotificationSeverity;
  /** The facts of this event, or null when this event is not worth telling (e.g. a low-severity anomaly). */
  describe(e: StoredEvent, context: NotificationContext): KindFacts | null;
}

function approvalKind(name: string, eventType: string, severity: NotificationSeverity, verb: string, extra: (d: Record<string, unknown>) => Record<string, string> = () => ({})): NotificationKind {
  return {
    name,
    eventType,
    severity,
    describe(e, context) {
      const approvalId = String(e.data['approvalId']);
      const a = context.approval(approvalId);
      if (!a) return null; // an approval whose request is not in this store: nothing to name
      // People's operations target an identity, list changes a list by name, the others a key.
      const onIdentity = (IDENTITY_TARGETED_OPERATIONS as readonly string[]).includes(a.operation);
      const keyId = onIdentity || !isUuid(a.targetId) ? undefined : a.targetId;
      return {
        tenant: context.tenantOf(keyId),
        title: `${a.operation} on ${a.targetId} ${verb}`,
        approvalId,
        operation: a.operation,
        ...(keyId ? { keyId } : {}),
        requester: a.requester,
        ...(a.approver ? { approver: a.approver } : {}),
        changeTicket: a.changeTicket,
        details: { ...(onIdentity ? { identity: a.targetId } : {}), expiresAt: a.expiresAt, ...extra(e.data) },
      };
    },
  };
}

/** The kinds the key service tells people about (issue #17); see docs/notifications.md. */
export const DEFAULT_NOTIFICATION_KINDS: readonly NotificationKind[] = [
  approvalKind('approval.requested', 'ApprovalRequested', 'warning', 'needs a second person'),
  approvalKind('approval.approved', 'ApprovalGranted', 'warning', 'was approved'),
  approvalKind('approval.rejected', 'ApprovalRejected', 'info', 'was rejected', (d) => ({ rejecter: String(d['rejecter']) })),
  approvalKind('approval.expired', 'ApprovalExpired', 'info', 'expired without a second person'),
  approvalKind('approval.executed', 'ApprovedOperationExecuted', 'warning', 'was executed', (d) => ({
    outcome: String(d['outcome']),
    ...(d['errorCode'] ? { errorCode: String(d['errorCode']) } : {}),
  })),
  {
    name: 'key.compromised',
    eventType: 'KeyVersionCompromised',
    severity: 'critical',
    describe: (e, context) => {
      const keyId = String(e.data['keyId']);
      return {
        tenant: context.tenantOf(keyId),
        title: `version ${String(e.data['version'])} of ${keyId} reported compromised`,
        keyId,
        details: { version: String(e.data['version']), actor: String(e.metadata['actor'] ?? '') },
      };
    },
  },
  {
    name: 'anomaly.high',
    eventType: 'AnomalyDetected',
    severity: 'warning',
    describe: (e, context) => {
      const severity = String(e.data['severity']);
      if (severity !== 'high' && severity !== 'critical') return null;
      const keyId = typeof e.data['keyId'] === 'string' ? e.data['keyId'] : undefined;
      return {
        severity: severity === 'critical' ? 'critical' : 'warning',
        tenant: context.tenantOf(keyId),
        title: `anomaly (${String(e.data['rule'])}, ${severity}): ${String(e.data['summary'])}`,
        ...(keyId ? { keyId } : {}),
        details: {
          rule: String(e.data['rule']),
          severity,
          ...(typeof e.data['identityId'] === 'string' ? { identity: e.data['identityId'] } : {}),
          ...(typeof e.data['source'] === 'string' ? { source: e.data['source'] } : {}),
        },
      };
    },
  },
  {
    name: 'confirmations.overdue',
    eventType: 'DependentConfirmationsOverdue',
    severity: 'warning',
    describe: (e, context) => {
      const keyId = String(e.data['keyId']);
      const pending = Array.isArray(e.data['pending']) ? (e.data['pending'] as Array<{ name?: unknown }>) : [];
      return {
        tenant: context.tenantOf(keyId),
        title: `dependents of ${keyId} did not confirm version ${String(e.data['version'])} by ${String(e.data['confirmBy'])}`,
        keyId,
        details: { version: String(e.data['version']), confirmBy: String(e.data['confirmBy']), pending: pending.map((p) => String(p.name)).join(', ') },
      };
    },
  },
  {
    // Policy: old break-glass packages must be proven destroyed; a custodian's missing declaration is urgent.
    name: 'escrow.declarations.overdue',
    eventType: 'EscrowDeclarationOverdue',
    severity: 'critical',
    describe: (e, context) => {
      const keyId = String(e.data['keyId']);
      const pending = Array.isArray(e.data['pending']) ? (e.data['pending'] as unknown[]).map(String) : [];
      return {
        tenant: context.tenantOf(keyId),
        title: `break-glass key ${keyId} version ${String(e.data['version'])}: destruction declarations missing since ${String(e.data['declareBy'])}`,
        keyId,
        details: { version: String(e.data['version']), declareBy: String(e.data['declareBy']), pendingCustodians: pending.join(', '), ceremony: String(e.data['ceremonyId']) },
      };
    },
  },
  {
    // Policy: a restore drill every month, its gaps remediated within 5 business days (docs/backup-and-drills.md).
    name: 'drill.overdue',
    eventType: 'DrillOverdueReported',
    severity: 'critical',
    describe: (e): KindFacts => {
      const d = e.data;
      if (d['subject'] === 'MONTHLY_DRILL') {
        const due = String(d['dueDate']);
        return { tenant: null, title: due === 'none' ? 'no backup-restore drill was ever recorded (monthly drills required)' : `the monthly backup-restore drill was due by ${due}`, details: { dueDate: due } };
      }
      return {
        tenant: null,
        title: `drill follow-up ${String(d['followUpId'])} (${String(d['owner'])}) was due by ${String(d['dueDate'])}: ${String(d['action'])}`,
        details: { drill: String(d['drillId']), followUp: String(d['followUpId']), owner: String(d['owner']), dueDate: String(d['dueDate']) },
      };
    },
  },
];

/** Index kinds by the event type they react to; two kinds of one name are a wiring mistake. */
export function kindsByEventType(kinds: readonly NotificationKind[]): Map<string, NotificationKind[]> {
  const names = new Set<string>();
  const byType = new Map<string, NotificationKind[]>();
  for (const k of kinds) {
    if (names.has(k.name)) throw new Error(`notification kind ${k.name} is defined twice`);
    names.add(k.name);
    byType.set(k.eventType, [...(byType.get(k.eventType) ?? []), k]);
  }
  return byType;
}
