import { Metadata, type ServerUnaryCall } from '@grpc/grpc-js';
import { Inject, Injectable } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import {
  AuditedExecutor,
  Authorizer,
  type CallContext,
  IdentityService,
  type KeyAccessCheck,
  type OperationFacts,
  SuspendedIdentityError,
} from '@kms/application';
import type { Principal } from '@kms/domain';
import { callContext } from './call-context';
import { toServiceError } from './grpc-error.mapper';

type Call = ServerUnaryCall<unknown, unknown>;

/** What a handler gets once the caller is authenticated and allowed to call the operation. */
export interface CallScope {
  ctx: CallContext;
  facts: OperationFacts;
  principal: Principal;
  /** Key-level check from the key policy, for key-scoped work. */
  access: KeyAccessCheck;
}

function bearer(metadata: Metadata): string | undefined {
  const raw = metadata.get('authorization')[0];
  if (typeof raw !== 'string') return undefined;
  const m = /^Bearer\s+([A-Za-z0-9._~+/=-]+)$/.exec(raw.trim());
  return m?.[1];
}

function actorRole(p: Principal): string {
  return p.kind === 'WORKLOAD' ? 'workload' : p.roles.join(',');
}

/**
 * The door every RPC goes through: request id, authentication (bearer token), the role matrix, then
 * the operation — and an audit record for every outcome, refusals included, before the answer leaves.
 */
@Injectable()
export class CallGate {
  constructor(
    @Inject(IdentityService) private readonly identities: IdentityService,
    @Inject(Authorizer) private readonly authorizer: Authorizer,
    @Inject(AuditedExecutor) private readonly executor: AuditedExecutor,
  ) {}

  private begin(metadata: Metadata, call: Call): CallContext {
    const ctx = callContext(metadata, call);
    const headers = new Metadata();
    headers.set('x-request-id', ctx.requestId);
    call.sendMetadata(headers);
    return ctx;
  }

  /** Authenticate and authorize; a refusal is audited and thrown as a gRPC error. */
  private async admit(operation: string, metadata: Metadata, anonymous: CallContext): Promise<{ ctx: CallContext; principal: Principal; access: KeyAccessCheck }> {
    let principal: Principal | undefined;
    try {
      principal = await this.identities.authenticate(bearer(metadata));
      const access = this.authorizer.forOperation(principal, operation);
      return { ctx: { ...anonymous, actor: principal.identityId, actorRole: actorRole(principal) }, principal, access };
    } catch (e) {
      const ctx = principal
        ? { ...anonymous, actor: principal.identityId, actorRole: actorRole(principal) }
        : e instanceof SuspendedIdentityError
          ? { ...anonymous, actor: e.identityId }
          : anonymous;
      try {
        await this.executor.refuse(ctx, operation, e);
      } catch (refusal) {
        throw new RpcException(toServiceError(refusal));
      }
      throw new RpcException(toServiceError(e));
    }
  }

  /** An authenticated, authorized, audited unary call. */
  async run<T>(operation: string, metadata: Metadata, call: Call, fn: (scope: CallScope) => Promise<T> | T): Promise<T> {
    const anonymous = this.begin(metadata, call);
    const { ctx, principal, access } = await this.admit(operation, metadata, anonymous);
    try {
      return await this.executor.run(ctx, operation, (facts) => fn({ ctx, facts, principal, access }));
    } catch (e) {
      throw new RpcException(toServiceError(e));
    }
  }

  /** A batch: admitted once, one audit record per item, all durable in one commit. */
  async runBatch<I, T>(
    operation: string,
    metadata: Metadata,
    call: Call,
    items: (scope: Omit<CallScope, 'facts'>) => I[] | Promise<never>,
    fn: (item: I, scope: CallScope) => Promise<T>,
  ): Promise<Array<{ ok: true; value: T } | { ok: false; error: unknown }>> {
    const anonymous = this.begin(metadata, call);
    const { ctx, principal, access } = await this.admit(operation, metadata, anonymous);
    try {
      const list = await items({ ctx, principal, access });
      return await this.executor.runBatch(ctx, operation, list, (item, facts) => fn(item, { ctx, facts, principal, access }));
    } catch (e) {
      throw new RpcException(toServiceError(e));
    }
  }

  /** A call that authenticates itself (IssueToken): audited, no bearer token. */
  async runUnauthenticated<T>(operation: string, metadata: Metadata, call: Call, actor: string, fn: (facts: OperationFacts) => Promise<T>): Promise<T> {
    const ctx = { ...this.begin(metadata, call), actor };
    try {
      return await this.executor.run(ctx, operation, fn);
    } catch (e) {
      throw new RpcException(toServiceError(e));
    }
  }

  /** Audit a refusal decided inside a batch's item validation. */
  refuse(ctx: CallContext, operation: string, error: unknown, facts?: OperationFacts): Promise<never> {
    return this.executor.refuse(ctx, operation, error, facts);
  }
}
