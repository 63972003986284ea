import { type ServerUnaryCall, status } from '@grpc/grpc-js';
import { EMPTY, of, throwError } from 'rxjs';
import { LeanGrpcServer } from './lean-grpc-server';

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
