import { type AuditFlush, type AuditLog, type AuditRecord, type OutstandingCiphertexts, type TrackingChanges, trackingChanges } from '@kms/application';
import { KmsError } from '@kms/domain';
import type { Pool, PoolClient } from 'pg';
import { type AuditChainEnd, chainEndAfter, lockAndSealAfterHead, sealAfter } from './audit-chain';
import { type AuditRow, insertAuditRowsSql, MAX_ROWS_PER_INSERT, sealedRowsJson, toAuditRow } from './audit-row.mapper';
import type { AuditSealer } from './audit-seal';

export interface PostgresAuditLogOptions {
  /** Most rows per INSERT and per flush; an appendMany larger than this is still one flush. Default 512. */
  maxBatch?: number;
  /** Most records waiting for a flush; beyond it appends are refused at once. Default 50,000. */
  maxQueued?: number;
  /** A flush not committed within this is abandoned: its connection is destroyed, its records rejected. Default 10,000 ms. */
  flushTimeoutMs?: number;
}

/** Counters for benchmarks and health checks. */
export interface AuditLogStats {
  /** Flushes that committed. */
  flushes: number;
  /** Records committed. */
  records: number;
  /** Most records committed by one flush. */
  largestBatch: number;
  /** Flushes that failed; each rejected all of its records. */
  failedFlushes: number;
  /**
   * Committed flushes that found the chain's end moved since this writer's last flush (another writer
   * appended in between), sealed after the head read under the lock.
   */
  resealedFlushes: number;
  /** Records waiting for a flush now. */
  queued: number;
}

interface Pending {
  rows: AuditRow[];
  /** The records that hand out or move a tracked ciphertext (see @kms/application ciphertext-tracking). */
  tracking: AuditRecord[];
  resolve: () => void;
  reject: (error: Error) => void;
}

/** The connection a flush holds, so a timed-out flush can be torn down. */
interface Flight {
  abandoned: boolean;
  client?: PoolClient;
}

const DEFAULT_MAX_BATCH = 512;
const DEFAULT_MAX_QUEUED = 50_000;
const DEFAULT_FLUSH_TIMEOUT_MS = 10_000;
const SQL_CACHE_SIZE = 64;
/** SQLSTATE of kms_append_sealed_audit when the chain no longer ends where the writer expected. */
const CHAIN_MOVED = 'KM001';
const APPEND_SEALED_SQL = 'SELECT kms_append_sealed_audit($1, $2, $3, $4, $5, $6, $7, $8, $9) AS durability';

/** The error every refused or failed append rejects with; callers refuse the operation (fail closed). */
export function auditUnavailable(cause?: unknown): KmsError<'AUDIT_UNAVAILABLE'> {
  const error = new KmsError('AUDIT_UNAVAILABLE', 'audit log unavailable: the operation was refused');
  // Kept for operators' logs; the message stays safe to show a client.
  if (cause !== undefined) error.cause = cause;
  return error;
}

function positiveInteger(value: number, name: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < 1 || value > max) throw new RangeError(`${name} must be a whole number from 1 to ${max}`);
  return value;
}

/**
 * Durable, fail-closed audit log over PostgreSQL with group commit.
 *
 * append() queues the record; one flush at a time writes everything queued (up to maxBatch rows, whole
 * appendMany calls never split) in one transaction, and records arriving meanwhile wait for the next
 * flush. A promise resolves only after the COMMIT that contains its record returned; a failed flush
 * rejects every promise in it. synchronous_commit is forced on, so each COMMIT waits for the WAL
 * fsync: group commit pays that fsync once per flush instead of once per record.
 *
 * The same transaction applies the ciphertext tracking the records carry (tracked_ciphertexts), so a
 * DATA_PROTECTION version's outstanding count changes exactly when the audit record does.
 *
 * Every record is sealed in the chain's order (see AuditSealer). A writer that knows where its own last
 * flush left the chain seals the next flush after it before taking any lock and sends it as one
 * statement, one round trip (kms_append_sealed_audit: under the audit append lock it checks the chain
 * still ends there, reserves the positions, inserts and commits). The first flush, and a flush whose
 * statement finds the chain moved (another writer appended; nothing of the statement is kept), are
 * sealed after the head read under the lock (lockAndSeal): BEGIN, lock and head in one round trip,
 * then the INSERT, then the COMMIT. Either way one transaction holds the flush, under the one lock
 * every writer takes.
 */
