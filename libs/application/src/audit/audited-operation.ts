import { createHash, randomUUID } from 'node:crypto';
import canonicalize from 'canonicalize';
import { AccessRefusedError, KEY_STREAM_PREFIX, KmsError } from '@kms/domain';
import { type EventStore, WrongExpectedVersionError } from '@kms/event-store';
import type { AuditLog, AuditOutcome, AuditRecord, AuditRecordItem, Clock } from '../ports/audit-log.port';
import type { OperationFacts } from '../crypto/crypto.service';
import { CallTransaction, withTransaction } from '../changes/call-transaction';
import { conflictBackoff, MAX_CONFLICT_RETRIES } from '../changes/handle-command';
import { traced } from '../calls/tracing';
import { storableFacts, storableRecord, storableText } from './storable-record';
import { batchAuditRecord } from './batch-audit-record';
import { type ChangeCommitter, DuplicateRequestError, type IdempotencyEntry, type IdempotencyStore, PartialChangeError, type RecordedOutcome } from '../changes/change-committer.port';

/** Who is calling, from where, under which request id. */
export interface CallContext {
  actor: string;
  actorRole?: string;
  requestId: string;
  /** The request id the client chose (x-request-id), when it chose one: retries with it are idempotent. */
  clientRequestId?: string;
  sourceAddress?: string;
}

/** What runChange needs to commit a call's events with its audit record. */
export interface ChangeRuntime {
  /** The event store itself (not the call-scoped wrapper the services write through). */
  store: EventStore;
  committer: ChangeCommitter;
  idempotency?: IdempotencyStore;
}

/** Options of a call that may change state. */
export interface ChangeOptions<T> {
  /** The request as received: with a client request id, a retry must carry the same request. */
  request?: unknown;
  /** True when the answer holds a secret shown once (it is never stored for replay). */
  holdsSecret?: (response: T) => boolean;
}


/** SHA-256 of the operation and the canonical JSON of its request. */
export function requestHash(operation: string, request: unknown): string {
  const plain = request === undefined ? null : (JSON.parse(JSON.stringify(request)) as unknown);
  return createHash('sha256').update(operation).update('\u0000').update(canonicalize(plain) ?? 'null').digest('hex');
}

function encodeResponse(response: unknown): string {
  return JSON.stringify(response ?? null);
}

function decodeResponse(text: string): unknown {
  return JSON.parse(text, (_k, v: unknown) => {
    const b = v as { type?: unknown; data?: unknown } | null;
    return b && typeof b === 'object' && b.type === 'Buffer' && Array.isArray(b.data) ? Buffer.from(b.data as number[]) : v;
  });
}

/** Codes for errors that are not KmsErrors (a bug or an unexpected failure). */
const INTERNAL_ERROR_CODE = 'INTERNAL';

function outcomeOf(error: unknown): { outcome: AuditOutcome; errorCode?: string } {
  if (error === undefined) return { outcome: 'SUCCESS' };
  if (error instanceof KmsError) {
    // NOT_A_DEPENDENT is a permission refusal too (answered as PERMISSION_DENIED).
    const refused =
      error instanceof AccessRefusedError ||
      error.code === 'UNAUTHENTICATED' ||
      error.code === 'PERMISSION_DENIED' ||
      error.code === 'SELF_APPROVAL' ||
      error.code === 'NOT_A_DEPENDENT';
    return { outcome: refused ? 'DENIED' : 'FAILURE', errorCode: error.code };
  }
  // A transport's own refusal (e.g. an HTTP problem) names its code for the record.
  const coded = (error as { auditCode?: unknown } | null)?.auditCode;
  return { outcome: 'FAILURE', errorCode: typeof coded === 'string' ? coded : INTERNAL_ERROR_CODE };
}

/**
 * Runs operations so that each one leaves a durable audit record before its result is released
 * (fail closed): if the record cannot be made durable the caller gets AUDIT_UNAVAILABLE and the
 * result is dropped.
 */
export class AuditedExecutor {
  constructor(
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly changes?: ChangeRuntime,
  ) {}

  record(ctx: CallContext, operation: string, facts: OperationFacts, error?: unknown): AuditRecord {
    const { outcome, errorCode } = outcomeOf(error);
    const record: AuditRecord = { id: randomUUID(), time: this.clock.now(), requestId: ctx.requestId, operation, actor: ctx.actor, outcome };
    if (ctx.actorRole) record.actorRole = ctx.actorRole;
    if (facts.keyId) record.keyId = facts.keyId;
    if (facts.keyVersion) record.keyVersion = facts.keyVersion;
    if (errorCode) record.errorCode = errorCode;
    if (ctx.sourceAddress) record.sourceAddress = ctx.sourceAddress;
    if (facts.details) record.details = facts.details;
    if (facts.ciphertexts && outcome === 'SUCCESS') record.ciphertexts = facts.ciphertexts;
    return storableRecord(record);
  }

