import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CliUsageError } from '../request/cli-usage.error';

/** Where the CLI sends calls, and as whom. */
export interface CliConfig {
  /** gRPC host:port of the key service. */
  address: string;
  /** Base URL of the HTTP API (compliance API, evidence export). */
  httpUrl: string;
  /** Bearer token (from `kms issue-token`), if any. */
  token?: string;
  /** Per-call deadline in ms. */
  timeoutMs: number;
  /** Which config file was read, if any (for `kms config`). */
  file?: string;
  /** Where the token came from: --token, KMS_TOKEN, the config file, or `kms login`'s token file. */
  tokenSource?: 'flag' | 'env' | 'config' | 'login';
  /** When `kms login`'s token has expired (so no token is used): its expiry, to say so. */
  loginExpiredAt?: string;
  /** The token file `kms login` writes and later commands read. */
  tokenFile: string;
}

const FILE_KEYS = ['address', 'http_url', 'token', 'timeout_ms'] as const;
const DEFAULTS = { address: '127.0.0.1:50051', httpUrl: 'http://127.0.0.1:8080', timeoutMs: 30_000 };

/** KMS_CONFIG, else $XDG_CONFIG_HOME/kms/config.json, else ~/.config/kms/config.json. */
export function configFilePath(env: NodeJS.ProcessEnv): { path: string; explicit: boolean } {
  if (env['KMS_CONFIG']) return { path: env['KMS_CONFIG'], explicit: true };
  return { path: join(env['XDG_CONFIG_HOME'] || join(homedir(), '.config'), 'kms', 'config.json'), explicit: false };
}

function readConfigFile(path: string, explicit: boolean): Partial<Record<(typeof FILE_KEYS)[number], unknown>> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    // The default location is optional; a file named on purpose must exist.
    if (explicit) throw new CliUsageError(`config file ${path} cannot be read`);
    return {};
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new CliUsageError(`config file ${path} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new CliUsageError(`config file ${path} must hold a JSON object`);
  for (const k of Object.keys(doc)) {
    if (!(FILE_KEYS as readonly string[]).includes(k)) throw new CliUsageError(`config file ${path}: unknown key "${k}"; valid keys: ${FILE_KEYS.join(', ')}`, k);
  }
  const o = doc as Record<string, unknown>;
  // A token is a credential for up to 15 minutes: like the KMS's own key files, refuse it in a file others can read.
  if (o['token'] !== undefined && (statSync(path).mode & 0o077) !== 0) throw new CliUsageError(`config file ${path} holds a token and is readable by group or others (chmod 600)`, 'token');
  return o;
}

/** KMS_TOKEN_FILE, else token.json beside the default config file ($XDG_CONFIG_HOME/kms or ~/.config/kms). */
export function tokenFilePath(env: NodeJS.ProcessEnv): string {
  if (env['KMS_TOKEN_FILE']) return env['KMS_TOKEN_FILE'];
  return join(env['XDG_CONFIG_HOME'] || join(homedir(), '.config'), 'kms', 'token.json');
}

/** The token `kms login` kept, if any: refused when others can read the file; `expired` past its expiry. */
function readTokenFile(path: string, now: Date): { token: string; expiresAt: string; expired: boolean } | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  if ((statSync(path).mode & 0o077) !== 0) throw new CliUsageError(`token file ${path} is readable by group or others (chmod 600, or kms logout and kms login again)`, 'token');
  let doc: { access_token?: unknown; expires_at?: unknown };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch {
    throw new CliUsageError(`token file ${path} is not valid JSON; kms logout and kms login again`, 'token');
  }
  if (typeof doc.access_token !== 'string' || typeof doc.expires_at !== 'string' || Number.isNaN(Date.parse(doc.expires_at))) {
    throw new CliUsageError(`token file ${path} does not hold {access_token, expires_at}; kms logout and kms login again`, 'token');
  }
  return { token: doc.access_token, expiresAt: doc.expires_at, expired: Date.parse(doc.expires_at) <= now.getTime() };
}

/** Flags, then environment (KMS_ADDRESS, KMS_HTTP_URL, KMS_TOKEN, KMS_TIMEOUT_MS), then the config file, then defaults. */
export function resolveCliConfig(flags: { address?: string; httpUrl?: string; token?: string; timeout?: string; config?: string }, env: NodeJS.ProcessEnv): CliConfig {
  const where = flags.config ? { path: flags.config, explicit: true } : configFilePath(env);
  const file = readConfigFile(where.path, where.explicit);
  const str = (v: unknown, name: string): string | undefined => {
    if (v === undefined || v === '') return undefined;
    if (typeof v !== 'string') throw new CliUsageError(`config file ${where.path}: "${name}" must be a string`, name);
    return v;
  };
  const address = flags.address ?? (env['KMS_ADDRESS'] || undefined) ?? str(file.address, 'address') ?? DEFAULTS.address;
  if (!/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(address)) throw new CliUsageError(`the address must be host:port, got "${address}"`, 'address');
  const httpUrl = flags.httpUrl ?? (env['KMS_HTTP_URL'] || undefined) ?? str(file.http_url, 'http_url') ?? DEFAULTS.httpUrl;
  try {
    new URL(httpUrl);
  } catch {
    throw new CliUsageError(`the HTTP URL is not a URL: "${httpUrl}"`, 'http_url');
  }
  const rawTimeout = flags.timeout ?? (env['KMS_TIMEOUT_MS'] || undefined) ?? file.timeout_ms ?? DEFAULTS.timeoutMs;
  const timeoutMs = Number(rawTimeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new CliUsageError(`the timeout must be a positive number of milliseconds, got "${String(rawTimeout)}"`, 'timeout_ms');
  const configured = flags.token ? { token: flags.token, tokenSource: 'flag' as const } : env['KMS_TOKEN'] ? { token: env['KMS_TOKEN'], tokenSource: 'env' as const } : str(file.token, 'token') ? { token: str(file.token, 'token') as string, tokenSource: 'config' as const } : undefined;
  const tokenFile = tokenFilePath(env);
  const login = configured ? undefined : readTokenFile(tokenFile, new Date());
  const fromLogin = login && !login.expired ? { token: login.token, tokenSource: 'login' as const } : undefined;
  const fileRead = Object.keys(file).length > 0 ? where.path : undefined;
  return {
    address,
    httpUrl: httpUrl.replace(/\/+$/, ''),
    timeoutMs,
    tokenFile,
    ...(configured ?? fromLogin ?? {}),
    ...(login?.expired ? { loginExpiredAt: login.expiresAt } : {}),
    ...(fileRead ? { file: fileRead } : {}),
  };
}
