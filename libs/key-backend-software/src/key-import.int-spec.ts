import { execFile } from 'node:child_process';
import { createDecipheriv, createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Algorithm, KmsError } from '@kms/domain';
import { opensslKeyPair, opensslVerifies, withOneCharChanged, wrapWithOpenssl } from '@kms/testing';
import { InMemoryKeyMaterialStore } from './in-memory-key-material-store';
import { MasterKey } from './master-key';
import { SoftwareKeyBackend } from './software-key-backend';

const run = promisify(execFile);
/** NIST CAVP AES-GCM decryption vectors, shipped by Debian's python3-cryptography-vectors (scripts/setup.sh installs it). */
const NIST_GCM_DECRYPT_256 = '/usr/lib/python3/dist-packages/cryptography_vectors/ciphers/AES/GCM/gcmDecrypt256.rsp';

interface GcmVector {
  key: Buffer;
  iv: Buffer;
  ct: Buffer;
  aad: Buffer;
  tag: Buffer;
  /** Undefined for vectors NIST marks FAIL. */
  pt?: Buffer;
}

/** The [IVlen = 96] [Taglen = 128] sections of a CAVP .rsp file: the shape this KMS's ciphertexts have. */
function gcmVectors(path: string): GcmVector[] {
  const out: GcmVector[] = [];
  let ivBits = 0;
  let tagBits = 0;
  for (const block of readFileSync(path, 'utf8').split(/\r?\n\r?\n/)) {
    const ivLen = /\[IVlen = (\d+)\]/.exec(block);
    if (ivLen) ivBits = Number(ivLen[1]);
    const tagLen = /\[Taglen = (\d+)\]/.exec(block);
    if (tagLen) tagBits = Number(tagLen[1]);
    if (!/^Count = /m.test(block) || ivBits !== 96 || tagBits !== 128) continue;
    const field = (name: string) => Buffer.from(new RegExp(`^${name} = ?([0-9a-f]*)`, 'm').exec(block)?.[1] ?? '', 'hex');
    out.push({ key: field('Key'), iv: field('IV'), ct: field('CT'), aad: field('AAD'), tag: field('Tag'), ...(/^FAIL/m.test(block) ? {} : { pt: field('PT') }) });
  }
  return out;
}

