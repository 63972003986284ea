// The console's one HTTP client: JSON in and out, problem details turned into ApiError (code, field,
// reason), the session cookie sent by the browser and the CSRF token (kept in memory only) on every
// state-changing /v1/console/api/* call (docs/console.md, the console contract).

/** What went wrong, as the server said it (RFC 9457 problem details with the KMS's members). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly field?: string,
    readonly reason?: string,
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The signed-in person, as `GET /v1/console/api/session` and session sign-in answer it. */
export interface ConsoleSession {
  identity_id: string;
  name: string;
  roles: string[];
  expires_at: string;
  csrf_token: string;
}

let csrfToken: string | undefined;
let sessionLost: ((why: ApiError) => void) | undefined;

/**
 * Who to tell when a console API route answers 401: the session ended (expired, signed out elsewhere)
 * or its person was suspended (reason PERSON_SUSPENDED); the page then asks to sign in again.
 */
export function onSessionLost(listener: ((why: ApiError) => void) | undefined): void {
  sessionLost = listener;
}

/** The error of a non-2xx answer; a 401 of a session route also ends the session in the page. */
async function refusal(res: Response, path: string): Promise<ApiError> {
  const e = await problemOf(res);
  if (res.status === 401 && path.startsWith('/v1/console/api/')) sessionLost?.(e);
  return e;
}

/** Remember (in memory, never in storage) the CSRF token of the current session. */
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The ApiError an answer that is not 2xx stands for; a body that is not a problem still gives a message. */
export async function problemOf(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object') body = parsed as Record<string, unknown>;
  } catch {
    // not JSON: the text itself is the message
  }
  const code = str(body['code']) ?? str(body['error']) ?? str(body['title']) ?? `HTTP_${res.status}`;
  const message = str(body['detail']) ?? str(body['message']) ?? str(body['error_description']) ?? (text.trim().slice(0, 300) || `${res.status} ${res.statusText}`);
  const retry = Number(body['retryAfter'] ?? res.headers.get('retry-after'));
  return new ApiError(message, res.status, code, str(body['field']), str(body['reason']), Number.isFinite(retry) && retry > 0 ? retry : undefined);
}

/** Call the KMS: `path` is absolute (`/v1/console/...`). Throws ApiError on any non-2xx answer. */
export async function call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken && path.startsWith('/v1/console/api/')) headers['x-kms-csrf'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path, { method, headers, credentials: 'same-origin', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  } catch (e) {
    throw new ApiError(`the KMS could not be reached: ${e instanceof Error ? e.message : String(e)}`, 0, 'NETWORK');
  }
  if (!res.ok) throw await refusal(res, path);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/** A compliance API path (`keys`, `controls`, ...) through the console's pass-through, with its query. */
export function compliancePath(path: string, query: Record<string, string | undefined> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, v);
  const s = q.toString();
  return `/v1/console/api/compliance/${path}${s ? `?${s}` : ''}`;
}

/** Fetch a file (an evidence bundle) through the pass-through; the body and the name the server suggests. */
export async function download(path: string): Promise<{ blob: Blob; filename?: string }> {
  const res = await fetch(path, { credentials: 'same-origin' });
  if (!res.ok) throw await refusal(res, path);
  const disposition = res.headers.get('content-disposition') ?? '';
  const filename = /filename="?([^";]+)"?/.exec(disposition)?.[1];
  return { blob: await res.blob(), ...(filename ? { filename } : {}) };
}

/** Any thrown thing as the error box shows it: the message, and the field and reason when the server named them. */
export function describeError(e: unknown): { message: string; code?: string; field?: string; reason?: string } {
  if (e instanceof ApiError) {
    return {
      message: e.retryAfter ? `${e.message} (try again in ${e.retryAfter} s)` : e.message,
      code: e.code,
      ...(e.field ? { field: e.field } : {}),
      ...(e.reason ? { reason: e.reason } : {}),
    };
  }
  // Errors of the WebAuthn ceremony itself (the browser refused: wrong origin, cancelled, no authenticator).
  if (e instanceof Error) {
    const code = (e as Error & { code?: unknown }).code;
    return { message: `${e.name}: ${e.message}`, ...(typeof code === 'string' ? { code } : { code: e.name }) };
  }
  return { message: String(e) };
}
