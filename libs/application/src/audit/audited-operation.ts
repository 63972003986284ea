import { randomUUID } from 'node:crypto';
import { KmsError } from '@kms/domain';
import type { AuditLog, AuditOutcome, AuditRecord, Clock } from '../ports/audit-log.port';
import type { OperationFacts } from '../crypto/crypto.service';

/** Who is calling, from where, under which request id. */
export interface CallContext {
  actor: string;
  actorRole?: string;
  requestId: string;
  sourceAddress?: string;
}

/** Codes for errors that are not KmsErrors (a bug or an unexpected failure). */
const INTERNAL_ERROR_CODE = 'INTERNAL';

function outcomeOf(error: unknown): { outcome: AuditOutcome; errorCode?: string } {
  if (error === undefined) return { outcome: 'SUCCESS' };
  if (error instanceof KmsError) {
    // NOT_A_DEPENDENT is a permission refusal too (answered as PERMISSION_DENIED).
    const refused = error.code === 'UNAUTHENTICATED' || error.code === 'PERMISSION_DENIED' || error.code === 'SELF_APPROVAL' || error.code === 'NOT_A_DEPENDENT';
    return { outcome: refused ? 'DENIED' : 'FAILURE', errorCode: error.code };
  }
  return { outcome: 'FAILURE', errorCode: INTERNAL_ERROR_CODE };
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
  ) {}

  record(ctx: CallContext, operation: string, facts: OperationFacts, error?: unknown): AuditRecord {
    const { outcome, errorCode } = outcomeOf(error);
    return {
      id: randomUUID(),
      time: this.clock.now(),
      requestId: ctx.requestId,
      operation,
      actor: ctx.actor,
      outcome,
      ...(ctx.actorRole ? { actorRole: ctx.actorRole } : {}),
      ...(facts.keyId ? { keyId: facts.keyId } : {}),
      ...(facts.keyVersion ? { keyVersion: facts.keyVersion } : {}),
      ...(errorCode ? { errorCode } : {}),
      ...(ctx.sourceAddress ? { sourceAddress: ctx.sourceAddress } : {}),
      ...(facts.details ? { details: facts.details } : {}),
    };
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
   * Run a batch: one audit record per item, all made durable in one commit. Per-item failures are
   * returned, not thrown.
   */
  async runBatch<I, T>(
    ctx: CallContext,
    operation: string,
    items: I[],
    fn: (item: I, facts: OperationFacts) => Promise<T>,
  ): Promise<Array<{ ok: true; value: T } | { ok: false; error: unknown }>> {
    const records: AuditRecord[] = [];
    const results = await Promise.all(
      items.map(async (item, index) => {
        const facts: OperationFacts = {};
        try {
          const value = await fn(item, facts);
          facts.details = { ...facts.details, batchIndex: index, batchSize: items.length };
          records[index] = this.record(ctx, operation, facts);
          return { ok: true as const, value };
        } catch (error) {
          facts.details = { ...facts.details, batchIndex: index, batchSize: items.length };
          records[index] = this.record(ctx, operation, facts, error);
          return { ok: false as const, error };
        }
      }),
    );
    await this.durably(records);
    return results;
  }

  /** Audit a call refused before it ran (bad request shape, authentication). */
  async refuse(ctx: CallContext, operation: string, error: unknown, facts: OperationFacts = {}): Promise<never> {
    await this.durably([this.record(ctx, operation, facts, error)]);
    throw error;
  }

  private async durably(records: AuditRecord[]): Promise<void> {
    try {
      if (records.length === 1) await this.audit.append(records[0]);
      else await this.audit.appendMany(records);
    } catch {
      throw new KmsError('AUDIT_UNAVAILABLE', 'audit log unavailable: the operation was refused and nothing was returned');
    }
  }
}
