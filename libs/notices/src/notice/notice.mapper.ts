import {
  type Algorithm,
  type ApprovalRequested,
  APPROVAL_STREAM_PREFIX,
  approvalEventCodec,
  DAY_MS,
  ESCROW_CEREMONY_STREAM_PREFIX,
  escrowCeremonyEventCodec,
  type EventMetadata,
  KEY_STREAM_PREFIX,
  keyEventCodec,
  type KeyPurpose,
} from '@kms/domain';
import type { StoredEvent } from '@kms/event-store';
import { type ApprovalNotice, type ApprovalNoticeData, type ApprovalNoticeType, type KeyNotice, type KeyNoticeData, type KeyNoticeType, type Notice, NOTICE_TYPES } from './notice.model';

export interface NoticeMapperOptions {
  /** CloudEvents `source` of every notice, e.g. `/open-kms/eu-west-1`. */
  source: string;
  /** How long dependents have to confirm a new primary version. Default 24 h (policy: partners within 24 hours). */
  confirmWithinMs?: number;
}

interface KeyFacts {
  tenant: string;
  purpose: KeyPurpose;
  algorithm: Algorithm;
  fingerprints: Map<number, string>;
}

type ApprovalFacts = Pick<ApprovalRequested['data'], 'operation' | 'targetId' | 'requester' | 'changeTicket' | 'expiresAt'>;


/**
 * Turns store events into notices. Keeps the little per-key and per-approval state a notice needs but
 * its event does not carry (tenant, purpose, the fingerprint from KeyVersionCreated, an approval's
 * target), so it must see every event from the start of the store, in order.
 */
export class NoticeMapper {
  private readonly keys = new Map<string, KeyFacts>();
  private readonly approvals = new Map<string, ApprovalFacts>();
  private readonly confirmWithinMs: number;

  constructor(private readonly options: NoticeMapperOptions) {
    this.confirmWithinMs = options.confirmWithinMs ?? DAY_MS;
  }

  /** Fold the event into the state and return its notice, or null when it is not one partners get. */
  apply(e: StoredEvent): Notice | null {
    if (e.streamId.startsWith(KEY_STREAM_PREFIX)) return this.applyKeyEvent(e);
    if (e.streamId.startsWith(APPROVAL_STREAM_PREFIX)) return this.applyApprovalEvent(e);
    if (e.streamId.startsWith(ESCROW_CEREMONY_STREAM_PREFIX)) return this.applyEscrowEvent(e);
    return null;
  }

  /** Break-glass escrow: a reseal whose custodians did not all declare their old package destroyed in time. */
  private applyEscrowEvent(stored: StoredEvent): KeyNotice | null {
    if (stored.type !== 'EscrowDeclarationOverdue' || !escrowCeremonyEventCodec.accepts(stored.type)) return null;
    const e = escrowCeremonyEventCodec.parse(stored);
    if (e.type !== 'EscrowDeclarationOverdue') return null;
    return this.keyNotice(
      stored,
      NOTICE_TYPES.escrowDeclarationsOverdue,
      e.data.keyId,
      e.data.version,
      {
        reason: 'ESCROW_DECLARATIONS_OVERDUE',
        urgent: true,
        confirmBy: e.data.declareBy,
        pendingDependents: e.data.pending.map((custodianId) => ({ dependentId: custodianId, name: `escrow custodian ${custodianId}` })),
      },
      e.metadata,
    );
  }

  private applyKeyEvent(stored: StoredEvent): KeyNotice | null {
    if (!keyEventCodec.accepts(stored.type)) return null;
    const e = keyEventCodec.parse(stored);
    const meta = e.metadata;
    switch (e.type) {
      case 'KeyCreated': {
        const d = e.data;
        this.keys.set(d.keyId, { tenant: d.tenant, purpose: d.purpose, algorithm: d.algorithm, fingerprints: new Map() });
        return null;
      }
      case 'KeyVersionCreated': {
        const d = e.data;
        if (d.publicKeyFingerprint) this.keys.get(d.keyId)?.fingerprints.set(d.version, d.publicKeyFingerprint);
        return null;
      }
      case 'PrimaryVersionChanged': {
        const d = e.data;
        const urgent = d.reason === 'COMPROMISE';
        const confirmBy = new Date(Date.parse(meta.occurredAt) + this.confirmWithinMs).toISOString();
        return this.keyNotice(stored, NOTICE_TYPES.keyRotated, d.keyId, d.version, {
          previousVersion: d.previousVersion,
          reason: d.reason,
          urgent,
          confirmBy,
        });
      }
      case 'KeyVersionCompromised': {
        const d = e.data;
        return this.keyNotice(stored, NOTICE_TYPES.keyVersionCompromised, d.keyId, d.version, { reason: 'COMPROMISE', urgent: true });
      }
      case 'KeyVersionDestructionScheduled': {
        const d = e.data;
        return this.keyNotice(stored, NOTICE_TYPES.keyVersionDestructionScheduled, d.keyId, d.version, {
          reason: 'DESTRUCTION_SCHEDULED',
          destroyAt: d.destroyAt,
        });
      }
      case 'KeyVersionDestructionCancelled': {
        const d = e.data;
        return this.keyNotice(stored, NOTICE_TYPES.keyVersionDestructionCancelled, d.keyId, d.version, { reason: 'DESTRUCTION_CANCELLED' });
      }
      case 'KeyVersionDestroyed': {
        const d = e.data;
        return this.keyNotice(stored, NOTICE_TYPES.keyVersionDestroyed, d.keyId, d.version, { reason: 'DESTROYED' });
      }
      case 'DependentConfirmationsOverdue': {
        // An alert: dependents still run on old material after the window the policy allows.
        const d = e.data;
        return this.keyNotice(stored, NOTICE_TYPES.confirmationsOverdue, d.keyId, d.version, {
          reason: 'CONFIRMATIONS_OVERDUE',
          urgent: true,
          confirmBy: d.confirmBy,
          pendingDependents: d.pending.map((p) => ({ dependentId: p.dependentId, name: p.name })),
        });
      }
      default:
        return null;
    }
  }

