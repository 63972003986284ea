import { type ServerUnaryCall, status } from '@grpc/grpc-js';
import { Logger, UseFilters, UseGuards, UseInterceptors, UsePipes } from '@nestjs/common';
import { GrpcMethod, GrpcMethodStreamingType, Payload, RpcException } from '@nestjs/microservices';
import { EMPTY, of, throwError } from 'rxjs';
import { directUnaryHandlers, LeanGrpcServer } from './lean-grpc-server';

type Answer = { error: unknown; value: unknown };

/** Call the unary method LeanGrpcServer makes for `handler`, and wait for its answer. */
function answer(handler: (request: unknown) => unknown): Promise<Answer> {
  const server = new LeanGrpcServer({ url: '127.0.0.1:0', package: 'x', protoPath: 'x.proto' });
  const method = server.createUnaryServiceMethod((request: unknown) => handler(request));
  const call = { request: { n: 1 }, metadata: {} } as unknown as ServerUnaryCall<unknown, unknown>;
  return new Promise((resolve) => method(call, (error, value) => resolve({ error, value })));
}

describe('LeanGrpcServer unary path', () => {
  it('answers with what the handler returns, directly or through a promise', async () => {
    expect(await answer((r) => ({ echoed: r }))).toEqual({ error: null, value: { echoed: { n: 1 } } });
    expect(await answer(async () => ({ ok: true }))).toEqual({ error: null, value: { ok: true } });
  });

  it('answers with the first value of an Observable (what Nest interceptors return)', async () => {
    expect(await answer(async () => of({ first: true }, { second: true }))).toEqual({ error: null, value: { first: true } });
  });

  it('answers with the error a handler throws, rejects with, or an Observable raises (Nest exception filters)', async () => {
    const refusal = { code: status.INVALID_ARGUMENT, details: 'key_id: must be a UUID' };
    expect((await answer(() => { throw refusal; })).error).toBe(refusal);
    expect((await answer(() => Promise.reject(refusal))).error).toBe(refusal);
    expect((await answer(async () => throwError(() => refusal))).error).toBe(refusal);
  });

  it('answers INTERNAL instead of hanging when an Observable completes with nothing', async () => {
    const { error } = await answer(async () => EMPTY);
    expect(error).toMatchObject({ code: status.INTERNAL });
  });
});

describe('LeanGrpcServer direct methods', () => {
  class Api {
    readonly served = 'api';

    @GrpcMethod('Svc', 'Echo')
    echo(request: { n: number }) {
      return Promise.resolve({ n: request.n, by: this.served });
    }

    @GrpcMethod('Svc', 'Refuse')
    refuse() {
      return Promise.reject(new RpcException({ code: status.PERMISSION_DENIED, details: 'permission denied' }));
    }

    @GrpcMethod('Svc', 'Bug')
    bug(): Promise<never> {
      return Promise.reject(new Error('secret internal detail'));
    }

    @GrpcMethod('Svc', 'Throws')
    throws(): never {
      throw new Error('secret internal detail');
    }

    helper() {
      return 'not an RPC';
    }
  }

  function server(): LeanGrpcServer {
    return new LeanGrpcServer({ url: '127.0.0.1:0', package: 'x', protoPath: 'x.proto' }, () => [new Api()]);
  }

  function directAnswer(s: LeanGrpcServer, rpc: string): Promise<Answer> {
    const handler = s.getMessageHandler('Svc', rpc, GrpcMethodStreamingType.NO_STREAMING, {});
    if (!handler) throw new Error(`no handler for ${rpc}`);
    const method = s.createUnaryServiceMethod(handler) as (call: ServerUnaryCall<unknown, unknown>, cb: (error: unknown, value: unknown) => void) => void;
    const call = { request: { n: 7 }, metadata: {} } as unknown as ServerUnaryCall<unknown, unknown>;
    return new Promise((resolve) => method(call, (error, value) => resolve({ error, value })));
  }

  it('finds the unary methods of the controllers by service and method, and calls them on their instance', async () => {
    expect([...directUnaryHandlers([new Api()]).keys()]).toEqual(['Svc/Echo', 'Svc/Refuse', 'Svc/Bug', 'Svc/Throws']);
    expect(await directAnswer(server(), 'Echo')).toEqual({ error: null, value: { n: 7, by: 'api' } });
  });

  it('answers an RpcException with its error, and anything else as Nest does: an internal error without its message', async () => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const s = server();
    expect((await directAnswer(s, 'Refuse')).error).toEqual({ code: status.PERMISSION_DENIED, details: 'permission denied' });
    for (const rpc of ['Bug', 'Throws']) {
      const { error } = await directAnswer(s, rpc);
      expect(error).toEqual({ status: 'error', message: 'Internal server error' });
      expect(JSON.stringify(error)).not.toContain('secret');
    }
  });

  it('refuses a method with a Nest guard, interceptor, pipe, filter or parameter decorator, and an RPC served twice', () => {
    class Guarded {
      @GrpcMethod('Svc', 'A')
      @UseGuards(class {
        canActivate() {
          return true;
        }
      })
      a() {
        return undefined;
      }
    }
    @UseInterceptors(class {
      intercept() {
        return of(undefined);
      }
    })
    class Intercepted {
      @GrpcMethod('Svc', 'B')
      b() {
        return undefined;
      }
    }
    class Piped {
      @GrpcMethod('Svc', 'C')
      @UsePipes(class {
        transform(v: unknown) {
          return v;
        }
      })
      c() {
        return undefined;
      }
    }
    class Filtered {
      @GrpcMethod('Svc', 'D')
      @UseFilters(class {
        catch() {
          return undefined;
        }
      })
      d() {
        return undefined;
      }
    }
    class Decorated {
      @GrpcMethod('Svc', 'E')
      e(@Payload() request: unknown) {
        return request;
      }
    }
    expect(() => directUnaryHandlers([new Guarded()])).toThrow(/Guarded\.a has Nest guards/);
    expect(() => directUnaryHandlers([new Intercepted()])).toThrow(/Intercepted\.b has Nest interceptors/);
    expect(() => directUnaryHandlers([new Piped()])).toThrow(/Piped\.c has Nest pipes/);
    expect(() => directUnaryHandlers([new Filtered()])).toThrow(/Filtered\.d has Nest exception filters/);
    expect(() => directUnaryHandlers([new Decorated()])).toThrow(/Decorated\.e has Nest parameter decorators/);
    expect(() => directUnaryHandlers([new Api(), new Api()])).toThrow(/Svc\/Echo is served by two controller methods/);
  });

  it('leaves methods of controllers it was not given to Nest', () => {
    const s = server();
    const nest = () => undefined;
    s.addHandler(JSON.stringify({ service: 'Other', rpc: 'X', streaming: GrpcMethodStreamingType.NO_STREAMING }), nest as never);
    expect(s.getMessageHandler('Other', 'X', GrpcMethodStreamingType.NO_STREAMING, {})).toBe(nest);
  });
});
