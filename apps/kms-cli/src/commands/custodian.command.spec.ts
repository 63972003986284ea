import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { combine, split } from 'shamir-secret-sharing';
import {
  openSubmission,
  packageFingerprint,
  sealShare,
  shareCommitment,
  verifyCanonicalEd25519,
  type SealedBox,
} from '@kms/evidence';
import { type CliIo, runCli } from '../kms-cli';
import { ProtoCatalog } from '../proto/proto-catalog';

const catalog = new ProtoCatalog();
const dir = mkdtempSync(join(tmpdir(), 'kms-custodian-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { stdout: (s) => void (out += s), stderr: (s) => void (err += s), progressStream: { write: () => true }, env: { XDG_CONFIG_HOME: '/nonexistent' }, stdin: () => '' };
  const code = await runCli(['custodian', ...argv], io, catalog);
  return { code, out, err };
}

describe('kms custodian', () => {
  it('enrol keeps the private keys in a 0600 file, never overwrites it, and prints only public keys', async () => {
    const keys = join(dir, 'carol.keys.json');
    const { code, out } = await cli(['enrol', '--offline', '--custodian', 'carol', '--out', keys]);
    expect(code).toBe(0);
    expect(statSync(keys).mode & 0o777).toBe(0o600);
    expect(JSON.parse(out)).toEqual({ identityId: 'carol', encryptionPublicKey: expect.any(String), signingPublicKey: expect.any(String) });
    expect(out).not.toContain('PRIVATE KEY');
    expect(await cli(['enrol', '--offline', '--custodian', 'carol', '--out', keys])).toMatchObject({ code: 2, err: expect.stringContaining('refusing to overwrite') });
  });

  it('open-package, submit-share and declare-destroyed: the share reaches the ceremony key intact and the declaration verifies', async () => {
    const keys = join(dir, 'dave.keys.json');
    const enrolled = JSON.parse((await cli(['enrol', '--offline', '--custodian', 'dave', '--out', keys])).out) as { encryptionPublicKey: string; signingPublicKey: string };
    const secret = new Uint8Array(32).map((_, i) => i * 7);
    const shares = await split(secret, 3, 2);
    const slot = { ceremonyId: 'cer-1', custodianId: 'dave', shareIndex: 2 };
    const box = sealShare(enrolled.encryptionPublicKey, Buffer.from(shares[1]), slot);
    const pkgFile = join(dir, 'dave.package.json');
    writeFileSync(pkgFile, JSON.stringify({ ...slot, keyId: 'k', version: 1, packageFingerprint: packageFingerprint(box), box }));

    const shareFile = join(dir, 'dave.share');
    expect((await cli(['open-package', '--keys', keys, '--package', pkgFile, '--out', shareFile])).code).toBe(0);
    expect(statSync(shareFile).mode & 0o777).toBe(0o600);

    const ceremony = generateKeyPairSync('x25519');
    const ceremonyKey = ceremony.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    const submitted = JSON.parse((await cli(['submit-share', '--offline', '--keys', keys, '--share', shareFile, '--reconstruction-id', 'r-1', '--ceremony-key', ceremonyKey])).out) as { submission: SealedBox };
    const received = openSubmission(ceremony.privateKey, submitted.submission, { reconstructionId: 'r-1', custodianId: 'dave' });
    expect(shareCommitment(received, slot)).toBe(shareCommitment(Buffer.from(shares[1]), slot));
    expect(Buffer.from(await combine([shares[0], new Uint8Array(received)]))).toEqual(Buffer.from(secret));

    const declared = await cli(['declare-destroyed', '--offline', '--keys', keys, '--package', pkgFile, '--share', shareFile, '--shred']);
    expect(declared.code).toBe(0);
    const signed = JSON.parse(declared.out) as { declaration: Record<string, unknown>; signature: string };
    expect(signed.declaration).toMatchObject({ ceremonyId: 'cer-1', custodianId: 'dave', packageFingerprint: packageFingerprint(box) });
    expect(verifyCanonicalEd25519(signed.declaration, signed.signature, enrolled.signingPublicKey)).toBe(true);
    expect([existsSync(pkgFile), existsSync(shareFile)]).toEqual([false, false]);
  });

  it("names the problem: a key file others can read, another custodian's package, an altered package", async () => {
    const keys = join(dir, 'erin.keys.json');
    await cli(['enrol', '--offline', '--custodian', 'erin', '--out', keys]);
    const other = JSON.parse(readFileSync(join(dir, 'carol.keys.json'), 'utf8')) as { custodianId: string };
    expect(other.custodianId).toBe('carol');
    const box = sealShare(generateKeyPairSync('x25519').publicKey.export({ format: 'der', type: 'spki' }).toString('base64'), Buffer.from('share'), { ceremonyId: 'c', custodianId: 'carol', shareIndex: 1 });
    const pkgFile = join(dir, 'carol.package.json');
    writeFileSync(pkgFile, JSON.stringify({ ceremonyId: 'c', keyId: 'k', version: 1, custodianId: 'carol', shareIndex: 1, packageFingerprint: packageFingerprint(box), box }));
    expect(await cli(['open-package', '--keys', keys, '--package', pkgFile, '--out', join(dir, 'x')])).toMatchObject({ code: 2, err: expect.stringContaining('sealed to carol, not to erin') });
    const altered = join(dir, 'altered.package.json');
    writeFileSync(altered, JSON.stringify({ ceremonyId: 'c', keyId: 'k', version: 1, custodianId: 'erin', shareIndex: 1, packageFingerprint: '0'.repeat(64), box }));
    expect(await cli(['open-package', '--keys', keys, '--package', altered, '--out', join(dir, 'y')])).toMatchObject({ code: 2, err: expect.stringContaining('does not match its fingerprint') });
    chmodSync(keys, 0o644);
    expect(await cli(['open-package', '--keys', keys, '--package', altered, '--out', join(dir, 'z')])).toMatchObject({ code: 2, err: expect.stringContaining('readable by others') });
  });
});
