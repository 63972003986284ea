export type AuditOutcome = 'SUCCESS' | 'FAILURE' | 'DENIED';

/**
 * One audited call. Never contains plaintext, key material or ciphertext; at most sizes and a
 * ciphertext's key/version, which are not secret.
 */
export interface AuditRecord {
  /** UUID of the record. */
  id: string;
  time: Date;
  /** Caller-supplied x-request-id, or one the service generated. */
  requestId: string;
  /** RPC name, e.g. "Encrypt". */
  operation: string;
  keyId?: string;
  keyVersion?: number;
  actor: string;
  /** Role or kind of caller, when known. */
  actorRole?: string;
  outcome: AuditOutcome;
  /** KmsError code (or UNAUTHENTICATED / PERMISSION_DENIED) when outcome is not SUCCESS. */
  errorCode?: string;
  sourceAddress?: string;
  /** Non-secret facts: sizes, item counts, batch index. */
  details?: Record<string, string | number | boolean>;
  /** Ciphertexts the call handed out or took back under DATA_PROTECTION keys (by reference). */
  ciphertexts?: CiphertextTracking;
  /**
   * A batch call's items, in batch order (see batch-audit-record.ts): one record, one commit for the
   * whole call, while every item keeps its own id, outcome, key and ciphertext references.
   */
  items?: AuditRecordItem[];
}

/**
 * One item of a batch call, inside the call's record: what the record of a single call would say
 * about it, under its own id, so the item stays addressable (ledger leaf, inclusion proof, evidence).
 */
export interface AuditRecordItem {
  /** UUID of the item: the id its expanded record carries downstream. */
  id: string;
  /** Its place in the request (0-based). */
  batchIndex: number;
  outcome: AuditOutcome;
  errorCode?: string;
  keyId?: string;
  keyVersion?: number;
  /** Non-secret facts about this item (sizes, references). */
  details?: Record<string, string | number | boolean>;
  /** Applied per item by the audit log, in the commit of the call's record. */
  ciphertexts?: CiphertextTracking;
}

/**
 * What a successful call did with ciphertexts of DATA_PROTECTION keys, by reference (the first 16
 * bytes of a ciphertext's SHA-256, hex): applied by the audit log in the same commit as the record.
 */
export interface CiphertextTracking {
  /** A ciphertext handed out, and the version that holds it from now on. */
  handedOut?: { ref: string; keyId: string; version: number };
  /** A ciphertext taken in and re-encrypted away: released from its version. */
  released?: string;
}

/** One group commit of an audit log, as its observers see it (PostgresAuditLog.observeFlushes; /metrics). */
export interface AuditFlush {
  /** From the flush's start (its rows taken from the queue) to its commit or failure. */
  seconds: number;
  /** Rows the flush wrote (a batch call's record is one row). */
  rows: number;
  committed: boolean;
}

/**
 * Durable audit log. `append` resolves only once the record is durable; it rejects when it cannot be
 * made durable, and the caller must then refuse the operation (fail closed).
 */
export interface AuditLog {
  append(record: AuditRecord): Promise<void>;
  /** Several records made durable together (one commit). */
  appendMany(records: AuditRecord[]): Promise<void>;
}

export const AUDIT_LOG = Symbol('AUDIT_LOG');

/** Time source. Injected everywhere so tests can move time. */
export interface Clock {
  now(): Date;
}
export const CLOCK = Symbol('CLOCK');

export const systemClock: Clock = { now: () => new Date() };

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  constructor(private current: Date) {}
  now(): Date {
    return new Date(this.current.getTime());
  }
  set(d: Date): void {
    this.current = new Date(d.getTime());
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}
