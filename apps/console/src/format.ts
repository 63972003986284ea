// Pure formatting helpers (unit-tested in format.spec.ts).

/** "3 min", "2 h 5 min", "4 d 1 h" between two instants; "now" under a minute. */
export function age(since: string | Date, now: Date = new Date()): string {
  const ms = now.getTime() - new Date(since).getTime();
  if (!Number.isFinite(ms)) return '—';
  const minutes = Math.floor(Math.abs(ms) / 60_000);
  const sign = ms < 0 ? 'in ' : '';
  if (minutes < 1) return 'now';
  if (minutes < 60) return `${sign}${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${sign}${hours} h ${minutes % 60} min`;
  return `${sign}${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** A timestamp as people read it (UTC, to the second), or a dash. */
export function when(value: unknown): string {
  if (typeof value !== 'string' && !(value instanceof Date)) return '—';
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? String(value) : d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

/** People type their name; an identity id is a UUID. */
export function signInSubject(text: string): { identity_id: string } | { name: string } {
  const t = text.trim();
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(t) ? { identity_id: t.toLowerCase() } : { name: t };
}

/**
 * Where an evidence link of the control matrix (a compliance API path) opens in the console:
 * keys, a key's history or evidence, approvals, audit records and escrow have pages; anything else is
 * shown as the API path it is.
 */
export function evidenceRoute(apiPath: string): string | undefined {
  const [path, query = ''] = apiPath.split('?');
  const q = query ? `?${query}` : '';
  const key = /^\/v1\/(?:keys\/([0-9a-f-]{36})\/history|evidence\/keys\/([0-9a-f-]{36}))$/.exec(path);
  if (key) return `/keys/${key[1] ?? key[2]}`;
  if (path === '/v1/keys') return `/keys${q}`;
  if (path === '/v1/audit-records') return `/audit${q}`;
  if (path === '/v1/approvals') return `/approvals${q}`;
  if (path === '/v1/escrow') return '/escrow';
  return undefined;
}
