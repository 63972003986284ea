import { type sendUnaryData, type ServerUnaryCall, status } from '@grpc/grpc-js';
import { EXCEPTION_FILTERS_METADATA, GUARDS_METADATA, INTERCEPTORS_METADATA, PIPES_METADATA } from '@nestjs/common/constants';
import { BaseRpcExceptionFilter, GrpcMethodStreamingType, type GrpcOptions, ServerGrpc } from '@nestjs/microservices';
import { PARAM_ARGS_METADATA, PATTERN_METADATA } from '@nestjs/microservices/constants';
import { isObservable, type Observable } from 'rxjs';

type UnaryHandler = (request: unknown, metadata: unknown, call: ServerUnaryCall<unknown, unknown>) => unknown;

/** Nest's per-handler enhancers: a method that has any is served through Nest, never directly. */
const ENHANCERS = [
  [GUARDS_METADATA, 'guards'],
  [INTERCEPTORS_METADATA, 'interceptors'],
  [PIPES_METADATA, 'pipes'],
  [EXCEPTION_FILTERS_METADATA, 'exception filters'],
] as const;

/**
 * The unary @GrpcMethod methods of `controllers`, by "Service/Method", each calling its controller
 * directly. A controller or method with a Nest guard, interceptor, pipe, exception filter or
 * parameter decorator is refused: serving it directly would leave that out.
 */
export function directUnaryHandlers(controllers: readonly object[]): Map<string, UnaryHandler> {
  const handlers = new Map<string, UnaryHandler>();
  for (const instance of controllers) {
    const prototype = Object.getPrototypeOf(instance) as object;
    const type = (prototype.constructor as { name?: string }).name ?? 'controller';
    for (const name of Object.getOwnPropertyNames(prototype)) {
      // The descriptor's value: reading the property would run a getter.
      const method: unknown = Object.getOwnPropertyDescriptor(prototype, name)?.value;
      if (name === 'constructor' || typeof method !== 'function') continue;
      const patterns = Reflect.getMetadata(PATTERN_METADATA, method) as Array<{ service?: string; rpc?: string; streaming?: string }> | undefined;
      const pattern = patterns?.[0];
      if (!pattern?.service || !pattern.rpc || pattern.streaming !== GrpcMethodStreamingType.NO_STREAMING) continue;
      for (const [key, what] of ENHANCERS) {
        const on = [method, prototype.constructor].find((target) => (Reflect.getMetadata(key, target as object) as unknown[] | undefined)?.length);
        if (on) throw new Error(`${type}.${name} has Nest ${what} and cannot be served directly: serve it through Nest (leave it out of the direct controllers) or move that into the call pipeline`);
      }
      if (Reflect.getMetadata(PARAM_ARGS_METADATA, prototype.constructor, name)) {
        throw new Error(`${type}.${name} has Nest parameter decorators and cannot be served directly: it must take (request, metadata, call)`);
      }
      const key = `${pattern.service}/${pattern.rpc}`;
      if (handlers.has(key)) throw new Error(`${key} is served by two controller methods (${type}.${name} and another)`);
      handlers.set(key, (request, metadata, call) => (method as UnaryHandler).call(instance, request, metadata, call));
    }
  }
  return handlers;
}

/**
 * Nest's gRPC server with a leaner unary path.
 *
 * - **Direct methods.** The unary methods of the controllers given (`directControllers`, asked for
 *   when the server starts, once the app has made them) are called directly, without Nest's router
 *   context (its async proxy, parameter pipes and interceptor chain: a handful of promises per call).
 *   Nothing is lost: the KMS sets no Nest guard, pipe, interceptor or filter on gRPC (authentication,
 *   validation, audit, metrics and tracing are the call pipeline's, in the handler itself), and
 *   `directUnaryHandlers` refuses a method that has any. The app's global enhancers (inherited with
 *   `inheritAppConfig`) do not reach direct methods either: the key service sets only the HTTP problem
 *   filter, which answers RPC errors as the direct path does. What a direct method throws or rejects
 *   with is answered as Nest's RPC exception filter answers it (an RpcException's error; anything
 *   else logged and answered as an internal error, without its message).
 * - **Every other handler** (Nest's) is awaited and answered directly. Nest answers a unary call by
 *   copying the call object into a processing-hook context (`{ ...call }`, every call, even with no
 *   hook set) and turning the handler's result into an rxjs pipeline; here an Observable (what Nest's
 *   exception handling returns for an error) is still subscribed to. The processing hooks are not
 *   called: nothing in the KMS sets them (tracing is in the call pipeline, see tracing.ts).
 */
export class LeanGrpcServer extends ServerGrpc {
  private direct?: Map<string, UnaryHandler>;
  private readonly directlyServed = new WeakSet<UnaryHandler>();
  private readonly errors = new BaseRpcExceptionFilter();

  constructor(
    options: GrpcOptions['options'],
    private readonly directControllers: () => readonly object[] = () => [],
  ) {
    super(options);
  }

  override getMessageHandler(serviceName: string, methodName: string, streaming: GrpcMethodStreamingType, grpcMethod: { path?: string }): ReturnType<ServerGrpc['getMessageHandler']> {
    if (streaming === GrpcMethodStreamingType.NO_STREAMING) {
      this.direct ??= directUnaryHandlers(this.directControllers());
      const service = this.direct.has(`${serviceName}/${methodName}`) ? serviceName : grpcMethod.path?.split?.('/')[1];
      const handler = this.direct.get(`${service}/${methodName}`);
      if (handler) {
        this.directlyServed.add(handler);
        return handler as unknown as ReturnType<ServerGrpc['getMessageHandler']>;
      }
    }
    return super.getMessageHandler(serviceName, methodName, streaming, grpcMethod);
  }

  override createUnaryServiceMethod(methodHandler: UnaryHandler): (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => void {
    const failed = this.directlyServed.has(methodHandler)
      ? (e: unknown, callback: sendUnaryData<unknown>) => answerFrom(this.errors.catch(e, undefined as never), callback)
      : (e: unknown, callback: sendUnaryData<unknown>) => callback(e as Error);
    return (call, callback) => {
      let result: unknown;
      try {
        result = methodHandler(call.request, call.metadata, call);
      } catch (e) {
        failed(e, callback);
        return;
      }
      if (result instanceof Promise) {
        result.then(
          (value) => (isObservable(value) ? answerFrom(value, callback) : callback(null, value)),
          (e: unknown) => failed(e, callback),
        );
      } else if (isObservable(result)) {
        answerFrom(result, callback);
      } else {
        callback(null, result);
      }
    };
  }
}

/** The first value of an Observable answers the call; its error answers it as an error. */
function answerFrom(source: Observable<unknown>, callback: sendUnaryData<unknown>): void {
  let answered = false;
  source.subscribe({
    next: (value) => {
      if (answered) return;
      answered = true;
      Promise.resolve(value).then(
        (v) => callback(null, v),
        (e: unknown) => callback(e as Error),
      );
    },
    error: (e: unknown) => {
      if (answered) return;
      answered = true;
      callback(e as Error);
    },
    complete: () => {
      // Nest would leave the call hanging; a handler that produced nothing is a server fault.
      if (!answered) callback({ code: status.INTERNAL, details: 'internal error: the handler produced no answer' });
    },
  });
}