  /** Run one operation and audit it. */
  async run<T>(ctx: CallContext, operation: string, fn: (facts: OperationFacts) => Promise<T> | T): Promise<T> {
    const facts: OperationFacts = {};
    let result: T | undefined;
    let error: unknown;
    try {
      result = await fn(facts);
    } catch (e) {
      error = e;
    }
    await this.durably([this.record(ctx, operation, facts, error)]);
    if (error !== undefined) throw error;
    return result as T;
  }

  /**
   * Run a call that may change state. Every event it writes is held in a call transaction and
   * committed together with its audit record (ChangeCommitter), so no change is ever durable
   * without its record and none is answered as failed when it committed. A call that writes
   * nothing is audited like any other. A conflicting concurrent write runs the call again (bounded).
   *
   * With a client request id, the first outcome is kept with the change: a retry with the same id
   * and request gets it back instead of acting twice; the same id with another request is refused.
   */
  async runChange<T>(ctx: CallContext, operation: string, fn: (facts: OperationFacts) => Promise<T> | T, options: ChangeOptions<T> = {}): Promise<T> {
    const changes = this.changes;
    if (!changes) return this.run(ctx, operation, fn);
    const hash = ctx.clientRequestId ? requestHash(operation, options.request) : undefined;
    const replayed = await this.replay(ctx, operation, hash);
    if (replayed) return replayed.value as T;
    for (let attempt = 0; ; attempt++) {
      const tx = new CallTransaction(changes.store);
      const facts: OperationFacts = {};
      let result: T | undefined;
      let error: unknown;
      try {
        result = await withTransaction(tx, async () => fn(facts));
      } catch (e) {
        error = e;
      }
      if (!tx.hasWrites() || (error !== undefined && !tx.keepsWritesOnFailure)) {
        // Nothing to commit, or a call that failed half-way: its writes are dropped, its outcome audited.
        try {
          await this.durably([this.record(ctx, operation, facts, error)]);
        } finally {
          if (tx.hasWrites()) await tx.aborted();
          else await tx.finishedWithoutWrites();
        }
        if (error !== undefined) throw error;
        return result as T;
      }
      const audit = this.record(ctx, operation, facts, error);
      const idempotency = hash && ctx.clientRequestId ? this.entry(ctx, operation, hash, audit, result, error, options) : undefined;
      try {
        const writes = tx.writes();
        await traced('kms.change.commit', { 'kms.streams': writes.length, 'kms.operation': operation }, () =>
          changes.committer.commit({ writes, audit, ...(idempotency ? { idempotency } : {}) }),
        );
      } catch (e) {
        if (e instanceof PartialChangeError) {
          // Part of it is durable: nothing is undone or retried; its intent records what committed.
          await tx.abandoned();
          throw new KmsError('STORE_UNAVAILABLE', 'the event store failed part-way through the change; what was recorded is being reconciled, do not retry blindly');
        }
        await tx.aborted();
        if (e instanceof WrongExpectedVersionError && attempt < MAX_CONFLICT_RETRIES) {
          await conflictBackoff(attempt);
          continue;
        }
        if (e instanceof DuplicateRequestError) {
          const first = await this.replay(ctx, operation, hash);
          if (first) return first.value as T;
        }
        const refusal =
          e instanceof WrongExpectedVersionError
            ? new KmsError('CONCURRENCY_CONFLICT', 'the key or identity changed concurrently too many times; retry', e.streamId.startsWith(KEY_STREAM_PREFIX) ? 'key_id' : undefined)
            : new KmsError('STORE_UNAVAILABLE', 'event store or audit log unavailable: nothing was changed');
        // Best effort: the database that refused the change likely refuses this record too.
        await this.durably([this.record(ctx, operation, facts, refusal)]).catch(() => undefined);
        throw refusal;
      }
      await tx.committed();
      if (error !== undefined) throw error;
      return result as T;
    }
  }

  private entry<T>(ctx: CallContext, operation: string, hash: string, audit: AuditRecord, result: T | undefined, error: unknown, options: ChangeOptions<T>): IdempotencyEntry {
    let outcome: RecordedOutcome;
    if (error === undefined) {
      outcome = options.holdsSecret?.(result as T) ? { kind: 'secret', operation } : { kind: 'response', response: encodeResponse(result) };
    } else if (error instanceof KmsError) {
      outcome = { kind: 'error', code: error.code, message: error.message, ...(error.field ? { field: error.field } : {}), ...(error.facts ? { facts: { ...error.facts } } : {}) };
    } else {
      outcome = { kind: 'error', code: 'INTERNAL', message: 'internal error' };
    }
    return { actor: ctx.actor, requestId: ctx.clientRequestId as string, operation, requestHash: hash, outcome, auditRecordId: audit.id, createdAt: audit.time };
  }

