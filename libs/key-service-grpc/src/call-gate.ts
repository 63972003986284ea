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

  /** The call's context, with its request id echoed to the client before anything else. */
  private begin(incoming: IncomingCall, call: Call): CallContext {
    const ctx = this.pipeline.begin(incoming);
    const headers = new Metadata();
    headers.set('x-request-id', ctx.requestId);
    call.sendMetadata(headers);
    return ctx;
  }

  private async translated<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (e) {
      throw new RpcException(toServiceError(e));
    }
  }

  /** An authenticated, authorized, audited unary call. */
  run<T>(operation: string, metadata: Metadata, call: Call, fn: (scope: CallScope) => Promise<T> | T): Promise<T> {
    const incoming = this.incoming(operation, metadata, call);
    const ctx = this.begin(incoming, call);
    return this.translated(() => this.pipeline.run(ctx, incoming, fn));
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
    const ctx = this.begin(incoming, call);
    return this.translated(() => this.pipeline.runChange(ctx, incoming, req, fn, options));
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
    const ctx = this.begin(incoming, call);
    return this.translated(() => this.pipeline.runBatch(ctx, incoming, items, fn));
  }

  /** A call that authenticates itself (IssueToken): audited, no bearer token. */
  runUnauthenticated<T>(operation: string, metadata: Metadata, call: Call, actor: string, fn: (facts: OperationFacts) => Promise<T>): Promise<T> {
    const incoming = this.incoming(operation, metadata, call);
    const ctx = this.begin(incoming, call);
    return this.translated(() => this.pipeline.runUnauthenticated(ctx, incoming, actor, fn));
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
