import { formatPicked, formatTable, pick, toJsonValue } from './output-formatter';

const key = {
  key_id: 'k-1',
  primary_version: 2,
  labels: { team: 'payments' },
  versions: [
    { version: 1, state: 'ENABLED', public_key_fingerprint: Buffer.from('ab', 'hex') },
    { version: 2, state: 'ENABLED', public_key_fingerprint: Buffer.from('cd', 'hex') },
  ],
};

describe('output', () => {
  it('prints bytes as base64 in JSON', () => {
    expect(toJsonValue({ ciphertext: Buffer.from('hello') })).toEqual({ ciphertext: 'aGVsbG8=' });
  });

  it('--get picks one value by a dotted path, bare when it is a string, and names what exists otherwise', () => {
    expect(formatPicked(pick({ ciphertext: Buffer.from('hello') }, 'ciphertext'))).toBe('aGVsbG8=');
    expect(formatPicked(pick(key, 'versions.1.state'))).toBe('ENABLED');
    expect(formatPicked(pick(key, 'primary_version'))).toBe('2');
    expect(() => pick(key, 'primary')).toThrow('--get primary: the response has no "primary"; it has: key_id, primary_version, labels, versions');
  });

  it('shows fields as a two-column table and each list of objects as its own table', () => {
    const out = formatTable(key);
    expect(out).toMatch(/│ key_id\s+│ k-1\s+│/);
    expect(out).toMatch(/│ labels\.team\s+│ payments\s+│/);
    expect(out).toContain('versions (2)');
    expect(out).toMatch(/│ version │ state\s+│ public_key_fingerprint │/);
    expect(out).toMatch(/│ 2\s+│ ENABLED │ zQ==\s+│/);
    // No ANSI colour codes: the output is pasted into tickets and read from pipes.
    expect(out).not.toContain('\u001b[');
  });
});
