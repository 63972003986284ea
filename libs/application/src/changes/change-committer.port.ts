import type { AppendResult, StreamWrite } from '@kms/event-store';
import type { AuditRecord } from '../ports/audit-log.port';

/** What a call answered, kept so a retry with the same request id gets the same answer. */
export type RecordedOutcome =
  | { kind: 'response'; response: string }
  | { kind: 'error'; code: string; message: string; field?: string; facts?: Record<string, string> }
  /** The answer held a secret shown once (a new credential): never stored, so a retry cannot get it again. */
  | { kind: 'secret'; operation: string };

/** The first outcome of a call made with a client request id (kept at least 24 hours). */
export interface IdempotencyEntry {
  actor: string;
  requestId: string;
  operation: string;
  /** SHA-256 of the operation and its canonical request: a reused id with another request is refused. */
  requestHash: string;
  outcome: RecordedOutcome;
  auditRecordId: string;
  createdAt: Date;
  /** True when the entry belongs to a change whose audit intent is not completed yet (outcome not known). */
  pending?: boolean;
}

/** A call's change: its events, its audit record, and its idempotency entry, durable together. */
export interface Change {
  writes: StreamWrite[];
  audit: AuditRecord;
  idempotency?: IdempotencyEntry;
}

/** Raised by commit when another call with the same actor and request id committed first. */
export class DuplicateRequestError extends Error {
  override readonly name = 'DuplicateRequestError';
  constructor(
    readonly actor: string,
    readonly requestId: string,
  ) {
    super(`request id ${requestId} of ${actor} was already used by a committed call`);
  }
}

/**
 * Makes a change durable: its events and its audit record (and idempotency entry) are committed
 * together, or none of them is. Throws WrongExpectedVersionError when a stream moved meanwhile,
 * DuplicateRequestError for a request id already committed, and any other error when the store is
 * unavailable (nothing committed).
 *
 * Adapters: one PostgreSQL transaction when events and audit share a database; otherwise a durable
 * audit intent before the append, completed after it (AuditIntentCommitter).
 */
export interface ChangeCommitter {
  commit(change: Change): Promise<AppendResult[]>;
}

/**
 * Raised by a committer that appended part of a change and then failed (stores without shared
 * transactions): the change must not be retried, and what did commit is reconciled from its intent.
 */
export class PartialChangeError extends Error {
  override readonly name = 'PartialChangeError';
  constructor(
    readonly committedStreams: string[],
    override readonly cause: unknown,
  ) {
    super(`only ${committedStreams.join(', ')} of the change were appended before a failure`);
  }
}

/** Looks up the first outcome of a call by its actor and client request id (pending ones included). */
export interface IdempotencyStore {
  find(actor: string, requestId: string): Promise<IdempotencyEntry | undefined>;
  /** Forget entries created before `before` (they are kept at least 24 hours). Returns how many. */
  prune(before: Date): Promise<number>;
}

/** How long a client request id is remembered, at least. */
export const IDEMPOTENCY_RETENTION_HOURS = 48;

/** Metadata key carrying the audit record id on every event of a change: the link auditors follow. */
export const AUDIT_RECORD_ID = 'auditRecordId';
