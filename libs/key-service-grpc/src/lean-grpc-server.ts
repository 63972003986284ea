import { type sendUnaryData, type ServerUnaryCall, status } from '@grpc/grpc-js';
import { ServerGrpc } from '@nestjs/microservices';
import { isObservable, type Observable } from 'rxjs';

type UnaryHandler = (request: unknown, metadata: unknown, call: ServerUnaryCall<unknown, unknown>) => unknown;

/**
 * Nest's gRPC server with a leaner unary path. Nest answers a unary call by copying the call object
 * into a processing-hook context (`{ ...call }`, every call, even with no hook set) and turning the
 * handler's result into an rxjs pipeline. Here the handler (still Nest's: guards, pipes,
 * interceptors and exception filters all run) is awaited and answered directly; an Observable (what
 * Nest's exception handling returns for an error) is still subscribed to. The processing hooks are
 * not called: nothing in the KMS sets them (tracing is in the call pipeline, see tracing.ts).
 */
export class LeanGrpcServer extends ServerGrpc {
  override createUnaryServiceMethod(methodHandler: UnaryHandler): (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => void {
    return (call, callback) => {
      let result: unknown;
      try {
        result = methodHandler(call.request, call.metadata, call);
      } catch (e) {
        callback(e as Error);
        return;
      }
      Promise.resolve(result).then(
        (value) => (isObservable(value) ? answerFrom(value, callback) : callback(null, value)),
        (e: unknown) => callback(e as Error),
      );
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