  /**
   * The first outcome of a call made with this client request id, audited as a replay; a reused id
   * with another request is refused. Undefined when the id is new (or none was given).
   */
  private async replay(ctx: CallContext, operation: string, hash: string | undefined): Promise<{ value: unknown } | undefined> {
    const store = this.changes?.idempotency;
    if (!store || !hash || !ctx.clientRequestId) return undefined;
    let first: IdempotencyEntry | undefined;
    try {
      first = await store.find(ctx.actor, ctx.clientRequestId);
    } catch {
      return this.refuse(ctx, operation, new KmsError('STORE_UNAVAILABLE', 'idempotency records unavailable: nothing was changed'));
    }
    if (!first) return undefined;
    if (first.pending) {
      // The first call's change may or may not have committed: known once its audit intent is reconciled.
      return this.refuse(ctx, operation, new KmsError('STORE_UNAVAILABLE', `x-request-id: a call with this id is still being completed; retry shortly`, 'x-request-id'));
    }
    if (first.operation !== operation || first.requestHash !== hash) {
      return this.refuse(
        ctx,
        operation,
        new KmsError('REQUEST_ID_REUSED', `x-request-id: ${ctx.clientRequestId} was already used for a different request (${first.operation}); use a new id`, 'x-request-id'),
      );
    }
    const facts: OperationFacts = { details: { idempotentReplayOf: first.auditRecordId } };
    const o = first.outcome;
    if (o.kind === 'response') {
      await this.durably([this.record(ctx, operation, facts)]);
      return { value: decodeResponse(o.response) };
    }
    const error =
      o.kind === 'secret'
        ? new KmsError('REQUEST_ALREADY_DONE', `${o.operation} with this x-request-id was already done; the secret it issued was shown once and is not stored (rotate the credential again if it was lost)`, 'x-request-id')
        : new KmsError(o.code as KmsError['code'], o.message, o.field, o.facts);
    return this.refuse(ctx, operation, error, facts);
  }

  /**
   * Run a batch: one audit record for the whole call holding every item's outcome, key and
   * ciphertext references under the item's own id (batchAuditRecord), made durable in one commit
   * before any result is released. Per-item failures are returned, not thrown.
   */
  async runBatch<I, T>(
    ctx: CallContext,
    operation: string,
    items: I[],
    fn: (item: I, facts: OperationFacts) => Promise<T> | T,
  ): Promise<Array<{ ok: true; value: T } | { ok: false; error: unknown }>> {
    const audited: AuditRecordItem[] = [];
    const results = await Promise.all(
      items.map(async (item, index) => {
        const facts: OperationFacts = {};
        try {
          const value = await fn(item, facts);
          audited[index] = this.item(facts, index);
          return { ok: true as const, value };
        } catch (error) {
          audited[index] = this.item(facts, index, error);
          return { ok: false as const, error };
        }
      }),
    );
    const { outcome: _outcome, ...call } = this.record(ctx, operation, {});
    await this.durably([batchAuditRecord(call, audited)]);
    return results;
  }

  /** One batch item as its call's record holds it: made storable exactly as a single call's record is (storableFacts). */
  private item(facts: OperationFacts, batchIndex: number, error?: unknown): AuditRecordItem {
    const { outcome, errorCode } = outcomeOf(error);
    const stored = storableFacts(facts.keyId || undefined, facts.keyVersion || undefined, facts.details);
    const item: AuditRecordItem = { id: randomUUID(), batchIndex, outcome };
    if (errorCode) item.errorCode = storableText(errorCode);
    if (stored.keyId !== undefined) item.keyId = stored.keyId;
    if (stored.keyVersion !== undefined) item.keyVersion = stored.keyVersion;
    if (stored.details !== undefined) item.details = stored.details;
    if (facts.ciphertexts && outcome === 'SUCCESS') item.ciphertexts = facts.ciphertexts;
    return item;
  }

  /** Audit a call refused before it ran (bad request shape, authentication). */
  async refuse(ctx: CallContext, operation: string, error: unknown, facts: OperationFacts = {}): Promise<never> {
    await this.durably([this.record(ctx, operation, facts, error)]);
    throw error;
  }

  private async durably(records: AuditRecord[]): Promise<void> {
    try {
      await traced('kms.audit.commit', { 'kms.audit.records': records.length }, () =>
        records.length === 1 ? this.audit.append(records[0]) : this.audit.appendMany(records),
      );
    } catch {
      throw new KmsError('AUDIT_UNAVAILABLE', 'audit log unavailable: the operation was refused and nothing was returned');
    }
  }
}
