import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { KmsCallError } from '@kms/contracts';
import { BACKUP_FILES, openBackup, parseWrappedDataKey, sealBackup, type SealedBackup } from '@kms/ledger';
import { type Actor, type KeyServiceUnderTest, startKeyServiceUnderTest } from './key-service.e2e-harness';

const KMS_BIN = resolve(__dirname, '../../../bin/kms.js');

function kmsCli(args: string[], env: Record<string, string>): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [KMS_BIN, ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, out: stdout + stderr });
    });
  });
}

function readBackup(dir: string): SealedBackup {
  return {
    manifest: readFileSync(join(dir, BACKUP_FILES.manifest)),
    signature: readFileSync(join(dir, BACKUP_FILES.signature)),
    archive: readFileSync(join(dir, BACKUP_FILES.archive)),
    dataKey: readFileSync(join(dir, BACKUP_FILES.dataKey)),
  };
}

describe('backup-key rotation re-wraps retained archives before the old version retires (end to end)', () => {
  let kms: KeyServiceUnderTest;
  let backup: Actor;
  let scheduler: Actor;
  let keyId: string;
  let target: string;
  const attestation = generateKeyPairSync('ec', { namedCurve: 'P-256' });

  beforeAll(async () => {
    kms = await startKeyServiceUnderTest('e2e_backup_rewrap');
    backup = await kms.register('kms-backup-job', 'WORKLOAD');
    scheduler = await kms.register('kms-rotation-scheduler', 'WORKLOAD', ['rotation-scheduler']);
    keyId = (
      await kms.admin.call<{ key_id: string }>('CreateKey', {
        tenant: 'platform',
        name: 'kms-backup',
        purpose: 'DATA_PROTECTION',
        algorithm: 'AES_256_GCM',
        policy: { grants: { [backup.identityId]: { permissions: ['GENERATE_DATA_KEY', 'DECRYPT', 'ENCRYPT'] } } },
      })
    ).key_id;
    target = mkdtempSync(join(tmpdir(), 'kms-backups-'));
  });
  afterAll(async () => {
    rmSync(target, { recursive: true, force: true });
    await kms?.stop();
  });

  async function makeBackup(name: string): Promise<void> {
    const dk = await backup.call<{ plaintext: Buffer; ciphertext: Buffer; key_id: string; key_version: number }>('GenerateDataKey', { key_id: keyId });
    const sealed = await sealBackup([{ path: 'database/kms.dump', content: randomBytes(2048) }], {
      createdAt: kms.clock.now(),
      dataKey: dk.plaintext,
      wrapped: { keyId: dk.key_id, keyVersion: dk.key_version, ciphertext: dk.ciphertext.toString('base64') },
      sign: async (data) => sign('sha256', data, attestation.privateKey),
      signerFingerprint: '0'.repeat(64),
    });
    dk.plaintext.fill(0);
    const dir = join(target, name);
    mkdirSync(dir);
    writeFileSync(join(dir, BACKUP_FILES.manifest), sealed.manifest);
    writeFileSync(join(dir, BACKUP_FILES.signature), sealed.signature);
    writeFileSync(join(dir, BACKUP_FILES.archive), sealed.archive);
    writeFileSync(join(dir, BACKUP_FILES.dataKey), sealed.dataKey);
  }

  /** What GetKey reports as still wrapped under a version (the outstanding-ciphertext mechanism). */
  const outstanding = async (version: number) => {
    const key = await kms.admin.call<{ versions: Array<{ version: number; outstanding_ciphertexts: string }> }>('GetKey', { key_id: keyId });
    return Number(key.versions.find((v) => v.version === version)?.outstanding_ciphertexts);
  };

  it('refuses to retire version 1 while archives depend on it, re-wraps them all, then retires it; every archive still opens', async () => {
    await makeBackup('kms-backup-2026-03-01');
    await makeBackup('kms-backup-2026-03-02');
    expect(await outstanding(1)).toBe(2);
    await scheduler.call('RotateKey', { key_id: keyId, reason: 'SCHEDULED' });

    const early = await scheduler.call('DisableKeyVersion', { key_id: keyId, key_version: 1 }).catch((e: unknown) => e);
    expect(early).toBeInstanceOf(KmsCallError);
    expect((early as KmsCallError).errorCode).toBe('CIPHERTEXTS_OUTSTANDING');

    const run = await kmsCli(['backup-rewrap', '--target', target], { KMS_ADDRESS: kms.service.grpcAddress, KMS_TOKEN: await backup.token() });
    expect(run.code).toBe(0);
    expect(run.out.match(/^rewrapped\t/gm)).toHaveLength(2);
    for (const name of ['kms-backup-2026-03-01', 'kms-backup-2026-03-02']) {
      expect(parseWrappedDataKey(readFileSync(join(target, name, BACKUP_FILES.dataKey)))).toMatchObject({ keyId, keyVersion: 2 });
    }
    expect(await outstanding(1)).toBe(0);
    expect(await outstanding(2)).toBe(2);

    const retired = await scheduler.call<{ versions: Array<{ version: number; state: string }> }>('DisableKeyVersion', { key_id: keyId, key_version: 1 });
    expect(retired.versions.find((v) => v.version === 1)?.state).toBe('DISABLED');
    for (const name of ['kms-backup-2026-03-01', 'kms-backup-2026-03-02']) {
      const opened = await openBackup(readBackup(join(target, name)), {
        verify: async (data, sig) => verify('sha256', data, attestation.publicKey, sig),
        unwrap: async (w) => (await backup.call<{ plaintext: Buffer }>('Decrypt', { ciphertext: Buffer.from(w.ciphertext, 'base64') })).plaintext,
      });
      expect(opened.files.get('database/kms.dump')).toHaveLength(2048);
    }
  });
});
