// `npm start` and `npm test` run scripts/setup.sh first; on a fresh clone its npm step used to rewrite
// package-lock.json (npm adds optional per-platform entries), leaving the checkout dirty.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '@kms/testing';

const run = promisify(execFile);
const LOCKFILE = join(REPO_ROOT, 'package-lock.json');
const STAMP = join(REPO_ROOT, 'node_modules', '.kms-install-stamp');

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

describe('scripts/setup.sh', () => {
  it('installs the npm dependencies from the lockfile without changing a byte of it', async () => {
    const before = readFileSync(LOCKFILE);
    // Without the stamp, setup runs its npm install step as on a fresh clone.
    rmSync(STAMP, { force: true });
    try {
      const { stdout } = await run('bash', ['scripts/setup.sh'], { cwd: REPO_ROOT, timeout: 300_000 });
      expect(stdout).toContain('setup: installing npm dependencies');
      expect(sha256(readFileSync(LOCKFILE))).toBe(sha256(before));
      // The step completed (it writes the stamp last).
      expect(existsSync(STAMP)).toBe(true);
    } finally {
      // Never leave the checkout modified, even when the assertion above fails.
      writeFileSync(LOCKFILE, before);
    }
  }, 320_000);
});