export class PostgresAuditLog implements AuditLog, OutstandingCiphertexts {
  private readonly maxBatch: number;
  private readonly maxQueued: number;
  private readonly flushTimeoutMs: number;
  private readonly queue: Pending[] = [];
  private queuedRecords = 0;
  private flushing = false;
  private scheduled = false;
  private closed = false;
  private readonly drainWaiters: Array<() => void> = [];
  private readonly counters = { flushes: 0, records: 0, largestBatch: 0, failedFlushes: 0, resealedFlushes: 0 };
  private readonly flushObservers = new Set<(flush: AuditFlush) => void>();
  /** Where this writer's last committed flush left the chain; unknown at first and after any failure. */
  private chainEnd: AuditChainEnd | undefined;
  /**
   * The chain moved under this writer's last flush (another writer appends too): the next flush reads
   * the head under the lock instead of first trying the one statement, until a flush finds the chain
   * where this writer left it again. Bounds the wasted statement to one per change from quiet to busy.
   */
  private chainShared = false;
  private readonly insertSql = new Map<number, string>();

  constructor(
    private readonly pool: Pool,
    private readonly sealer: AuditSealer,
    options: PostgresAuditLogOptions = {},
  ) {
    this.maxBatch = positiveInteger(options.maxBatch ?? DEFAULT_MAX_BATCH, 'maxBatch', MAX_ROWS_PER_INSERT);
    this.maxQueued = positiveInteger(options.maxQueued ?? DEFAULT_MAX_QUEUED, 'maxQueued');
    this.flushTimeoutMs = positiveInteger(options.flushTimeoutMs ?? DEFAULT_FLUSH_TIMEOUT_MS, 'flushTimeoutMs');
  }

  /** Resolves once the record is committed; rejects with AUDIT_UNAVAILABLE when it cannot be. */
  append(record: AuditRecord): Promise<void> {
    return this.enqueue([record]);
  }

  /** All records are committed in the same transaction, or none is. */
  appendMany(records: AuditRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    return this.enqueue(records);
  }

  /** Flush what is queued, then refuse further appends. Does not end the pool (the caller owns it). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.idle()) return;
    await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
  }

  /** Counters since construction. */
  stats(): AuditLogStats {
    return { ...this.counters, queued: this.queuedRecords };
  }

