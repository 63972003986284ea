import { HttpException } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { CONSOLE_SESSION_COOKIE } from '@kms/application';
import { KmsError } from '@kms/domain';

const STATUS: Partial<Record<string, number>> = {
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  IDENTITY_NOT_FOUND: 404,
  FACTORS_ALREADY_ENROLLED: 409,
  CONCURRENCY_CONFLICT: 409,
  TOO_MANY_ATTEMPTS: 429,
  SELF_APPROVAL: 403,
  APPROVAL_NOT_FOUND: 404,
  APPROVAL_NOT_PENDING: 409,
  APPROVAL_EXPIRED: 409,
  APPROVAL_REQUIRED: 409,
  DEVICE_AUTHORIZATION_NOT_FOUND: 404,
  DEVICE_AUTHORIZATION_NOT_PENDING: 409,
  REQUEST_ID_REUSED: 400,
  REQUEST_ALREADY_DONE: 409,
  KEY_NOT_FOUND: 404,
};

/** The one mapping of a KMS error to the problem details the platform's filter writes (naming the field and reason). */
export function problem(e: unknown, res: ServerResponse): never {
  if (!(e instanceof KmsError)) throw e;
  const retryAfter = e.facts?.['retry-after'];
  if (retryAfter) res.setHeader('retry-after', retryAfter);
  throw httpProblem(e);
}

/** A KMS error as the HttpException the platform's filter writes as problem details (other errors unchanged). */
export function httpProblem(e: unknown): unknown {
  if (!(e instanceof KmsError)) return e;
  const retryAfter = e.facts?.['retry-after'];
  return new HttpException(
    {
      code: e.code,
      message: e.message,
      ...(e.field ? { field: e.field } : {}),
      ...(e.facts?.['reason'] ? { reason: e.facts['reason'] } : {}),
      ...(retryAfter ? { retryAfter: Number(retryAfter) } : {}),
      // APPROVAL_REQUIRED: the request a second person must approve.
      ...(e.facts?.['approval-id'] ? { approvalId: e.facts['approval-id'] } : {}),
    },
    STATUS[e.code] ?? 503,
  );
}

/** The session cookie's value from a Cookie header (the one cookie the console sets; no library needed for one name). */
export function sessionCookie(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === CONSOLE_SESSION_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** `Set-Cookie` for the session: HttpOnly, SameSite=Strict, Path=/, Max-Age ≤ 900, Secure when the console is on https. */
export function sessionSetCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return `${CONSOLE_SESSION_COOKIE}=${value}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${Math.max(0, Math.min(900, maxAgeSeconds))}${secure ? '; Secure' : ''}`;
}