  private keyNotice(
    e: StoredEvent,
    type: KeyNoticeType,
    keyId: string,
    version: number,
    extra: Partial<Pick<KeyNoticeData, 'previousVersion' | 'reason' | 'urgent' | 'confirmBy' | 'destroyAt' | 'pendingDependents'>>,
    metadata?: EventMetadata,
  ): KeyNotice | null {
    const facts = this.keys.get(keyId);
    // A key event without its KeyCreated cannot come from a well-formed store; there is nothing to say about it.
    if (!facts) return null;
    const meta = metadata ?? keyEventCodec.parse(e).metadata;
    const urgent = extra.urgent ?? false;
    const data: KeyNoticeData = {
      keyId,
      tenant: facts.tenant,
      purpose: facts.purpose,
      algorithm: facts.algorithm,
      version,
      previousVersion: extra.previousVersion ?? null,
      publicKeyFingerprint: facts.fingerprints.get(version) ?? null,
      effectiveAt: meta.occurredAt,
      reason: extra.reason ?? 'UNSPECIFIED',
      urgent,
      confirmBy: extra.confirmBy ?? null,
      destroyAt: extra.destroyAt ?? null,
      actor: meta.actor,
      approvalId: meta.approvalId ?? null,
      pendingDependents: extra.pendingDependents ?? null,
    };
    return { ...this.envelope(e, keyId, urgent), type, data };
  }

  private applyApprovalEvent(stored: StoredEvent): ApprovalNotice | null {
    if (!approvalEventCodec.accepts(stored.type)) return null;
    const e = approvalEventCodec.parse(stored);
    const meta: EventMetadata = e.metadata;
    const approvalId = e.data.approvalId;
    if (typeof approvalId !== 'string') return null;
    let type: ApprovalNoticeType;
    let outcome: ApprovalNoticeData['outcome'] = null;
    let errorCode: string | null = null;
    switch (e.type) {
      case 'ApprovalRequested': {
        const d: ApprovalRequested['data'] = e.data;
        this.approvals.set(approvalId, {
          operation: d.operation,
          targetId: d.targetId,
          requester: d.requester,
          changeTicket: d.changeTicket,
          expiresAt: d.expiresAt,
        });
        type = NOTICE_TYPES.approvalRequested;
        break;
      }
      case 'ApprovalGranted':
        type = NOTICE_TYPES.approvalGranted;
        break;
      case 'ApprovalRejected':
        type = NOTICE_TYPES.approvalRejected;
        break;
      case 'ApprovalExpired':
        type = NOTICE_TYPES.approvalExpired;
        break;
      case 'ApprovedOperationExecuted': {
        const d = e.data;
        outcome = d.outcome;
        errorCode = d.errorCode ?? null;
        type = NOTICE_TYPES.approvalExecuted;
        break;
      }
      default:
        return null;
    }
    const facts = this.approvals.get(approvalId);
    if (!facts) return null;
    const data: ApprovalNoticeData = {
      approvalId,
      operation: facts.operation,
      targetId: facts.targetId,
      tenant: this.keys.get(facts.targetId)?.tenant ?? null,
      requester: facts.requester,
      actor: meta.actor,
      changeTicket: facts.changeTicket,
      expiresAt: facts.expiresAt,
      effectiveAt: meta.occurredAt,
      outcome,
      errorCode,
      urgent: false,
    };
    // Keyed by the target so an approval's notices stay in order with the key's own notices.
    return { ...this.envelope(stored, facts.targetId, false), type, data };
  }

  private envelope(e: StoredEvent, subject: string, urgent: boolean): Omit<Notice, 'type' | 'data'> {
    return { id: e.id, source: this.options.source, subject, time: e.recordedAt.toISOString(), position: e.globalPosition, urgent };
  }
}