describe('BYOK import into the software backend: material wrapped by the openssl CLI (RSA-OAEP-SHA256 + AES-KWP)', () => {
  let dir: string;
  let now = new Date();
  const backend = new SoftwareKeyBackend({ store: new InMemoryKeyMaterialStore(), masterKey: MasterKey.generate(), now: () => now });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kms-import-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  afterEach(() => {
    now = new Date();
  });

  const wrap = (spki: Buffer, material: Buffer) => wrapWithOpenssl(dir, spki, material);
  const opensslKey = (args: string[]) => opensslKeyPair(dir, args);
  const verifies = (publicPem: string, message: Buffer, signature: Buffer, extra: string[] = []) => opensslVerifies(dir, publicPem, message, signature, extra);

  async function importMaterial(algorithm: Algorithm, material: Buffer) {
    const keyId = randomUUID();
    const params = await backend.createImportWrappingKey({ keyId });
    const wrappedMaterial = await wrap(params.publicKeySpki, material);
    const created = await backend.importVersion({ keyId, version: 1, algorithm, wrappingKeyRef: params.wrappingKeyRef, wrappedMaterial });
    return { keyId, params, wrappedMaterial, created, handle: { keyId, version: 1, algorithm, materialRef: created.materialRef } };
  }

  it('AES-256: the KMS encrypts with the imported key; the customer, who holds the key, decrypts outside the KMS', async () => {
    const key = randomBytes(32);
    const { handle } = await importMaterial('AES_256_GCM', key);
    const aad = Buffer.from('tenant=acme');
    const body = await backend.encrypt(handle, Buffer.from('imported, not generated'), aad);
    const decipher = createDecipheriv('aes-256-gcm', key, body.subarray(0, 12)).setAAD(aad);
    decipher.setAuthTag(body.subarray(body.length - 16));
    expect(Buffer.concat([decipher.update(body.subarray(12, body.length - 16)), decipher.final()]).toString()).toBe('imported, not generated');
  });

  it('AES-256: imported NIST CAVP gcmDecrypt256 keys decrypt the NIST ciphertexts, and refuse those NIST marks FAIL', async () => {
    const vectors = gcmVectors(NIST_GCM_DECRYPT_256);
    // Every (IV 96, tag 128) section is sampled; one vector in twenty keeps the openssl round trips affordable.
    const sample = vectors.filter((_, i) => i % 20 === 0);
    expect(sample.some((v) => v.pt === undefined)).toBe(true);
    expect(sample.some((v) => v.pt !== undefined && v.pt.length > 0 && v.aad.length > 0)).toBe(true);
    // Import tokens are single use: every version of the key gets its own import parameters.
    const keyId = randomUUID();
    for (const [i, v] of sample.entries()) {
      const params = await backend.createImportWrappingKey({ keyId });
      const wrappedMaterial = await wrap(params.publicKeySpki, v.key);
      const created = await backend.importVersion({ keyId, version: i + 1, algorithm: 'AES_256_GCM', wrappingKeyRef: params.wrappingKeyRef, wrappedMaterial });
      const handle = { keyId, version: i + 1, algorithm: 'AES_256_GCM' as const, materialRef: created.materialRef };
      const body = Buffer.concat([v.iv, v.ct, v.tag]);
      if (v.pt) {
        expect((await backend.decrypt(handle, body, v.aad)).toString('hex')).toBe(v.pt.toString('hex'));
      } else {
        await expect(backend.decrypt(handle, body, v.aad)).rejects.toMatchObject({ code: 'INVALID_CIPHERTEXT' });
      }
    }
  }, 240_000);

  it('P-256: an openssl-generated key signs in the KMS and openssl verifies with its own public key', async () => {
    const { pkcs8, publicPem } = await opensslKey(['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']);
    const { handle, created } = await importMaterial('ECDSA_P256_SHA256', pkcs8);
    const message = Buffer.from('wire 100 EUR');
    const signature = await backend.sign(handle, { message });
    expect(await verifies(publicPem, message, signature)).toBe(true);
    expect(await verifies(publicPem, Buffer.from('wire 900 EUR'), signature)).toBe(false);
    const spki = await backend.getPublicKey(handle);
    expect(created.publicKeyFingerprint).toBe(createHash('sha256').update(spki).digest('hex'));
  });

  it('RSA-3072: imported as RSA_PSS_3072_SHA256 its signatures verify with openssl; imported as RSA_OAEP_3072_SHA256 it decrypts what openssl encrypted', async () => {
    const { pkcs8, publicPem } = await opensslKey(['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:3072']);
    const pss = await importMaterial('RSA_PSS_3072_SHA256', pkcs8);
    const message = Buffer.from('release 7');
    const signature = await backend.sign(pss.handle, { message });
    expect(await verifies(publicPem, message, signature, ['-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:32', '-sigopt', 'rsa_mgf1_md:sha256'])).toBe(true);

    const oaep = await importMaterial('RSA_OAEP_3072_SHA256', pkcs8);
    const secret = randomBytes(32);
    await writeFile(join(dir, 'oaep-secret'), secret);
    await run('openssl', [
      'pkeyutl', '-encrypt', '-pubin', '-inkey', publicPem, '-in', join(dir, 'oaep-secret'), '-out', join(dir, 'oaep-secret.enc'),
      '-pkeyopt', 'rsa_padding_mode:oaep', '-pkeyopt', 'rsa_oaep_md:sha256', '-pkeyopt', 'rsa_mgf1_md:sha256',
    ]);
    expect((await backend.asymmetricDecrypt(oaep.handle, await readFile(join(dir, 'oaep-secret.enc')))).equals(secret)).toBe(true);
  }, 180_000);

  it('refuses material that is not of the key algorithm, naming wrapped_key_material', async () => {
    const { pkcs8 } = await opensslKey(['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']);
    await expect(importMaterial('RSA_PSS_3072_SHA256', pkcs8)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'wrapped_key_material' });
    await expect(importMaterial('AES_256_GCM', randomBytes(16))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'wrapped_key_material' });
    await expect(importMaterial('ECDSA_P256_SHA256', randomBytes(32))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'wrapped_key_material' });
  }, 180_000);

  it('refuses altered wrapped material, material wrapped for other parameters, parameters of another key, parameters older than 24 hours, and a spent token', async () => {
    const keyId = randomUUID();
    const params = await backend.createImportWrappingKey({ keyId });
    const wrappedMaterial = await wrap(params.publicKeySpki, randomBytes(32));
    const request = { keyId, version: 1, algorithm: 'AES_256_GCM' as const, wrappingKeyRef: params.wrappingKeyRef, wrappedMaterial };

    const altered = Buffer.from(withOneCharChanged(wrappedMaterial.toString('base64')), 'base64');
    await expect(backend.importVersion({ ...request, wrappedMaterial: altered })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'wrapped_key_material' });
    const tail = Buffer.from(withOneCharChanged(wrappedMaterial.toString('base64'), wrappedMaterial.toString('base64').length - 4), 'base64');
    await expect(backend.importVersion({ ...request, wrappedMaterial: tail })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'wrapped_key_material' });

    const other = await backend.createImportWrappingKey({ keyId });
    await expect(backend.importVersion({ ...request, wrappingKeyRef: other.wrappingKeyRef })).rejects.toMatchObject({ field: 'wrapped_key_material' });
    await expect(backend.importVersion({ ...request, keyId: randomUUID() })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'import_token' });

    now = new Date(params.createdAt.getTime() + 24 * 60 * 60 * 1000 + 1);
    const err = await backend.importVersion(request).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KmsError);
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'import_token' });
    now = new Date(params.createdAt.getTime() + 60_000);
    const created = await backend.importVersion(request);
    expect(created.materialRef).not.toBe(params.wrappingKeyRef);
    // Spent: the same token imports nothing more, even the very same wrapped material.
    await expect(backend.importVersion({ ...request, version: 2 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'import_token', message: expect.stringMatching(/single use/) });
  });
});
