import { randomUUID } from 'node:crypto';
import type { Metadata, ServerUnaryCall } from '@grpc/grpc-js';
import type { CallContext } from '@kms/application';

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

function first(metadata: Metadata, key: string): string | undefined {
  const v = metadata.get(key)[0];
  return typeof v === 'string' ? v : undefined;
}

/**
 * Request facts from gRPC metadata, before authentication: the request id comes from `x-request-id`
 * or is generated (and is echoed back so a client can find its audit record). The actor is filled in
 * from the verified token by the CallGate.
 */
export function callContext(metadata: Metadata, call: ServerUnaryCall<unknown, unknown>): CallContext {
  const requested = first(metadata, 'x-request-id');
  const requestId = requested && REQUEST_ID_PATTERN.test(requested) ? requested : randomUUID();
  return { actor: 'unauthenticated', requestId, sourceAddress: call.getPeer() };
}
