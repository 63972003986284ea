import { randomUUID } from 'node:crypto';
import { KmsError, type Principal } from '@kms/domain';
import { AuditedExecutor, type CallContext, type ChangeOptions } from '../audit/audited-operation';
import type { OperationFacts } from '../crypto/crypto.service';
import { Authorizer, type KeyAccessCheck } from '../access/authorizer';
import { IdentityService, SuspendedIdentityError } from '../access/identity.service';
import { SpanKind, traced } from './tracing';
import { type CallLogContext, withCallLogContext } from './call-log-context';

/** What a transport knows about a call before anything is checked. */
export interface IncomingCall {
  /** The operation, e.g. "Encrypt" (the role matrix's name for it). */
  operation: string;
  /** The raw `authorization` value (header or metadata), if any. */
  authorization?: string;
  /** The request id the client sent (x-request-id), if any; used only when well-formed. */
  requestId?: string;
  /** The peer, for the audit record. */
  peer?: string;
  /** A request that could not be decoded: refused and audited with what is known. */
  malformed?: { message: string; size: number; reason: string };
  /** A TLS client certificate the transport verified (KMIP mutual TLS): authenticates instead of a bearer token. */
  clientCertificate?: { fingerprint: string; subject: string };
  /** Facts every audit record of the call carries, refusals included (e.g. the HTTP route). */
  details?: Record<string, string | number | boolean>;
}

/**
 * Run a handler with the transport's details (e.g. `protocol: 'KMIP'`) in its facts, whatever the
 * handler does to them and however it ends: they are put back after it, so a handler that sets
 * `facts.details` wholesale, or throws, still leaves them in the audit record.
 */
function seeded<T>(facts: OperationFacts, incoming: IncomingCall, fn: (facts: OperationFacts) => Promise<T> | T): Promise<T> | T {
  return incoming.details ? seededWith(facts, incoming.details, fn) : fn(facts);
}

async function seededWith<T>(facts: OperationFacts, details: NonNullable<IncomingCall['details']>, fn: (facts: OperationFacts) => Promise<T> | T): Promise<T> {
  facts.details = { ...details, ...facts.details };
  try {
    return await fn(facts);
  } finally {
    facts.details = { ...facts.details, ...details };
  }
}

/** What a handler gets once the caller is authenticated and allowed to call the operation. */
export interface CallScope {
  ctx: CallContext;
  facts: OperationFacts;
  principal: Principal;
  /** Key-level check from the key policy, for key-scoped work. */
  access: KeyAccessCheck;
}

/** Told how every call ended, for per-operation counters and latency histograms (metrics). */
export interface CallObserver {
  /** `code` is `OK` or the KMS error code the caller got. */
  observe(operation: string, code: string, seconds: number): void;
}

function codeOf(e: unknown): string {
  if (e instanceof KmsError) return e.code;
  const coded = (e as { auditCode?: unknown } | null)?.auditCode;
  return typeof coded === 'string' ? coded : 'INTERNAL';
}

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
const BEARER = /^Bearer\s+([A-Za-z0-9._~+/=-]+)$/i;

/** The token of an `authorization: Bearer <token>` value (the only place the scheme is parsed). */
export function bearerToken(authorization: string | undefined): string | undefined {
  return authorization === undefined ? undefined : BEARER.exec(authorization.trim())?.[1];
}

function actorRole(p: Principal): string {
  return p.kind === 'WORKLOAD' ? 'workload' : p.roles.join(',');
}

/**
 * The one audited-call pipeline, whatever the transport: request id → authentication (bearer token)
 * → the role matrix → the operation → a durable audit record for every outcome, refusals included,
 * before the answer leaves. Transports (gRPC, HTTP, and the coming console and KMIP) only translate
 * their request into an IncomingCall and the thrown KmsError into their own error format.
 */
export class CallPipeline {
  constructor(
    private readonly identities: IdentityService,
    private readonly authorizer: Authorizer,
    private readonly executor: AuditedExecutor,
    private readonly observer?: CallObserver,
  ) {}

