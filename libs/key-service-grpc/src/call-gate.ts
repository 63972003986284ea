import { Metadata, type ServerUnaryCall } from '@grpc/grpc-js';
import { Inject, Injectable } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { type CallContext, CallPipeline, type CallScope, type ChangeOptions, type IncomingCall, type OperationFacts } from '@kms/application';
import type { FrameRefusal } from './frame-guard';
import { MalformedRequest } from './frame-guard';
import { toServiceError } from './grpc-error.mapper';

export type { CallScope } from '@kms/application';

type Call = ServerUnaryCall<unknown, unknown>;

function first(metadata: Metadata, key: string): string | undefined {
  const v = metadata.get(key)[0];
  return typeof v === 'string' ? v : undefined;
}

/** The response headers: the request id, echoed (the client's own when it sent a well-formed one). */
function sendRequestId(call: Call, requestId: string): void {
  const headers = new Metadata();
  headers.set('x-request-id', requestId);
  // A call the client already cancelled has nowhere to send them; that is not the handler's failure.
  try {
    call.sendMetadata(headers);
  } catch {
    /* cancelled */
  }
}

/**
 * The gRPC adapter of the one audited-call pipeline (CallPipeline): reads the call's metadata into
 * an IncomingCall, echoes the request id, and turns whatever the pipeline throws into a gRPC status
 * with the KMS error trailers. Nothing about authentication, authorization or audit lives here.
 */
@Injectable()
export class CallGate {
  constructor(@Inject(CallPipeline) private readonly pipeline: CallPipeline) {}

  private incoming(operation: string, metadata: Metadata, call: Call): IncomingCall {
    const request = call.request;
    const authorization = first(metadata, 'authorization');
    const requestId = first(metadata, 'x-request-id');
    return {
      operation,
      ...(authorization !== undefined ? { authorization } : {}),
      ...(requestId !== undefined ? { requestId } : {}),
      peer: call.getPeer(),
      ...(request instanceof MalformedRequest ? { malformed: { message: request.message(), size: request.size, reason: request.reason } } : {}),
    };
  }

  /**
   * The call's context. Its request id goes back in the response headers, which are sent with the
   * answer or the error (see `translated`): in the same write as the message, not a write of their own.
   */
  private begin(incoming: IncomingCall): CallContext {
    return this.pipeline.begin(incoming);
  }

  private async translated<T>(ctx: CallContext, call: Call, work: () => Promise<T>): Promise<T> {
    try {
      const result = await work();
      sendRequestId(call, ctx.requestId);
      return result;
    } catch (e) {
      sendRequestId(call, ctx.requestId);
      throw new RpcException(toServiceError(e));
    }
  }

  /** An authenticated, authorized, audited unary call. */
  run<T>(operation: string, metadata: Metadata, call: Call, fn: (scope: CallScope) => Promise<T> | T): Promise<T> {
    const incoming = this.incoming(operation, metadata, call);
    const ctx = this.begin(incoming);
    return this.translated(ctx, call, () => this.pipeline.run(ctx, incoming, fn));
  }

  /** A call that may change state (see CallPipeline.runChange). */
  runChange<T>(
    operation: string,
    req: unknown,
    metadata: Metadata,
    call: Call,
    fn: (scope: CallScope) => Promise<T> | T,
    options: Omit<ChangeOptions<T>, 'request'> = {},
  ): Promise<T> {
    const incoming = this.incoming(operation, metadata, call);
    const ctx = this.begin(incoming);
    return this.translated(ctx, call, () => this.pipeline.runChange(ctx, incoming, req, fn, options));
  }

  /** A batch: admitted once, one audit record for the call holding every item (batchAuditRecord), durable before any result is released. */
  runBatch<I, T>(
    operation: string,
    metadata: Metadata,
    call: Call,
    items: (scope: Omit<CallScope, 'facts'>) => I[] | Promise<I[]>,
    fn: (item: I, scope: CallScope) => Promise<T>,
  ): Promise<Array<{ ok: true; value: T } | { ok: false; error: unknown }>> {
    const incoming = this.incoming(operation, metadata, call);
    const ctx = this.begin(incoming);
    return this.translated(ctx, call, () => this.pipeline.runBatch(ctx, incoming, items, fn));
  }

  /** A call that authenticates itself (IssueToken): audited, no bearer token. */
  runUnauthenticated<T>(operation: string, metadata: Metadata, call: Call, actor: string, fn: (facts: OperationFacts) => Promise<T>): Promise<T> {
    const incoming = this.incoming(operation, metadata, call);
    const ctx = this.begin(incoming);
    return this.translated(ctx, call, () => this.pipeline.runUnauthenticated(ctx, incoming, actor, fn));
  }

  /** Audit a refusal decided inside a batch's item validation. */
  refuse(ctx: CallContext, operation: string, error: unknown, facts?: OperationFacts): Promise<never> {
    return this.pipeline.refuse(ctx, operation, error, facts);
  }

  /** Audit a call the transport refused before any handler ran (see FrameGuard). */
  refuseFrame(refusal: FrameRefusal): Promise<void> {
    return this.pipeline.refuseTransport(
      { operation: refusal.operation, peer: refusal.peer, ...(refusal.requestId ? { requestId: refusal.requestId } : {}) },
      refusal.reason,
    );
  }
}
