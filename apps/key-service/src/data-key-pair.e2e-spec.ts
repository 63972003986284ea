import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { opensslVerifies } from '@kms/testing';
import { auditRows, refused } from './access-control.e2e-helpers';
import { type Actor, type KeyServiceUnderTest, startKeyServiceUnderTest } from './key-service.e2e-harness';

const run = promisify(execFile);

type DataKeyPairAnswer = {
  private_key_plaintext: Buffer;
  private_key_ciphertext: Buffer;
  public_key: Buffer;
  public_key_pem: string;
  key_id: string;
  key_version: number;
  key_pair_spec: string;
};

describe('GenerateDataKeyPair over gRPC: EC P-256 and RSA-3072 data key pairs checked with openssl (issue #21)', () => {
  let kms: KeyServiceUnderTest;
  let app: Actor;
  let dir: string;
  let keyId: string;

  beforeAll(async () => {
    kms = await startKeyServiceUnderTest('e2e_byok2_dkp');
    app = await kms.register('dkp-app', 'WORKLOAD');
    dir = await mkdtemp(join(tmpdir(), 'kms-dkp-'));
    keyId = (
      await kms.admin.call<{ key_id: string }>('CreateKey', {
        name: 'data-key-pairs',
        purpose: 'SERVICE_ENVELOPE',
        algorithm: 'AES_256_GCM',
        policy: { grants: { [app.identityId]: { permissions: ['GENERATE_DATA_KEY', 'DECRYPT'] } } },
      })
    ).key_id;
  }, 120_000);
  afterAll(async () => {
    await kms?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Write DER PKCS#8 as a PEM private key openssl reads. */
  async function privatePem(pkcs8: Buffer): Promise<string> {
    const id = randomUUID();
    await writeFile(join(dir, `${id}.der`), pkcs8);
    await run('openssl', ['pkey', '-inform', 'DER', '-in', join(dir, `${id}.der`), '-out', join(dir, `${id}.pem`)]);
    return join(dir, `${id}.pem`);
  }

  it('ECC_NIST_P256: openssl signs with the private key handed out, and verifies with the public key; Decrypt of the sealed private key gives the same PKCS#8; audited without it', async () => {
    const aad = Buffer.from('owner=signing-service');
    const requestId = randomUUID();
    const pair = await app.call<DataKeyPairAnswer>('GenerateDataKeyPair', { key_id: keyId, aad, key_pair_spec: 'ECC_NIST_P256' }, requestId);
    expect(pair).toMatchObject({ key_id: keyId, key_version: 1, key_pair_spec: 'ECC_NIST_P256' });
    const priv = await privatePem(Buffer.from(pair.private_key_plaintext));
    const { stdout } = await run('openssl', ['pkey', '-in', priv, '-text', '-noout']);
    expect(stdout).toMatch(/prime256v1|P-256/);
    const pub = join(dir, 'p256.pub');
    await writeFile(pub, pair.public_key_pem);
    await writeFile(join(dir, 'msg'), 'payload 42');
    await run('openssl', ['dgst', '-sha256', '-sign', priv, '-out', join(dir, 'msg.sig'), join(dir, 'msg')]);
    const signature = await readFile(join(dir, 'msg.sig'));
    expect(await opensslVerifies(dir, pub, Buffer.from('payload 42'), signature)).toBe(true);
    expect(await opensslVerifies(dir, pub, Buffer.from('payload 43'), signature)).toBe(false);

    const opened = await app.call<{ plaintext: Buffer }>('Decrypt', { ciphertext: pair.private_key_ciphertext, aad });
    expect(Buffer.from(opened.plaintext).equals(Buffer.from(pair.private_key_plaintext))).toBe(true);
    expect(await refused(app.call('Decrypt', { ciphertext: pair.private_key_ciphertext, aad: Buffer.from('owner=other') }))).toMatchObject({ errorCode: 'INVALID_CIPHERTEXT' });

    const [row] = await auditRows(kms.db, requestId);
    expect(row).toMatchObject({ operation: 'GenerateDataKeyPair', outcome: 'SUCCESS', key_id: keyId });
    expect(row.details).toMatchObject({ keyPairSpec: 'ECC_NIST_P256', withoutPlaintext: false });
    const stored = JSON.stringify(row);
    expect(stored).not.toContain(Buffer.from(pair.private_key_plaintext).toString('base64'));
    expect(stored).not.toContain(Buffer.from(pair.private_key_plaintext).toString('hex'));
  }, 60_000);

  it('RSA_3072 without_plaintext: no private key in the answer; what openssl encrypts to the public key decrypts with the private key Decrypt opens', async () => {
    const pair = await app.call<DataKeyPairAnswer>('GenerateDataKeyPair', { key_id: keyId, key_pair_spec: 'RSA_3072', without_plaintext: true });
    expect(Buffer.from(pair.private_key_plaintext).length).toBe(0);
    const pub = join(dir, 'rsa.pub');
    await writeFile(pub, pair.public_key_pem);
    const { stdout } = await run('openssl', ['pkey', '-pubin', '-in', pub, '-text_pub', '-noout']);
    expect(stdout).toMatch(/3072 bit/);
    const secret = randomBytes(32);
    await writeFile(join(dir, 'secret'), secret);
    const oaep = ['-pkeyopt', 'rsa_padding_mode:oaep', '-pkeyopt', 'rsa_oaep_md:sha256'];
    await run('openssl', ['pkeyutl', '-encrypt', '-pubin', '-inkey', pub, '-in', join(dir, 'secret'), '-out', join(dir, 'secret.enc'), ...oaep]);

    const opened = await app.call<{ plaintext: Buffer }>('Decrypt', { ciphertext: pair.private_key_ciphertext });
    const priv = await privatePem(Buffer.from(opened.plaintext));
    await run('openssl', ['pkeyutl', '-decrypt', '-inkey', priv, '-in', join(dir, 'secret.enc'), '-out', join(dir, 'secret.dec'), ...oaep]);
    expect((await readFile(join(dir, 'secret.dec'))).equals(secret)).toBe(true);
  }, 60_000);

  it('refuses an unspecified key pair spec naming key_pair_spec, and a caller without GENERATE_DATA_KEY', async () => {
    expect(await refused(app.call('GenerateDataKeyPair', { key_id: keyId }))).toMatchObject({ errorCode: 'INVALID_ARGUMENT', field: 'key_pair_spec' });
    const stranger = await kms.register('dkp-stranger', 'WORKLOAD');
    expect(await refused(stranger.call('GenerateDataKeyPair', { key_id: keyId, key_pair_spec: 'ECC_NIST_P256' }))).toMatchObject({ errorCode: 'PERMISSION_DENIED' });
  }, 60_000);
});
