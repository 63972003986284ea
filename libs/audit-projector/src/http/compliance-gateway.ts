import type { IncomingMessage, ServerResponse } from 'node:http';
import { AuditedExecutor, type AuditLog, Authorizer, CallPipeline, type CallScope, type ChangeRuntime, type Clock, type IdentityService, type IncomingCall, type OperationFacts, unreadableHttpCall } from '@kms/application';
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

  /** The code its audit record carries (see AuditedExecutor). */
  get auditCode(): string {
    return this.code;
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
    case 'MALFORMED_REQUEST':
      return 400;
    case 'ILLEGAL_TRANSITION':
    case 'CONCURRENCY_CONFLICT':
      return 409;
    default:
      return 503;
  }
}

/** The operations the compliance API serves, as the role matrix names them. */
export type ComplianceOperation = 'ReadAudit' | 'ExportEvidence' | 'RegisterLegalArtifact' | 'WithdrawLegalArtifact';

/**
 * The HTTP adapter of the one audited-call pipeline (CallPipeline, as the gRPC API's CallGate):
 * bearer token → principal → role gate → handler → audit record → answer. The audit record is made
 * durable before anything is sent; if it cannot be, the caller gets 503 and nothing else (fail
 * closed). Refusals are RFC 9457 problem details naming the field. A `change` call (legal
 * artifacts) runs as the gRPC API's changes do: the events its handler appends through the
 * call-scoped store commit with its audit record (`changes`: the event store and the KMS's change
 * committer), or neither does; without `changes` such a call is refused, audited, and nothing is written.
 */
export class ComplianceGateway {
  private readonly pipeline: CallPipeline;

  constructor(
    identity: IdentityService,
    audit: AuditLog,
    clock: Clock,
    private readonly changes?: ChangeRuntime,
  ) {
    this.pipeline = new CallPipeline(identity, new Authorizer(), new AuditedExecutor(audit, clock, changes));
  }

  /** Audit a request whose body the HTTP server refused before any route ran (not JSON, too large). */
  refuseUnreadable(req: HttpRequest, refusal: { reason: string; message: string; size: number }): Promise<void> {
    return this.pipeline.refuseUnreadable(unreadableHttpCall(req, refusal));
  }

  /** Whether change calls can commit here (an event store and change committer were given). */
  get acceptsChanges(): boolean {
    return this.changes !== undefined;
  }

  async handle(
    req: HttpRequest,
    res: ServerResponse,
    spec: { operation: ComplianceOperation; route: string; keyId?: string; change?: { request: unknown } },
    work: (principal: Principal, facts: OperationFacts, requestId: string) => Promise<HttpAnswer>,
  ): Promise<void> {
    const auth = req.headers['authorization'];
    const id = req.headers['x-request-id'];
    const peer = req.ip ?? req.socket.remoteAddress;
    const incoming: IncomingCall = {
      operation: spec.operation,
      ...(typeof auth === 'string' ? { authorization: auth } : {}),
      ...(typeof id === 'string' ? { requestId: id } : {}),
      ...(peer ? { peer } : {}),
      details: { transport: 'http', route: spec.route },
    };
    const ctx = this.pipeline.begin(incoming);
    let answer: HttpAnswer;
    try {
      const handler = async ({ principal, facts, ctx: call }: CallScope): Promise<HttpAnswer> => {
        if (spec.keyId && isUuid(spec.keyId)) facts.keyId = spec.keyId;
        if (spec.change && !this.changes) throw new HttpProblem(503, 'CHANGES_NOT_CONFIGURED', 'this compliance API cannot record changes (no event store change committer is configured in this process)');
        const a = await work(principal, facts, call.requestId);
        facts.details = { ...facts.details, ...(a.details ?? {}) };
        return a;
      };
      answer = spec.change && this.changes ? await this.pipeline.runChange(ctx, incoming, spec.change.request, handler) : await this.pipeline.run(ctx, incoming, handler);
    } catch (e) {
      const p = toProblem(e);
      problem(res, p.status, p.code, p.message, ctx.requestId, p.field);
      return;
    }
    res.statusCode = answer.status ?? 200;
    res.setHeader('x-request-id', ctx.requestId);
    for (const [k, v] of Object.entries(answer.headers ?? {})) res.setHeader(k, v);
    if (answer.body) {
      res.setHeader('content-type', answer.contentType ?? 'application/octet-stream');
      res.end(answer.body);
    } else {
      res.setHeader('content-type', answer.contentType ?? 'application/json');
      res.end(JSON.stringify(answer.json ?? null));
    }
  }
}

/** The one mapping of a refusal to problem details (HTTP status, code, message, field). */
function toProblem(e: unknown): { status: number; code: string; message: string; field?: string } {
  if (e instanceof KmsError) return { status: statusOf(e), code: e.code, message: e.message, ...(e.field ? { field: e.field } : {}) };
  if (e instanceof HttpProblem) return { status: e.status, code: e.code, message: e.message, ...(e.field ? { field: e.field } : {}) };
  return { status: 500, code: 'INTERNAL', message: 'internal error' };
}
