import type { Algorithm, KeyPurpose } from '@kms/domain';

/** CloudEvents `type` of every notice the KMS emits; the `.v1` suffix changes only on breaking schema changes. */
export const NOTICE_TYPES = {
  keyRotated: 'kms.key.rotated.v1',
  keyVersionCompromised: 'kms.key.version-compromised.v1',
  keyVersionDestructionScheduled: 'kms.key.version-destruction-scheduled.v1',
  keyVersionDestructionCancelled: 'kms.key.version-destruction-cancelled.v1',
  keyVersionDestroyed: 'kms.key.version-destroyed.v1',
  confirmationsOverdue: 'kms.key.confirmations-overdue.v1',
  /** A break-glass reseal's destruction declarations were not all in by the deadline (urgent). */
  escrowDeclarationsOverdue: 'kms.key.escrow-declarations-overdue.v1',
  approvalRequested: 'kms.approval.requested.v1',
  approvalGranted: 'kms.approval.granted.v1',
  approvalRejected: 'kms.approval.rejected.v1',
  approvalExpired: 'kms.approval.expired.v1',
  approvalExecuted: 'kms.approval.executed.v1',
  integrityViolation: 'kms.integrity.violation.v1',
} as const;

export type KeyNoticeType =
  | typeof NOTICE_TYPES.keyRotated
  | typeof NOTICE_TYPES.keyVersionCompromised
  | typeof NOTICE_TYPES.keyVersionDestructionScheduled
  | typeof NOTICE_TYPES.keyVersionDestructionCancelled
  | typeof NOTICE_TYPES.keyVersionDestroyed
  | typeof NOTICE_TYPES.confirmationsOverdue
  | typeof NOTICE_TYPES.escrowDeclarationsOverdue;

export type ApprovalNoticeType =
  | typeof NOTICE_TYPES.approvalRequested
  | typeof NOTICE_TYPES.approvalGranted
  | typeof NOTICE_TYPES.approvalRejected
  | typeof NOTICE_TYPES.approvalExpired
  | typeof NOTICE_TYPES.approvalExecuted;

export type IntegrityNoticeType = typeof NOTICE_TYPES.integrityViolation;

export type NoticeType = KeyNoticeType | ApprovalNoticeType | IntegrityNoticeType;

/** Default topic; configurable (KMS_NOTICES_TOPIC). */
export const DEFAULT_NOTICE_TOPIC = 'kms.key-lifecycle.v1';

/** `data` of a key lifecycle notice. */
export interface KeyNoticeData {
  keyId: string;
  tenant: string;
  purpose: KeyPurpose;
  algorithm: Algorithm;
  /** The version the notice is about: the new primary for rotations. */
  version: number;
  /** Rotations: the primary before this one (null for a key's first version). */
  previousVersion: number | null;
  /** Hex SHA-256 of the DER SubjectPublicKeyInfo, for asymmetric keys. */
  publicKeyFingerprint: string | null;
  /** ISO-8601 time the change took effect (the event's decision time). */
  effectiveAt: string;
  /** Rotation reason (SCHEDULED, MANUAL, COMPROMISE, ...), or the event kind for other changes. */
  reason: string;
  /** True for compromise: consumers must act at once. */
  urgent: boolean;
  /** Rotations: when every registered dependent must have confirmed the new version. */
  confirmBy: string | null;
  /** Destruction scheduled: when the version's material will be destroyed. */
  destroyAt: string | null;
  /** Who made the change (identity id) and the approval that allowed it, if any. */
  actor: string;
  approvalId: string | null;
  /** Confirmations overdue: the dependents that had not confirmed `version` by `confirmBy`; null otherwise. */
  pendingDependents: Array<{ dependentId: string; name: string }> | null;
}

/** `data` of an approval (dual authorization) notice. */
export interface ApprovalNoticeData {
  approvalId: string;
  operation: string;
  /** Key or identity the operation targets. */
  targetId: string;
  /** Tenant of the target key; null when the target is not a key. */
  tenant: string | null;
  requester: string;
  /** Who caused this step (requester, approver, rejecter, or the system for expiry). */
  actor: string;
  changeTicket: string;
  expiresAt: string;
  effectiveAt: string;
  /** Executed: SUCCEEDED or FAILED; null otherwise. */
  outcome: 'SUCCEEDED' | 'FAILED' | null;
  errorCode: string | null;
  urgent: false;
}

interface NoticeBase {
  /** The store event id: identical on every redelivery, so consumers deduplicate by it. */
  id: string;
  /** CloudEvents `source` (the KMS instance). */
  source: string;
  /** CloudEvents `subject`: the key id (or an approval's target). Also the Kafka message key. */
  subject: string;
  /** CloudEvents `time`: when the store recorded the event. */
  time: string;
  /** Global position of the event in the store (`GET /v1/notices?after=` pages by it). */
  position: bigint;
  urgent: boolean;
}

/**
 * `data` of an integrity alarm: a row of the event store or audit trail the KMS did not write, edited,
 * moved or missing, or a ledger that no longer matches its source. Names the record, never its data.
 */
export interface IntegrityNoticeData {
  /** The alarm id: the same violation found by two processes has the same id (and notice id). */
  alarmId: string;
  source: 'events' | 'audit_records' | 'ledger';
  position: string | null;
  recordId: string | null;
  streamId: string | null;
  streamVersion: number | null;
  problem: string;
  /** The process that found it. */
  detectedBy: string;
  detectedAt: string;
  tenant: null;
  urgent: true;
}

export type KeyNotice = NoticeBase & { type: KeyNoticeType; data: KeyNoticeData };
export type ApprovalNotice = NoticeBase & { type: ApprovalNoticeType; data: ApprovalNoticeData };

export type IntegrityNotice = NoticeBase & { type: IntegrityNoticeType; data: IntegrityNoticeData; urgent: true };

/** One notice, before it is encoded as a CloudEvent. */
export type Notice = KeyNotice | ApprovalNotice | IntegrityNotice;
