import { Metadata, status, type StatusObject } from '@grpc/grpc-js';

/** What grpc-js hands a status responder (its PartialStatusObject, not exported by name). */
type PartialStatusObject = Pick<StatusObject, 'code' | 'details'> & { metadata?: Metadata | null };

/** Largest request message the KMS decodes (grpc-js's default limit, which the KMS always had). */
export const MAX_REQUEST_BYTES = 4 * 1024 * 1024;
/** Largest frame grpc-js reads at all; between the two the refusal names the exact size. */
export const MAX_FRAME_BYTES = 2 * MAX_REQUEST_BYTES;

/**
 * What a request that could not be decoded becomes: the handler receives this instead of a message,
 * and the call gate audits and refuses it (INVALID_ARGUMENT, MALFORMED_REQUEST).
 */
export class MalformedRequest {
  constructor(
    readonly reason: 'undecodable' | 'too-large',
    readonly size: number,
  ) {}

  message(): string {
    return this.reason === 'too-large'
      ? `malformed request: the message is ${this.size} bytes, more than the ${MAX_REQUEST_BYTES} this server accepts`
      : `malformed request: ${this.size} bytes that are not a valid message of this method`;
  }
}

interface MethodDefinition {
  requestDeserialize: (bytes: Buffer) => unknown;
}

/**
 * Replace every method's request decoder with one that never throws: an undecodable or oversized
 * message becomes a MalformedRequest for the handler to audit and refuse. Without this grpc-js
 * answers INTERNAL before any KMS code runs, and nothing is audited.
 */
export function guardRequestDecoding(packageDefinition: Record<string, unknown>, maxBytes = MAX_REQUEST_BYTES): void {
  for (const service of Object.values(packageDefinition)) {
    if (!service || typeof service !== 'object' || 'format' in service) continue; // message types, not services
    for (const method of Object.values(service as Record<string, MethodDefinition>)) {
      if (typeof method?.requestDeserialize !== 'function') continue;
      const decode = method.requestDeserialize;
      method.requestDeserialize = (bytes: Buffer) => {
        if (bytes.length > maxBytes) return new MalformedRequest('too-large', bytes.length);
        try {
          return decode(bytes);
        } catch {
          return new MalformedRequest('undecodable', bytes.length);
        }
      };
    }
  }
}

/** A call refused by the transport itself before a handler ran (bad compression, bad deadline header, too large a frame). */
export interface FrameRefusal {
  /** The RPC name, e.g. "Encrypt". */
  operation: string;
  peer: string;
  reason: string;
  /** The call's x-request-id, when it sent a usable one. */
  requestId?: string;
}

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** Patterns of the statuses grpc-js sends for requests it cannot read (client faults, not bugs). */
const TRANSPORT_REFUSALS: Array<{ code: status; pattern: RegExp; reason: string }> = [
  { code: status.INTERNAL, pattern: /decompress/i, reason: 'the message could not be decompressed' },
  { code: status.INTERNAL, pattern: /deserializ/i, reason: 'the message could not be decoded' },
  { code: status.INTERNAL, pattern: /grpc-timeout/i, reason: 'the grpc-timeout header is invalid' },
  { code: status.RESOURCE_EXHAUSTED, pattern: /larger than/i, reason: 'the message is larger than this server accepts' },
  { code: status.UNIMPLEMENTED, pattern: /unsupported encoding/i, reason: 'the message is compressed with an encoding this server does not support' },
  { code: status.UNIMPLEMENTED, pattern: /Received (a second|no) request message/i, reason: 'a unary method takes exactly one complete message' },
];

interface BaseCall {
  handler?: { path?: string };
  metadata?: Metadata;
  stream?: { session?: { socket?: { localPort?: number } } };
  getPeer(): string;
  sendStatus(s: PartialStatusObject): void;
}

/** Guards by the local port of the server they watch (a process may run several servers in tests). */
const guards = new Map<number, FrameGuard>();
let patched = false;

/**
 * grpc-js answers requests it cannot read (bad compression, bad grpc-timeout, a frame over the size
 * limit) from its base call object, below the interceptor chain, so neither handlers nor server
 * interceptors see them. Its sendStatus is wrapped, once per process, so those answers are audited
 * and turned into INVALID_ARGUMENT before they leave. Matched by the exact wording of grpc-js 1.x;
 * the wire fuzz test (grpc-fuzz.e2e-spec.ts) fails if an upgrade changes it.
 */
function patchBaseCall(): void {
  if (patched) return;
  patched = true;
  const internals = require('@grpc/grpc-js/build/src/server-interceptors') as { BaseServerInterceptingCall: { prototype: BaseCall } };
  const proto = internals.BaseServerInterceptingCall.prototype;
  const original = proto.sendStatus;
  proto.sendStatus = function (this: BaseCall & { kmsRefused?: boolean; cancelled?: boolean }, s: PartialStatusObject): void {
    // A refused call answers once, with the refusal; whatever grpc-js says after it is dropped.
    if (this.kmsRefused) return;
    const guard = guards.get(this.stream?.session?.socket?.localPort ?? -1);
    const refusal = guard ? TRANSPORT_REFUSALS.find((r) => r.code === s.code && r.pattern.test(s.details)) : undefined;
    if (!guard || !refusal) return original.call(this, s);
    this.kmsRefused = true;
    // Treated as cancelled meanwhile, so no later frame reaches a handler (one call, one record).
    this.cancelled = true;
    const id = this.metadata?.get('x-request-id')[0];
    const operation = this.handler?.path?.split('/').pop() || 'unknown';
    const answer = (a: PartialStatusObject): void => {
      this.cancelled = false;
      original.call(this, a);
    };
    guard
      .audit({ operation, peer: this.getPeer(), reason: refusal.reason, ...(typeof id === 'string' && REQUEST_ID_PATTERN.test(id) ? { requestId: id } : {}) })
      .then(
        () => answer({ code: status.INVALID_ARGUMENT, details: `malformed request: ${refusal.reason}`, metadata: refusalMetadata('MALFORMED_REQUEST') }),
        () => answer({ code: status.UNAVAILABLE, details: 'audit log unavailable: the request was refused', metadata: refusalMetadata('AUDIT_UNAVAILABLE') }),
      );
  };
}

/**
 * Audits and answers the calls grpc-js refuses before any handler runs. Watches the server on one
 * port; told later how to audit (once the application is composed). Fails closed: until it has an
 * auditor, and when auditing fails, such calls are answered UNAVAILABLE.
 */
export class FrameGuard {
  private auditor?: (refusal: FrameRefusal) => Promise<void>;

  constructor(readonly port: number) {
    patchBaseCall();
    guards.set(port, this);
  }

  useAuditor(auditor: (refusal: FrameRefusal) => Promise<void>): void {
    this.auditor = auditor;
  }

  audit(refusal: FrameRefusal): Promise<void> {
    return this.auditor ? this.auditor(refusal) : Promise.reject(new Error('no auditor yet'));
  }

  /** Stop watching (the server closed). */
  release(): void {
    if (guards.get(this.port) === this) guards.delete(this.port);
  }
}

function refusalMetadata(code: string): Metadata {
  const m = new Metadata();
  m.set('kms-error-code', code);
  return m;
}
