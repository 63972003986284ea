import { createCipheriv, createDecipheriv, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { withOneCharChanged } from '@kms/testing';
import { BackupTamperedError, openBackup, sealBackup, type SealedBackup, type WrappedDataKey } from './backup-archive';

/** A stand-in for the KMS: wraps data keys with AES-GCM under a key of its own. */
function wrapper() {
  const kek = randomBytes(32);
  return {
    wrap(dataKey: Buffer): WrappedDataKey {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', kek, iv);
      return { keyId: 'kms-backup', keyVersion: 1, ciphertext: Buffer.concat([iv, c.update(dataKey), c.final(), c.getAuthTag()]).toString('base64') };
    },
    async unwrap(w: WrappedDataKey): Promise<Buffer> {
      const b = Buffer.from(w.ciphertext, 'base64');
      const d = createDecipheriv('aes-256-gcm', kek, b.subarray(0, 12));
      d.setAuthTag(b.subarray(b.length - 16));
      return Buffer.concat([d.update(b.subarray(12, b.length - 16)), d.final()]);
    },
  };
}

describe('backup archive', () => {
  const attestation = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kms = wrapper();
  const files = [
    { path: 'database/kms.dump', content: randomBytes(5000) },
    { path: 'state/softhsm/token.db', content: randomBytes(700) },
    { path: 'config/kms-config.json', content: Buffer.from('{"grpc":"127.0.0.1:50051"}') },
  ];
  const options = { verify: async (data: Buffer, sig: Buffer) => verify('sha256', data, attestation.publicKey, sig), unwrap: (w: WrappedDataKey) => kms.unwrap(w) };
  let sealed: SealedBackup;

  beforeAll(async () => {
    const dataKey = randomBytes(32);
    sealed = await sealBackup(files, {
      createdAt: new Date('2026-03-01T02:00:00Z'),
      dataKey,
      wrapped: kms.wrap(dataKey),
      sign: async (data) => sign('sha256', data, attestation.privateKey),
      signerFingerprint: 'f'.repeat(64),
    });
  });

  it('round-trips every file, and the archive holds none of them in clear', async () => {
    const { manifest, files: opened } = await openBackup(sealed, options);
    expect(manifest.files.map((f) => f.path)).toEqual(files.map((f) => f.path));
    for (const f of files) expect(opened.get(f.path)?.equals(f.content)).toBe(true);
    expect(sealed.archive.includes(files[2]?.content ?? Buffer.alloc(1))).toBe(false);
  });

  async function refusal(backup: SealedBackup): Promise<BackupTamperedError> {
    const e = await openBackup(backup, options).then(
      () => new Error('opened a tampered backup'),
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(BackupTamperedError);
    return e as BackupTamperedError;
  }

  it('names manifest.json when the manifest changed (its signature fails first)', async () => {
    const manifest = Buffer.from(withOneCharChanged(sealed.manifest.toString('utf8'), sealed.manifest.indexOf('"sha256"') + 12));
    expect((await refusal({ ...sealed, manifest })).file).toBe('manifest.json');
  });

  it('names archive.enc when a byte of it changed or it was truncated', async () => {
    const flipped = Buffer.from(sealed.archive);
    flipped[Math.floor(flipped.length / 2)] = (flipped[Math.floor(flipped.length / 2)] ?? 0) ^ 0x01;
    expect(await refusal({ ...sealed, archive: flipped })).toMatchObject({ file: 'archive.enc', problem: 'its SHA-256 differs from the manifest' });
    expect((await refusal({ ...sealed, archive: sealed.archive.subarray(0, sealed.archive.length - 100) })).problem).toContain('truncated');
  });

  it('names data-key.json when the wrapped data key was swapped for another', async () => {
    const other = kms.wrap(randomBytes(32));
    expect((await refusal({ ...sealed, dataKey: Buffer.from(JSON.stringify(other)) })).file).toBe('data-key.json');
  });

  it('refuses an archive rebuilt under another data key with one file changed, naming archive.enc: the signed manifest pins its hash', async () => {
    // An insider with the data key rebuilds the archive with one file changed but cannot re-sign the manifest.
    const dataKey = randomBytes(32);
    const forged = await sealBackup(
      files.map((f) => (f.path === 'state/softhsm/token.db' ? { ...f, content: randomBytes(700) } : f)),
      { createdAt: new Date('2026-03-01T02:00:00Z'), dataKey, wrapped: kms.wrap(dataKey), sign: async () => Buffer.alloc(64), signerFingerprint: 'f'.repeat(64) },
    );
    expect((await refusal({ ...sealed, archive: forged.archive, dataKey: forged.dataKey })).file).toBe('archive.enc');
    // Its own manifest carries no valid signature.
    expect((await refusal(forged)).file).toBe('manifest.json');
  });
});
