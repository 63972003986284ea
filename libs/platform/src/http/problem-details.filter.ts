import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException } from '@nestjs/common';
import { BaseRpcExceptionFilter } from '@nestjs/microservices';
import type { ServerResponse } from 'node:http';

const PROBLEM_BASE = 'https://open-kms.dev/problems/';
const TITLES: Record<number, string> = { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 503: 'UNAVAILABLE' };

/** RFC 9457 problem details with the KMS's members: code, and the field when one is at fault. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  field?: string;
  [extension: string]: unknown;
}

/** The problem an HttpException (or anything else thrown) becomes; object bodies are kept as extension members. */
export function toProblemDetails(e: unknown): ProblemDetails {
  const status = e instanceof HttpException ? e.getStatus() : 500;
  const body = e instanceof HttpException ? e.getResponse() : undefined;
  const members = body && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  const code = typeof members['code'] === 'string' ? members['code'] : (TITLES[status] ?? (status >= 500 ? 'INTERNAL' : 'BAD_REQUEST'));
  const detail =
    typeof members['message'] === 'string'
      ? members['message']
      : typeof body === 'string'
        ? body
        : status === 500
          ? 'internal error'
          : e instanceof Error
            ? e.message
            : String(e);
  const { message: _message, statusCode: _statusCode, error: _error, ...extensions } = members;
  void _message;
  void _statusCode;
  void _error;
  return {
    ...extensions,
    type: `${PROBLEM_BASE}${code.toLowerCase().replace(/_/g, '-')}`,
    title: code,
    status,
    detail,
    code,
    ...(typeof members['field'] === 'string' ? { field: members['field'] } : {}),
  };
}

/**
 * Every HTTP endpoint answers errors in one format (RFC 9457 `application/problem+json`, naming the
 * field), whether a controller threw a Nest exception, a route does not exist, or a bug escaped
 * (500, no details). The compliance API writes the same shape itself (it audits first).
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  // A microservice sharing the app's config (the gRPC server) inherits global filters: its errors
  // keep Nest's own RPC handling.
  private readonly rpc = new BaseRpcExceptionFilter();

  catch(e: unknown, host: ArgumentsHost): unknown {
    if (host.getType() !== 'http') return this.rpc.catch(e, host);
    const res = host.switchToHttp().getResponse<ServerResponse>();
    const problem = toProblemDetails(e);
    res.statusCode = problem.status;
    res.setHeader('content-type', 'application/problem+json');
    res.end(JSON.stringify(problem));
    return undefined;
  }
}