  private enqueue(records: AuditRecord[]): Promise<void> {
    if (this.closed) return Promise.reject(auditUnavailable(new Error('the audit log is closed')));
    let rows: AuditRow[];
    try {
      rows = records.map(toAuditRow);
    } catch (e) {
      return Promise.reject(e);
    }
    // Back-pressure: a bounded queue refuses at once rather than holding callers and memory without limit.
    if (this.queuedRecords + rows.length > this.maxQueued) {
      return Promise.reject(auditUnavailable(new Error(`more than ${this.maxQueued} audit records are waiting`)));
    }
    // A batch call's record carries its items' references (applied per item, trackingChanges).
    const tracking = records.filter((r) => r.ciphertexts !== undefined || r.items !== undefined);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ rows, tracking, resolve, reject });
      this.queuedRecords += rows.length;
      this.schedule();
    });
  }

  private idle(): boolean {
    return !this.flushing && !this.scheduled && this.queue.length === 0;
  }

  private schedule(): void {
    if (this.flushing || this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    // setImmediate rather than a microtask: appenders woken by the previous commit get to join this flush.
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private takeBatch(): Pending[] {
    let count = 0;
    let rows = 0;
    while (count < this.queue.length) {
      const next = this.queue[count].rows.length;
      if (count > 0 && rows + next > this.maxBatch) break;
      rows += next;
      count++;
    }
    return this.queue.splice(0, count);
  }

  /**
   * Call `observer` after every flush, committed or failed, with how long it took and how many rows it
   * wrote. Returns the function that stops it. An observer that throws is ignored: it cannot fail a flush.
   */
  observeFlushes(observer: (flush: AuditFlush) => void): () => void {
    this.flushObservers.add(observer);
    return () => void this.flushObservers.delete(observer);
  }

  private observed(flush: AuditFlush): void {
    for (const observe of this.flushObservers) {
      try {
        observe(flush);
      } catch {
        // Metrics must not decide whether records are committed.
      }
    }
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    const batch = this.takeBatch();
    const rows = batch.flatMap((p) => p.rows);
    const tracking = trackingChanges(batch.flatMap((p) => p.tracking));
    this.queuedRecords -= rows.length;
    const started = performance.now();
    try {
      await this.commitWithin(rows, tracking);
      this.counters.flushes++;
      this.counters.records += rows.length;
      this.counters.largestBatch = Math.max(this.counters.largestBatch, rows.length);
      this.observed({ seconds: (performance.now() - started) / 1000, rows: rows.length, committed: true });
      for (const p of batch) p.resolve();
    } catch (e) {
      this.counters.failedFlushes++;
      this.observed({ seconds: (performance.now() - started) / 1000, rows: rows.length, committed: false });
      const error = auditUnavailable(e);
      for (const p of batch) p.reject(error);
    } finally {
      this.flushing = false;
      this.schedule();
      if (this.idle()) for (const resolve of this.drainWaiters.splice(0)) resolve();
    }
  }

  /** Tracked ciphertexts per version of a key (committed state). */
  async outstanding(keyId: string): Promise<ReadonlyMap<number, number>> {
    const r = await this.pool.query<{ key_version: number; n: number }>(
      'SELECT key_version, count(*)::int AS n FROM tracked_ciphertexts WHERE key_id = $1 GROUP BY key_version',
      [keyId],
    );
    return new Map(r.rows.map((row) => [row.key_version, row.n]));
  }

  private async commitWithin(rows: AuditRow[], tracking: TrackingChanges): Promise<void> {
    const flight: Flight = { abandoned: false };
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        flight.abandoned = true;
        // Destroying the connection aborts its open transaction, so rejected records do not commit later.
        flight.client?.release(true);
        flight.client = undefined;
        reject(new Error(`audit flush not committed within ${this.flushTimeoutMs} ms`));
      }, this.flushTimeoutMs);
    });
    try {
      await Promise.race([this.commit(rows, tracking, flight), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async commit(rows: AuditRow[], tracking: TrackingChanges, flight: Flight): Promise<void> {
    // Sealed after where the last flush left the chain; kms_append_sealed_audit admits it only if the
    // chain still ends there once the lock is held (else KM001, and it is sealed after the head read under the lock).
    const expected = this.chainEnd;
    const attempt = expected?.prevTime !== undefined && !this.chainShared ? sealAfter(rows, this.sealer, expected) : undefined;
    // Known again only once this flush has committed: a failed or abandoned one may or may not have.
    this.chainEnd = undefined;
    const client = await this.pool.connect();
    if (flight.abandoned) {
      client.release(true);
      return;
    }
    flight.client = client;
    let failure: Error | undefined;
    try {
      const appended = attempt && expected ? await this.appendSealed(client, attempt, expected, tracking) : false;
      if (appended && attempt && !flight.abandoned) this.chainEnd = attempt.end;
      if (!appended) {
        const { head, end } = await this.lockSealAndInsert(client, rows, tracking);
        const moved = expected !== undefined && (head.prev !== expected.prev || head.next !== expected.next);
        if (moved) this.counters.resealedFlushes++;
        if (!flight.abandoned) {
          this.chainShared = moved;
          this.chainEnd = end;
        }
      }
    } catch (e) {
      failure = e instanceof Error ? e : new Error(String(e));
      throw failure;
    } finally {
      if (!flight.abandoned) {
        flight.client = undefined;
        // After a failure the connection may be mid-transaction or broken: destroy it, do not pool it.
        client.release(failure);
      }
    }
  }

  /**
   * One round trip: `sealed` (sealed after `expected`, leaving the chain at `end`) committed by
   * kms_append_sealed_audit. False, with nothing written, when the chain no longer ends at `expected`.
   */
  private async appendSealed(client: PoolClient, { sealed, end }: { sealed: AuditRow[]; end: AuditChainEnd }, expected: AuditChainEnd, tracking: TrackingChanges): Promise<boolean> {
    const { release } = tracking;
    const tracked = trackedColumns(tracking);
    let result: { rows: Array<{ durability: string }> };
    try {
      result = await client.query<{ durability: string }>(APPEND_SEALED_SQL, [
        expected.prev,
        expected.prevTime ?? null,
        expected.next.toString(),
        (end.next - 1n).toString(),
        sealedRowsJson(sealed),
        release.size > 0 ? [...release] : null,
        tracked?.refs ?? null,
        tracked?.keys ?? null,
        tracked?.versions ?? null,
      ]);
    } catch (e) {
      // The statement's own transaction rolled back: nothing of it was kept, the connection is usable.
      if ((e as { code?: unknown }).code === CHAIN_MOVED) return false;
      throw e;
    }
    // The function set it; anything else means this commit may not have waited for the WAL flush.
    const durability = result.rows[0]?.durability;
    if (durability !== 'on') throw new Error(`audit flush committed with synchronous_commit ${String(durability)}`);
    return true;
  }

  /** BEGIN, lock and head in one round trip, the rows sealed after the head, INSERT, tracking, COMMIT. */
  private async lockSealAndInsert(client: PoolClient, rows: AuditRow[], tracking: TrackingChanges): Promise<{ head: AuditChainEnd; end: AuditChainEnd | undefined }> {
    // Forced on for this transaction so a role or database default of "off" cannot weaken durability.
    // BEGIN, the append lock and the read of the chain's head go in one round trip (each its own statement).
    const { sealed, head } = await lockAndSealAfterHead(client, rows, this.sealer, { openWith: 'BEGIN; SET LOCAL synchronous_commit TO on' });
    for (let i = 0; i < sealed.length; i += this.maxBatch) {
      const chunk = sealed.slice(i, i + this.maxBatch);
      const inserted = await client.query(this.sqlFor(chunk.length), chunk.flat());
      if (inserted.rowCount !== chunk.length) throw new Error(`inserted ${inserted.rowCount} of ${chunk.length} audit rows`);
    }
    await applyTracking(client, tracking);
    // COMMIT of an aborted transaction answers ROLLBACK without an error.
    const committed = await client.query('COMMIT');
    if (committed.command !== 'COMMIT') throw new Error(`COMMIT answered ${committed.command}`);
    return { head, end: chainEndAfter(sealed) };
  }

  private sqlFor(rowCount: number): string {
    let sql = this.insertSql.get(rowCount);
    if (sql === undefined) {
      sql = insertAuditRowsSql(rowCount);
      // A 512-row statement takes ~0.4 ms to build, a real share of a flush; cache the sizes in use, boundedly.
      if (this.insertSql.size >= SQL_CACHE_SIZE) this.insertSql.delete(this.insertSql.keys().next().value as number);
      this.insertSql.set(rowCount, sql);
    }
    return sql;
  }
}

/** Apply ciphertext tracking inside the flush's transaction. */
async function applyTracking(client: PoolClient, tracking: TrackingChanges): Promise<void> {
  const { release } = tracking;
  if (release.size > 0) await client.query('DELETE FROM tracked_ciphertexts WHERE ref = ANY($1::text[])', [[...release]]);
  const tracked = trackedColumns(tracking);
  if (tracked === undefined) return;
  const { refs, keys, versions } = tracked;
  await client.query(
    `INSERT INTO tracked_ciphertexts (ref, key_id, key_version)
     SELECT * FROM unnest($1::text[], $2::uuid[], $3::int[])
     ON CONFLICT (ref) DO UPDATE SET key_id = EXCLUDED.key_id, key_version = EXCLUDED.key_version`,
    [refs, keys, versions],
  );
}

/** The ciphertexts a flush hands out, as the columns of tracked_ciphertexts; undefined for none. */
function trackedColumns({ track }: TrackingChanges): { refs: string[]; keys: string[]; versions: number[] } | undefined {
  if (track.size === 0) return undefined;
  const refs: string[] = [];
  const keys: string[] = [];
  const versions: number[] = [];
  for (const [ref, at] of track) {
    refs.push(ref);
    keys.push(at.keyId);
    versions.push(at.version);
  }
  return { refs, keys, versions };
}
