import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsoleAssets, CONSOLE_SECURITY_HEADERS } from './console-assets';

describe('the console static files (/console/)', () => {
  let root: string;
  let dir: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'console-assets-'));
    dir = join(root, 'build');
    await mkdir(join(dir, 'assets'), { recursive: true });
    await writeFile(join(dir, 'index.html'), '<!doctype html><div id="root"></div>');
    await writeFile(join(dir, 'assets', 'index-abc123.js'), 'console.log(1)');
    await writeFile(join(dir, 'assets', 'index-abc123.css'), 'body{}');
    await writeFile(join(root, 'outside.txt'), 'not the console');
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('serves hashed assets with their content type, cached for a year', async () => {
    const js = await new ConsoleAssets(dir).answer('/console/assets/index-abc123.js');
    expect(js).toMatchObject({ kind: 'file', status: 200, headers: { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=31536000, immutable' } });
    expect(js.kind === 'file' && js.body.toString()).toBe('console.log(1)');
    expect(await new ConsoleAssets(dir).answer('/console/assets/index-abc123.css')).toMatchObject({ headers: { 'content-type': 'text/css; charset=utf-8' } });
  });

  it('answers index.html, revalidated, for every page route of the single-page app', async () => {
    for (const path of ['/console/', '/console/keys/0b5f2c1e-6a4d-4c8b-9f0e-1a2b3c4d5e6f', '/console/enrol?token=a.b', '/console/approvals']) {
      const a = await new ConsoleAssets(dir).answer(path);
      expect(a).toMatchObject({ kind: 'file', headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' } });
      expect(a.kind === 'file' && a.body.toString()).toContain('id="root"');
    }
    expect(await new ConsoleAssets(dir).answer('/console')).toEqual({ kind: 'redirect', status: 308, location: '/console/' });
  });

  it('never reads outside the build and answers 404 for a missing file', async () => {
    expect(await new ConsoleAssets(dir).answer('/console/assets/missing.js')).toMatchObject({ status: 404, code: 'NOT_FOUND', field: 'path' });
    expect(await new ConsoleAssets(dir).answer('/console/..%2Foutside.txt')).toMatchObject({ status: 404 });
    expect(await new ConsoleAssets(dir).answer('/console/assets/..%2F..%2Foutside.txt')).toMatchObject({ status: 404 });
    await writeFile(join(dir, '.build-stamp'), 'x');
    expect(await new ConsoleAssets(dir).answer('/console/.build-stamp')).toMatchObject({ status: 404 });
  });

  it('answers 503 naming the build command when the console is not built', async () => {
    const missing = await new ConsoleAssets(join(dir, 'nope')).answer('/console/');
    expect(missing).toMatchObject({ kind: 'problem', status: 503, code: 'CONSOLE_NOT_BUILT' });
    expect(missing.kind === 'problem' && missing.message).toContain('npm run build:console');
  });

  it('forbids inline scripts and framing', () => {
    const csp = CONSOLE_SECURITY_HEADERS['content-security-policy'];
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
  });
});
