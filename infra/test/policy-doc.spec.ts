// docs/policy.md is the control matrix's source: it must name every control the compliance API
// evaluates, point only at test files that exist, and give an issue for everything not built yet.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KEY_PURPOSES } from '@kms/domain';

const ROOT = join(__dirname, '..', '..');
const doc = readFileSync(join(ROOT, 'docs', 'policy.md'), 'utf8');

/** The control ids GET /v1/controls reports, read from the code that computes them. */
function controlIds(): string[] {
  const source = readFileSync(join(ROOT, 'libs/audit-projector/src/http/compliance-queries.ts'), 'utf8');
  const fixed = [...source.matchAll(/id: '(KMS-[A-Z0-9-]+)'/g)].map((m) => m[1]);
  // The rotation controls are one per purpose: id: `KMS-ROT-${purpose}`.
  expect(source).toContain('id: `KMS-ROT-${purpose}`');
  return [...fixed, ...KEY_PURPOSES.map((p) => `KMS-ROT-${p}`)];
}

const rows = doc.split('\n').filter((l) => /^\| [A-Z]-\d+ \|/.test(l));

describe('docs/policy.md', () => {
  it('maps every control of the compliance API', () => {
    const ids = controlIds();
    expect(ids.length).toBeGreaterThanOrEqual(10);
    expect(ids.filter((id) => !doc.includes(`\`${id}\``))).toEqual([]);
  });

  it('names only files that exist', () => {
    const paths = [...doc.matchAll(/`((?:apps|libs|infra|scripts|docs)\/[^`\s]+\.(?:ts|yaml|md))`/g)].map((m) => m[1]);
    expect(paths.length).toBeGreaterThan(30);
    expect(paths.filter((p) => !existsSync(join(ROOT, p)))).toEqual([]);
  });

  it('gives each requirement a status, and an issue (or says none exists) for what is not built', () => {
    expect(rows.length).toBeGreaterThanOrEqual(25);
    for (const row of rows) {
      const status = row.split('|')[3].trim();
      expect([row.slice(0, 12), /^(enforced|automated|enforced \+ automated|partial|not yet)$/.test(status)]).toEqual([row.slice(0, 12), true]);
      if (status === 'not yet' || status === 'partial') expect([row.slice(0, 12), /issue \d+|no issue tracks it/i.test(row)]).toEqual([row.slice(0, 12), true]);
    }
  });

  it("states the policy's numbers", () => {
    for (const n of ['90', '60', '180', '30', '24', '365', '15', '7', '3', '5']) expect(doc).toContain(`**${n}**`);
  });
});
