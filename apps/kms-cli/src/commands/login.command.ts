import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { CliUsageError } from '../request/cli-usage.error';

type Io = { stdout: (s: string) => void; stderr: (s: string) => void };

interface DeviceCode {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function postJson(url: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = { error: 'invalid_response', error_description: text.slice(0, 200) };
  }
  return { status: res.status, body: (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown> };
}

/** Write the token file (mode 0600, the folder 0700), replacing any earlier one. */
export function writeTokenFile(path: string, token: { access_token: string; expires_at: string; http_url: string }): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify(token, null, 2)}\n`, { mode: 0o600 });
  // An existing file keeps its mode on write: make sure nobody else can read the token.
  chmodSync(path, 0o600);
}

/**
 * `kms login`: the device authorization flow (RFC 8628 shape, docs/console.md). Asks the key service
 * for a code, prints it with the console URL, polls at the interval the server says (slower on
 * `slow_down`) until the person approves in the console, then keeps the token (≤ 15 minutes) in a
 * 0600 file that later commands use when no KMS_TOKEN / --token is given.
 */
export async function login(httpUrl: string, tokenFile: string, options: { clientName?: string }, io: Io): Promise<number> {
  const begun = await postJson(`${httpUrl}/v1/console/device/code`, { client_name: options.clientName ?? `kms login on ${hostname()}`.slice(0, 64) });
  if (begun.status !== 200) {
    io.stderr(`login refused: HTTP ${begun.status} ${JSON.stringify(begun.body)}\n`);
    return 1;
  }
  const code = begun.body as unknown as DeviceCode;
  io.stdout(`To sign in, open ${code.verification_uri_complete}\nand check that the console shows the code ${code.user_code} (valid ${Math.round(code.expires_in / 60)} minutes).\nWaiting for approval…\n`);
  let interval = code.interval;
  const deadline = Date.now() + code.expires_in * 1000;
  for (;;) {
    await sleep(interval * 1000);
    const polled = await postJson(`${httpUrl}/v1/console/device/token`, { device_code: code.device_code });
    if (polled.status === 200 && typeof polled.body['access_token'] === 'string') {
      const expiresIn = Number(polled.body['expires_in']);
      const expiresAt = new Date(Date.now() + expiresIn * 1000).toISOString();
      writeTokenFile(tokenFile, { access_token: polled.body['access_token'], expires_at: expiresAt, http_url: httpUrl });
      io.stdout(`Logged in. Token saved to ${tokenFile} (mode 0600), valid until ${expiresAt}.\n`);
      return 0;
    }
    const error = polled.body['error'];
    if (error === 'authorization_pending') {
      if (Date.now() > deadline) {
        io.stderr('login expired: nobody approved the code in time; run kms login again\n');
        return 1;
      }
      continue;
    }
    if (error === 'slow_down') {
      interval += 5;
      continue;
    }
    const why = typeof polled.body['error_description'] === 'string' ? polled.body['error_description'] : `HTTP ${polled.status}`;
    if (error === 'access_denied') io.stderr(`login denied: ${why}\n`);
    else if (error === 'expired_token') io.stderr(`login expired: ${why}\n`);
    else io.stderr(`login failed: ${String(error ?? 'error')}: ${why}\n`);
    return 1;
  }
}

/** `kms logout`: delete the token file kms login wrote. */
export function logout(tokenFile: string, io: Io): number {
  try {
    rmSync(tokenFile);
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') {
      io.stdout(`Not logged in (no ${tokenFile}).\n`);
      return 0;
    }
    throw new CliUsageError(`cannot delete ${tokenFile}: ${e instanceof Error ? e.message : String(e)}`);
  }
  io.stdout(`Logged out: deleted ${tokenFile}.\n`);
  return 0;
}
