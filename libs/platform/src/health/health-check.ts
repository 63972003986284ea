/**
 * What a check resolves with when its dependency works but not fully — e.g. a relay riding out a
 * broker outage, its work waiting safely — so the process stays ready (/readyz 200) while saying so.
 */
export interface HealthDegraded {
  degraded: string;
}

/**
 * A readiness check. `check()` resolves when the dependency is usable (with `{ degraded }` when it
 * is usable but behind) and rejects otherwise; it must bound its own duration (see `withTimeout`),
 * because a probe that hangs is as bad as one that fails.
 */
export interface HealthCheck {
  /** Unique across the process, e.g. "audit-projector.postgres": modules share one /readyz. */
  readonly name: string;
  check(): Promise<void | HealthDegraded>;
}

export type CheckResult =
  | { name: string; status: 'ok'; durationMs: number }
  | { name: string; status: 'degraded'; durationMs: number; reason: string }
  | { name: string; status: 'failed'; durationMs: number; error: string };

/**
 * What GET /readyz returns: `unavailable` (503) when a check failed, else `degraded` (200) when a
 * check reported degraded, else `ok`.
 */
export interface ReadinessReport {
  status: 'ok' | 'degraded' | 'unavailable';
  checks: CheckResult[];
}

/** Reject with "timed out after N ms" if `work` has not settled in time. */
export async function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const MAX_ERROR_LENGTH = 200;

/**
 * A short, safe description of a check failure for an unauthenticated endpoint: URLs (which may
 * carry credentials) are redacted and the text is truncated.
 */
export function describeCheckError(error: unknown): string {
  let text: string;
  if (error instanceof AggregateError && error.message === '') {
    // Node's happy-eyeballs connect (e.g. "localhost" -> ::1 and 127.0.0.1) throws one with no message.
    text = error.errors.map((e: unknown) => describeCheckError(e)).join('; ');
  } else if (error instanceof Error) {
    text = error.message || (error as NodeJS.ErrnoException).code || error.name;
  } else {
    text = String(error);
  }
  text = text.replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, '[url]');
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH - 1)}…` : text;
}
