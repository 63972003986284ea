import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { type AuditLog, type AuditOutcome, Authorizer, type Clock, type IdentityService } from '@kms/application';
import { isUuid, KmsError, type Principal } from '@kms/domain';

/** The request as Express hands it to a controller (only what the gateway reads). */
export type HttpRequest = IncomingMessage & { query: Record<string, unknown>; ip?: string };

/** What a handler answers when it succeeds. */
export interface HttpAnswer {
  status?: number;
  json?: unknown;
  body?: Buffer;
  contentType?: string;
  headers?: Record<string, string>;
  /** Facts for the audit record (never secrets). */
  details?: Record<string, string | number | boolean>;
}

/** A refusal the handler raises for bad input, absent data or an unready projection. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

const PROBLEM_BASE = 'https://open-kms.dev/problems/';

function problem(res: ServerResponse, status: number, code: string, detail: string, requestId: string, field?: string): void {
  const body = {
    type: `${PROBLEM_BASE}${code.toLowerCase().replace(/_/g, '-')}`,
    title: code,
    status,
    detail,
    code,
    ...(field ? { field } : {}),
    requestId,
  };
  res.statusCode = status;
  res.setHeader('content-type', 'application/problem+json');
  res.setHeader('x-request-id', requestId);
  res.end(JSON.stringify(body));
}

function statusOf(e: KmsError): number {
  switch (e.code) {
    case 'UNAUTHENTICATED':
      return 401;
    case 'PERMISSION_DENIED':
      return 403;
    case 'INVALID_ARGUMENT':
      return 400;
    default:
      return 503;
  }
}

/**
 * Every compliance call goes through here: bearer token → principal → role gate → handler → audit
 * record → answer. The audit record is made durable before anything is sent; if it cannot be, the
 * caller gets 503 and nothing else (fail closed, like the gRPC API).
 */
export class ComplianceGateway {
  private readonly authorizer = new Authorizer();

  constructor(
    private readonly identity: IdentityService,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
  ) {}

  async handle(
    req: HttpRequest,
    res: ServerResponse,
    spec: { operation: 'ReadAudit' | 'ExportEvidence'; route: string; keyId?: string },
    work: (principal: Principal) => Promise<HttpAnswer>,
  ): Promise<void> {
    const header = req.headers['x-request-id'];
    const requestId = typeof header === 'string' && header.length > 0 && header.length <= 128 ? header : randomUUID();
    let principal: Principal | undefined;
    let answer: HttpAnswer | undefined;
    let refusal: { status: number; code: string; message: string; field?: string } | undefined;
    let outcome: AuditOutcome = 'SUCCESS';
    try {
      const auth = req.headers['authorization'];
      const m = typeof auth === 'string' ? /^Bearer\s+(\S+)$/i.exec(auth) : null;
      if (!m) throw new KmsError('UNAUTHENTICATED', 'unauthenticated: an "authorization: Bearer <token>" header is required');
      principal = await this.identity.authenticate(m[1]);
      this.authorizer.forOperation(principal, spec.operation);
      answer = await work(principal);
    } catch (e) {
      if (e instanceof KmsError) {
        refusal = { status: statusOf(e), code: e.code, message: e.message, ...(e.field ? { field: e.field } : {}) };
        outcome = e.code === 'UNAUTHENTICATED' || e.code === 'PERMISSION_DENIED' ? 'DENIED' : 'FAILURE';
      } else if (e instanceof HttpProblem) {
        refusal = { status: e.status, code: e.code, message: e.message, ...(e.field ? { field: e.field } : {}) };
        outcome = 'FAILURE';
      } else {
        refusal = { status: 500, code: 'INTERNAL', message: 'internal error' };
        outcome = 'FAILURE';
      }
    }
    try {
      await this.audit.append({
        id: randomUUID(),
        time: this.clock.now(),
        requestId,
        operation: spec.operation,
        actor: principal?.identityId ?? 'anonymous',
        ...(principal ? { actorRole: principal.roles.join(',') || principal.kind.toLowerCase() } : {}),
        ...(spec.keyId && isUuid(spec.keyId) ? { keyId: spec.keyId } : {}),
        outcome,
        ...(refusal ? { errorCode: refusal.code } : {}),
        ...(req.ip || req.socket.remoteAddress ? { sourceAddress: req.ip ?? req.socket.remoteAddress ?? '' } : {}),
        details: { transport: 'http', route: spec.route, ...(answer?.details ?? {}) },
      });
    } catch {
      problem(res, 503, 'AUDIT_UNAVAILABLE', 'audit log unavailable: the request was refused', requestId);
      return;
    }
    if (refusal) {
      problem(res, refusal.status, refusal.code, refusal.message, requestId, refusal.field);
      return;
    }
    const a = answer ?? {};
    res.statusCode = a.status ?? 200;
    res.setHeader('x-request-id', requestId);
    for (const [k, v] of Object.entries(a.headers ?? {})) res.setHeader(k, v);
    if (a.body) {
      res.setHeader('content-type', a.contentType ?? 'application/octet-stream');
      res.end(a.body);
    } else {
      res.setHeader('content-type', a.contentType ?? 'application/json');
      res.end(JSON.stringify(a.json ?? null));
    }
  }
}
