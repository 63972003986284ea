import { KmsError } from '@kms/domain';
import type { AuditLog, AuditRecord } from '../ports/audit-log.port';
import { type OutstandingCiphertexts, type TrackedVersion, trackingChanges } from './ciphertext-tracking';

function copyOf(record: AuditRecord): AuditRecord {
  return {
    ...record,
    time: new Date(record.time.getTime()),
    ...(record.details ? { details: { ...record.details } } : {}),
    ...(record.items ? { items: record.items.map((i) => ({ ...i, ...(i.details ? { details: { ...i.details } } : {}) })) } : {}),
  };
}

/**
 * AuditLog for unit tests: keeps records in memory and can be told to fail, so tests can check that
 * callers refuse the operation when the audit log is unavailable (fail closed).
 */
export class InMemoryAuditLog implements AuditLog, OutstandingCiphertexts {
  private readonly stored: AuditRecord[] = [];
  /** Tracked ciphertext references (see ciphertext-tracking.ts), changed with the records that carry them. */
  private readonly tracked = new Map<string, TrackedVersion>();
  private failuresLeft = 0;
  private available = true;
  private readonly refused = new Set<string>();

  /** Records made "durable", oldest first; copies, so later changes by the caller do not show. */
  get records(): readonly AuditRecord[] {
    return this.stored.map(copyOf);
  }

  async append(record: AuditRecord): Promise<void> {
    this.admit([record]);
    this.stored.push(copyOf(record));
    this.applyTracking([record]);
  }

  /** All records or none, like one commit. */
  async appendMany(records: AuditRecord[]): Promise<void> {
    this.admit(records);
    this.stored.push(...records.map(copyOf));
    this.applyTracking(records);
  }

  async outstanding(keyId: string): Promise<ReadonlyMap<number, number>> {
    const counts = new Map<number, number>();
    for (const t of this.tracked.values()) if (t.keyId === keyId) counts.set(t.version, (counts.get(t.version) ?? 0) + 1);
    return counts;
  }

  private applyTracking(records: readonly AuditRecord[]): void {
    const { track, release } = trackingChanges(records);
    for (const ref of release) this.tracked.delete(ref);
    for (const [ref, at] of track) this.tracked.set(ref, at);
  }

  /** The next `calls` append/appendMany calls reject with AUDIT_UNAVAILABLE and store nothing. */
  failNext(calls = 1): void {
    if (!Number.isInteger(calls) || calls < 0) throw new RangeError('calls must be a whole number, at least 0');
    this.failuresLeft = calls;
  }

  /** While unavailable every call rejects with AUDIT_UNAVAILABLE and stores nothing. */
  setAvailable(available: boolean): void {
    this.available = available;
  }

  /**
   * Every later call holding the record with this id rejects with AUDIT_UNAVAILABLE and stores nothing,
   * as when the database refuses one row of a transaction (a constraint): appendMany stays atomic.
   */
  refuseRecord(id: string): void {
    this.refused.add(id);
  }

  /** Forget stored records and pending failures. */
  clear(): void {
    this.stored.length = 0;
    this.tracked.clear();
    this.failuresLeft = 0;
    this.available = true;
    this.refused.clear();
  }

  private admit(records: readonly AuditRecord[]): void {
    if (this.failuresLeft > 0) {
      this.failuresLeft--;
      throw unavailable();
    }
    if (!this.available) throw unavailable();
    if (records.some((r) => this.refused.has(r.id))) throw unavailable();
  }
}

// Same code and message as the PostgreSQL adapter, so upstream tests see what production would.
function unavailable(): KmsError<'AUDIT_UNAVAILABLE'> {
  return new KmsError('AUDIT_UNAVAILABLE', 'audit log unavailable: the operation was refused');
}
