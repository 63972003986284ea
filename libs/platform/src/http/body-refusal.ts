import type { IncomingMessage, ServerResponse } from 'node:http';

/** Bytes of a JSON or form body the HTTP apps read (Express's default): larger is refused 413, audited. */
export const HTTP_BODY_LIMIT_BYTES = 100 * 1024;

/** A request body the parsers refused before any route ran: not JSON, too large, an encoding they do not read. */
export interface BodyRefusal {
  /** The parser's reason, e.g. `entity.parse.failed`, `entity.too.large`. */
  reason: string;
  /** Safe to show and record: never a piece of the body (V8's JSON errors quote the input). */
  message: string;
  /** Bytes declared or received, when known. */
  size: number;
  status: number;
}

/** Audits a refused body (the app's call pipeline), naming the caller when its credentials say who. */
export type MalformedBodyAuditor = (req: IncomingMessage, refusal: BodyRefusal) => Promise<void>;

const MESSAGES: Record<string, string> = {
  'entity.parse.failed': 'the request body is not valid JSON (or not a valid form)',
  'entity.too.large': `the request body is larger than ${HTTP_BODY_LIMIT_BYTES} bytes`,
  'parameters.too.many': 'the form body has too many parameters',
  'encoding.unsupported': 'the request body has a content-encoding this server does not read',
  'charset.unsupported': 'the request body has a charset this server does not read (use utf-8)',
  'request.aborted': 'the request body was cut off before its end',
  'request.size.invalid': 'the request body is not as long as its content-length says',
};

/** The refusal a body parser's error stands for, or undefined when it is not one (a bug: rethrown). */
export function bodyRefusalOf(e: unknown): BodyRefusal | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const err = e as { type?: unknown; status?: unknown; statusCode?: unknown; length?: unknown; received?: unknown; expected?: unknown };
  const status = typeof err.status === 'number' ? err.status : typeof err.statusCode === 'number' ? err.statusCode : 0;
  if (typeof err.type !== 'string' || status < 400 || status > 499) return undefined;
  const size = [err.length, err.received, err.expected].find((n): n is number => typeof n === 'number' && Number.isFinite(n)) ?? 0;
  return { reason: err.type, message: MESSAGES[err.type] ?? `the request body was refused (${err.type})`, size, status };
}

/**
 * Express error middleware for the body parsers: a refused body is audited (when the app has an
 * auditor) and answered as problem details (`MALFORMED_REQUEST`, field `body`, 400/413/415), never
 * as a 500 and never quoting the body. An audit that cannot be written answers 503 (fail closed).
 * Any other error goes on to Nest.
 */
export function bodyRefusalHandler(auditor: () => MalformedBodyAuditor | undefined) {
  return (e: unknown, req: IncomingMessage, res: ServerResponse, next: (e?: unknown) => void): void => {
    const refusal = bodyRefusalOf(e);
    if (!refusal) {
      next(e);
      return;
    }
    // The rest of a refused body is not read: close the connection after answering.
    res.setHeader('connection', 'close');
    void (async () => {
      let status = refusal.status;
      let code = 'MALFORMED_REQUEST';
      let detail = refusal.message;
      try {
        await auditor()?.(req, refusal);
      } catch {
        status = 503;
        code = 'AUDIT_UNAVAILABLE';
        detail = 'audit log unavailable: the request was refused and nothing was done';
      }
      res.statusCode = status;
      res.setHeader('content-type', 'application/problem+json');
      res.setHeader('cache-control', 'no-store');
      res.end(JSON.stringify({ type: `https://open-kms.dev/problems/${code.toLowerCase().replace(/_/g, '-')}`, title: code, status, detail, code, ...(code === 'MALFORMED_REQUEST' ? { field: 'body' } : {}) }));
    })();
  };
}
