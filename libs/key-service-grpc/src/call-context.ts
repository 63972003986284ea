import { randomUUID } from 'node:crypto';
import type { Metadata, ServerUnaryCall } from '@grpc/grpc-js';
import type { CallContext } from '@kms/application';

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
const ACTOR_PATTERN = /^[A-Za-z0-9._:@/-]{1,256}$/;

function first(metadata: Metadata, key: string): string | undefined {
  const v = metadata.get(key)[0];
  return typeof v === 'string' ? v : undefined;
}

/**
 * Caller facts from gRPC metadata. Until token authentication lands the caller names itself with
 * `x-kms-actor`; the request id comes from `x-request-id` or is generated, and is echoed back in the
 * response headers so a client can find its audit record.
 */
export function callContext(metadata: Metadata, call: ServerUnaryCall<unknown, unknown>): CallContext {
  const requested = first(metadata, 'x-request-id');
  const requestId = requested && REQUEST_ID_PATTERN.test(requested) ? requested : randomUUID();
  const actorHeader = first(metadata, 'x-kms-actor');
  const actor = actorHeader && ACTOR_PATTERN.test(actorHeader) ? actorHeader : 'anonymous';
  return { actor, requestId, sourceAddress: call.getPeer() };
}