  /** Trace and time a call, tell the observer how it ended, and name it on every log line under it. */
  private observed<T>(ctx: CallContext, operation: string, work: (log: CallLogContext) => Promise<T>): Promise<T> {
    const log: CallLogContext = { requestId: ctx.requestId, rpc: operation, actor: ctx.actor };
    return withCallLogContext(log, () => traced(`kms.rpc ${operation}`, { 'rpc.method': operation }, () => this.measured(operation, () => work(log)), SpanKind.SERVER));
  }

  private async measured<T>(operation: string, work: () => Promise<T>): Promise<T> {
    if (!this.observer) return work();
    const started = process.hrtime.bigint();
    const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9;
    try {
      const result = await work();
      this.observer.observe(operation, 'OK', seconds());
      return result;
    } catch (e) {
      this.observer.observe(operation, codeOf(e), seconds());
      throw e;
    }
  }

  /** The call's context before authentication: its request id (the client's when well-formed). */
  begin(incoming: IncomingCall): CallContext {
    const chosen = incoming.requestId !== undefined && REQUEST_ID_PATTERN.test(incoming.requestId) ? incoming.requestId : undefined;
    return {
      actor: 'unauthenticated',
      requestId: chosen ?? randomUUID(),
      ...(chosen ? { clientRequestId: chosen } : {}),
      ...(incoming.peer ? { sourceAddress: incoming.peer } : {}),
    };
  }

  /** An authenticated, authorized, audited call that changes nothing. */
  run<T>(ctx: CallContext, incoming: IncomingCall, fn: (scope: CallScope) => Promise<T> | T): Promise<T> {
    return this.observed(ctx, incoming.operation, async (log) => {
      const admitted = await this.admit(ctx, incoming);
      log.actor = admitted.ctx.actor;
      return this.executor.run(admitted.ctx, incoming.operation, (facts) => seeded(facts, incoming, (f) => fn({ ...admitted, facts: f })));
    });
  }

  /** A call that may change state: its events commit with its audit record; retries by request id are idempotent. */
  runChange<T>(ctx: CallContext, incoming: IncomingCall, request: unknown, fn: (scope: CallScope) => Promise<T> | T, options: Omit<ChangeOptions<T>, 'request'> = {}): Promise<T> {
    return this.observed(ctx, incoming.operation, async (log) => {
      const admitted = await this.admit(ctx, incoming);
      log.actor = admitted.ctx.actor;
      return this.executor.runChange(admitted.ctx, incoming.operation, (facts) => seeded(facts, incoming, (f) => fn({ ...admitted, facts: f })), { ...options, request });
    });
  }

  /** A batch: admitted once, one audit record for the call holding every item (batchAuditRecord), durable before any result is released. */
  async runBatch<I, T>(
    ctx: CallContext,
    incoming: IncomingCall,
    items: (scope: Omit<CallScope, 'facts'>) => I[] | Promise<I[]>,
    fn: (item: I, scope: CallScope) => Promise<T>,
  ): Promise<Array<{ ok: true; value: T } | { ok: false; error: unknown }>> {
    return this.observed(ctx, incoming.operation, async (log) => {
      const admitted = await this.admit(ctx, incoming);
      log.actor = admitted.ctx.actor;
      const list = await items(admitted);
      return this.executor.runBatch(admitted.ctx, incoming.operation, list, (item, facts) => seeded(facts, incoming, (f) => fn(item, { ...admitted, facts: f })));
    });
  }

  /** A call that authenticates itself (IssueToken): audited, no bearer token. */
  runUnauthenticated<T>(ctx: CallContext, incoming: IncomingCall, actor: string, fn: (facts: OperationFacts) => Promise<T>): Promise<T> {
    return this.observed(ctx, incoming.operation, async (log) => {
      const named = { ...ctx, actor };
      log.actor = actor;
      if (incoming.malformed) await this.refuseMalformed(named, incoming);
      return this.executor.run(named, incoming.operation, fn);
    });
  }

  /** Audit a refusal decided by the handler outside the executor (e.g. a batch's item list). */
  refuse(ctx: CallContext, operation: string, error: unknown, facts?: OperationFacts): Promise<never> {
    return this.executor.refuse(ctx, operation, error, facts);
  }

