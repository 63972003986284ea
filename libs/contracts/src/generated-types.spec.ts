import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const LIB = resolve(__dirname, '..');

function files(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? files(dir, join(prefix, d.name)) : [join(prefix, d.name)],
  );
}

describe('generated contract types', () => {
  it('match a fresh generation from the proto (run libs/contracts/scripts/generate-types.sh after changing it)', () => {
    const out = mkdtempSync(join(tmpdir(), 'kms-types-'));
    try {
      execFileSync('bash', [join(LIB, 'scripts/generate-types.sh'), out], { stdio: 'pipe' });
      const committed = join(LIB, 'src/generated');
      expect(files(out).sort()).toEqual(files(committed).sort());
      const differing = files(out).filter((f) => readFileSync(join(out, f), 'utf8') !== readFileSync(join(committed, f), 'utf8'));
      expect(differing).toEqual([]);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
