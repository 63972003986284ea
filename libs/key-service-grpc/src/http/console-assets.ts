import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';

/** What the console's static route answers: a file, or a problem (status, code, message). */
export type ConsoleAsset =
  | { kind: 'file'; status: 200; headers: Record<string, string>; body: Buffer }
  | { kind: 'redirect'; status: 308; location: string }
  | { kind: 'problem'; status: 404 | 503; code: string; message: string; field?: string };

/** The build command named when the console is missing (docs/console.md). */
export const CONSOLE_BUILD_COMMAND = 'npm run build:console';

// Hand-written rather than serve-static/mime-types: those are only transitive dependencies here,
// and the built console has a handful of file kinds.
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * The console's security headers. No 'unsafe-inline' anywhere: the build has no inline script or
 * style. `img-src data:` is for the authenticator-app QR code (a PNG data URL from the server).
 */
export const CONSOLE_SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * The built console (vite, apps/console) served from `dir` at /console/: hashed files under
 * assets/ cached for a year, everything else revalidated; a page route (no file extension) gets
 * index.html (the single-page app routes in the browser); nothing outside `dir` is ever read.
 */
export class ConsoleAssets {
  constructor(private readonly dir: string | undefined) {}

  /** The answer for a request path (`/console`, `/console/keys/…`, `/console/assets/index-….js`). */
  async answer(urlPath: string): Promise<ConsoleAsset> {
    const path = urlPath.split('?')[0];
    if (path === '/console') return { kind: 'redirect', status: 308, location: '/console/' };
    const index = this.dir ? join(this.dir, 'index.html') : undefined;
    if (!this.dir || !index || !(await isFile(index))) {
      return {
        kind: 'problem',
        status: 503,
        code: 'CONSOLE_NOT_BUILT',
        message: `the console is not built: run \`${CONSOLE_BUILD_COMMAND}\` (scripts/setup.sh does) or point KMS_CONSOLE_ASSETS_DIR at a build`,
      };
    }
    let relative: string;
    try {
      relative = decodeURIComponent(path.replace(/^\/console\/?/, ''));
    } catch {
      return { kind: 'problem', status: 404, code: 'NOT_FOUND', message: 'malformed path', field: 'path' };
    }
    const clean = normalize(relative);
    // Never above the build, never a dotfile (the setup's build stamp).
    if (relative !== '' && (relative.includes('\0') || clean.split(sep).some((segment) => segment.startsWith('.')))) {
      return { kind: 'problem', status: 404, code: 'NOT_FOUND', message: `no console file ${path}`, field: 'path' };
    }
    const last = clean.split(sep).pop() ?? '';
    if (relative === '' || !last.includes('.')) return this.file(index, 'no-cache');
    const file = join(this.dir, clean);
    if (!file.startsWith(this.dir + sep) || !(await isFile(file))) {
      return { kind: 'problem', status: 404, code: 'NOT_FOUND', message: `no console file ${path}`, field: 'path' };
    }
    // Vite puts a content hash in every name under assets/: a new build never reuses one.
    return this.file(file, clean.startsWith(`assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
  }

  private async file(path: string, cacheControl: string): Promise<ConsoleAsset> {
    const body = await readFile(path);
    return {
      kind: 'file',
      status: 200,
      body,
      headers: {
        'content-type': CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream',
        'content-length': String(body.length),
        'cache-control': cacheControl,
      },
    };
  }
}