  /** Audit a call the transport refused before any handler ran (bad framing, bad compression). */
  async refuseTransport(incoming: IncomingCall, reason: string): Promise<void> {
    await this.executor.refuse(this.begin(incoming), incoming.operation, new KmsError('MALFORMED_REQUEST', `malformed request: ${reason}`)).catch((e: unknown) => {
      if (e instanceof KmsError && e.code === 'MALFORMED_REQUEST') return;
      throw e;
    });
  }

  /**
   * Audit a request whose body the transport could not read (HTTP: not JSON, too large), as
   * MALFORMED_REQUEST naming the caller when its credentials say who. Throws only when the record
   * cannot be written (AUDIT_UNAVAILABLE): the transport then answers 503.
   */
  async refuseUnreadable(incoming: IncomingCall & { malformed: NonNullable<IncomingCall['malformed']> }): Promise<void> {
    await this.refuseMalformed(this.begin(incoming), incoming).catch((e: unknown) => {
      if (e instanceof KmsError && e.code === 'MALFORMED_REQUEST') return;
      throw e;
    });
  }

  /** Authenticate and authorize; a refusal is audited (naming who it was, when known) and thrown. */
  private async admit(anonymous: CallContext, incoming: IncomingCall): Promise<{ ctx: CallContext; principal: Principal; access: KeyAccessCheck }> {
    if (incoming.malformed) await this.refuseMalformed(anonymous, incoming);
    let principal: Principal | undefined;
    try {
      principal = incoming.clientCertificate ? this.identities.authenticateCertificate(incoming.clientCertificate.fingerprint) : await this.identities.authenticate(this.bearer(incoming));
      const access = this.authorizer.forOperation(principal, incoming.operation);
      return { ctx: { ...anonymous, actor: principal.identityId, actorRole: actorRole(principal) }, principal, access };
    } catch (e) {
      const ctx = principal
        ? { ...anonymous, actor: principal.identityId, actorRole: actorRole(principal) }
        : e instanceof SuspendedIdentityError
          ? { ...anonymous, actor: e.identityId }
          : anonymous;
      return this.executor.refuse(ctx, incoming.operation, e, incoming.details ? { details: { ...incoming.details } } : {});
    }
  }

  private bearer(incoming: IncomingCall): string {
    const token = bearerToken(incoming.authorization);
    if (!token) throw new KmsError('UNAUTHENTICATED', 'unauthenticated: send "authorization: Bearer <token>" (get a token with IdentityService/IssueToken)');
    return token;
  }

  /** A request that could not be decoded is refused, audited with the method, peer, size and caller when known. */
  private async refuseMalformed(ctx: CallContext, incoming: IncomingCall): Promise<void> {
    const malformed = incoming.malformed;
    if (!malformed) return;
    const caller = await Promise.resolve()
      .then(() => (incoming.clientCertificate ? this.identities.authenticateCertificate(incoming.clientCertificate.fingerprint) : this.identities.authenticate(bearerToken(incoming.authorization))))
      .catch(() => undefined);
    const named = caller && ctx.actor === 'unauthenticated' ? { ...ctx, actor: caller.identityId, actorRole: actorRole(caller) } : ctx;
    await this.executor.refuse(named, incoming.operation, new KmsError('MALFORMED_REQUEST', malformed.message), {
      details: { ...incoming.details, requestBytes: malformed.size, problem: malformed.reason },
    });
  }
}

/**
 * The audited call an HTTP request whose body was refused stands for: operation `HttpRequest`, the
 * method and path (no query) as its route, the caller's bearer token and request id when sent.
 */
export function unreadableHttpCall(
  req: { method?: string; url?: string; headers: Record<string, string | string[] | undefined>; socket: { remoteAddress?: string } },
  refusal: { reason: string; message: string; size: number },
): IncomingCall & { malformed: NonNullable<IncomingCall['malformed']> } {
  const auth = req.headers['authorization'];
  const id = req.headers['x-request-id'];
  const peer = req.socket.remoteAddress;
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  return {
    operation: 'HttpRequest',
    ...(typeof auth === 'string' ? { authorization: auth } : {}),
    ...(typeof id === 'string' ? { requestId: id } : {}),
    ...(peer ? { peer } : {}),
    details: { transport: 'http', route: `${req.method ?? 'GET'} ${path.slice(0, 256)}` },
    malformed: { message: `malformed request: ${refusal.message}`, size: refusal.size, reason: refusal.reason },
  };
}
