/**
 * @jest-environment ./libs/key-backend-pkcs11/src/testing/softhsm-test.environment.ts
 */
import { execFile } from 'node:child_process';
import { createDecipheriv, createHash, createPublicKey, generateKeyPairSync, publicEncrypt, constants, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as pkcs11js from 'pkcs11js';
import { wrapWithOpenssl } from '@kms/testing';
import { createPkcs11Hsm } from './pkcs11-hsm';
import { findObjects } from './pkcs11-objects';
import { SOFTHSM_MODULE, softHsmTestToken } from './testing/softhsm-test-token';

const token = softHsmTestToken();
const hsm = createPkcs11Hsm({
  modulePath: SOFTHSM_MODULE,
  token: { kind: 'label', label: token.label },
  pin: { kind: 'file', path: token.userPinFile },
  softhsm2Conf: token.confPath,
});
const backend = hsm.keyBackend;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kms-hsm-import-'));
});
afterAll(async () => {
  await hsm.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function bool(b: Buffer): boolean {
  return b.length > 0 && b[0] !== 0;
}

describe('BYOK import into the HSM (SoftHSM2): C_UnwrapKey, the material never in process memory', () => {
  it('an AES-256 key wrapped by the openssl CLI (OAEP-SHA1 + AES-KWP) becomes a sensitive, non-extractable token object with CKA_LOCAL false; it encrypts what the customer decrypts', async () => {
    const keyId = randomUUID();
    const params = await backend.createImportWrappingKey({ keyId });
    expect(params.wrappingAlgorithm).toBe('RSA_OAEP_3072_SHA1_AES_256_KWP');
    expect(createPublicKey({ key: params.publicKeySpki, format: 'der', type: 'spki' }).asymmetricKeyDetails?.modulusLength).toBe(3072);
    const material = randomBytes(32);
    const wrapped = await wrapWithOpenssl(dir, params.publicKeySpki, material, 'sha1');
    const created = await backend.importVersion({ keyId, version: 1, algorithm: 'AES_256_GCM', wrappingKeyRef: params.wrappingKeyRef, wrappedMaterial: wrapped });
    expect(created.origin?.attributes).toEqual({ local: false, neverExtractable: false, sensitive: true, extractable: false });

    // Read back from the token itself, not from what the backend reported.
    const attributes = await hsm.pool.withSession('test', async (s) => {
      const [object] = findObjects(s, [{ type: pkcs11js.CKA_LABEL, value: `kms:${keyId}:v1` }]);
      const [local, sensitive, extractable, tokenObject] = s.module.C_GetAttributeValue(s.handle, object.handle, [
        { type: pkcs11js.CKA_LOCAL },
        { type: pkcs11js.CKA_SENSITIVE },
        { type: pkcs11js.CKA_EXTRACTABLE },
        { type: pkcs11js.CKA_TOKEN },
      ]);
      let valueReadable = true;
      try {
        s.module.C_GetAttributeValue(s.handle, object.handle, [{ type: pkcs11js.CKA_VALUE }]);
      } catch {
        valueReadable = false;
      }
      // Single use: the wrapping key pair is gone from the token.
      const wrappingLeft = findObjects(s, [{ type: pkcs11js.CKA_LABEL, value: `kms-import:${keyId}:${params.wrappingKeyRef}` }]).length;
      return { local: bool(local.value), sensitive: bool(sensitive.value), extractable: bool(extractable.value), token: bool(tokenObject.value), valueReadable, wrappingLeft };
    });
    expect(attributes).toEqual({ local: false, sensitive: true, extractable: false, token: true, valueReadable: false, wrappingLeft: 0 });

    const handle = { keyId, version: 1, algorithm: 'AES_256_GCM' as const, materialRef: created.materialRef };
    const aad = Buffer.from('tenant=acme');
    const body = await backend.encrypt(handle, Buffer.from('imported into the HSM'), aad);
    const decipher = createDecipheriv('aes-256-gcm', material, body.subarray(0, 12)).setAAD(aad);
    decipher.setAuthTag(body.subarray(body.length - 16));
    expect(Buffer.concat([decipher.update(body.subarray(12, body.length - 16)), decipher.final()]).toString()).toBe('imported into the HSM');

    await expect(backend.importVersion({ keyId, version: 2, algorithm: 'AES_256_GCM', wrappingKeyRef: params.wrappingKeyRef, wrappedMaterial: wrapped })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'import_token',
    });
  });

  it('SoftHSM2 cannot unwrap RSA-OAEP with SHA-256 (why HSM keys take OAEP-SHA1): the module refuses it, and so does the import, naming wrapped_key_material', async () => {
    const keyId = randomUUID();
    const params = await backend.createImportWrappingKey({ keyId });
    const refusal = await hsm.pool.withSession('test', async (s) => {
      const [priv] = findObjects(s, [{ type: pkcs11js.CKA_LABEL, value: `kms-import:${keyId}:${params.wrappingKeyRef}` }, { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }]);
      const rsaOaepOfAes = publicEncrypt({ key: createPublicKey({ key: params.publicKeySpki, format: 'der', type: 'spki' }), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, randomBytes(32));
      const oaepSha256: pkcs11js.RsaOAEP = { type: pkcs11js.CK_PARAMS_RSA_OAEP, hashAlg: pkcs11js.CKM_SHA256, mgf: pkcs11js.CKG_MGF1_SHA256, source: 1 };
      try {
        s.module.C_UnwrapKey(s.handle, { mechanism: pkcs11js.CKM_RSA_PKCS_OAEP, parameter: oaepSha256 }, priv.handle, rsaOaepOfAes, [
          { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
          { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
          { type: pkcs11js.CKA_TOKEN, value: false },
        ]);
        return 'unwrapped';
      } catch (e) {
        return (e as Error).message;
      }
    });
    expect(refusal).toMatch(/CKR_ARGUMENTS_BAD|CKR_MECHANISM_PARAM_INVALID/);
    const sha256Wrapped = await wrapWithOpenssl(dir, params.publicKeySpki, randomBytes(32), 'sha256');
    await expect(backend.importVersion({ keyId, version: 1, algorithm: 'AES_256_GCM', wrappingKeyRef: params.wrappingKeyRef, wrappedMaterial: sha256Wrapped })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'wrapped_key_material',
      message: expect.stringMatching(/SHA-1/),
    });
  });

  it('refuses material that is not an AES-256 key (16 or 28 bytes), altered material, and an EC key pair; a failed import leaves the token usable', async () => {
    const keyId = randomUUID();
    const params = await backend.createImportWrappingKey({ keyId });
    const request = { keyId, version: 1, algorithm: 'AES_256_GCM' as const, wrappingKeyRef: params.wrappingKeyRef };
    for (const size of [16, 28]) {
      const wrapped = await wrapWithOpenssl(dir, params.publicKeySpki, randomBytes(size), 'sha1');
      await expect(backend.importVersion({ ...request, wrappedMaterial: wrapped })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'wrapped_key_material' });
    }
    const good = await wrapWithOpenssl(dir, params.publicKeySpki, randomBytes(32), 'sha1');
    const altered = Buffer.from(good);
    altered[altered.length - 3] ^= 0x01;
    await expect(backend.importVersion({ ...request, wrappedMaterial: altered })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'wrapped_key_material' });
    await expect(backend.importVersion({ ...request, algorithm: 'ECDSA_P256_SHA256', wrappedMaterial: good })).rejects.toMatchObject({ code: 'UNSUPPORTED_ALGORITHM' });
    // No object was left behind by the refusals, and the token still imports the right material.
    const leftovers = await hsm.pool.withSession('test', async (s) => findObjects(s, [{ type: pkcs11js.CKA_LABEL, value: `kms:${keyId}:v1` }]).length);
    expect(leftovers).toBe(0);
    const created = await backend.importVersion({ ...request, wrappedMaterial: good });
    expect(created.origin?.attributes.local).toBe(false);
  });

  it('an RSA-3072 key pair wrapped by the openssl CLI (PKCS#8) is unwrapped inside the module; its public key is read back from it; it signs what openssl verifies with the customer’s own public key', async () => {
    const keyId = randomUUID();
    const params = await backend.createImportWrappingKey({ keyId, algorithm: 'RSA_PSS_3072_SHA256' });
    const pair = generateKeyPairSync('rsa', { modulusLength: 3072 });
    const pkcs8 = pair.privateKey.export({ format: 'der', type: 'pkcs8' });
    const wrapped = await wrapWithOpenssl(dir, params.publicKeySpki, pkcs8, 'sha1');
    const created = await backend.importVersion({ keyId, version: 1, algorithm: 'RSA_PSS_3072_SHA256', wrappingKeyRef: params.wrappingKeyRef, wrappedMaterial: wrapped });
    expect(created.origin?.attributes).toEqual({ local: false, neverExtractable: false, sensitive: true, extractable: false });
    const customerSpki = pair.publicKey.export({ format: 'der', type: 'spki' });
    expect(created.publicKeyFingerprint).toBe(createHash('sha256').update(customerSpki).digest('hex'));

    const handle = { keyId, version: 1, algorithm: 'RSA_PSS_3072_SHA256' as const, materialRef: created.materialRef };
    expect(await backend.getPublicKey(handle)).toEqual(customerSpki);
    const message = Buffer.from('signed inside the HSM with an imported key');
    const signature = await backend.sign(handle, { message });
    // Verified outside with the openssl CLI and the public key the customer kept.
    await writeFile(join(dir, `${keyId}.pub.der`), customerSpki);
    await writeFile(join(dir, `${keyId}.msg`), message);
    await writeFile(join(dir, `${keyId}.sig`), signature);
    const verified = await new Promise<string>((resolve) =>
      execFile(
        'openssl',
        ['dgst', '-sha256', '-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:32', '-sigopt', 'rsa_mgf1_md:sha256', '-keyform', 'DER', '-verify', join(dir, `${keyId}.pub.der`), '-signature', join(dir, `${keyId}.sig`), join(dir, `${keyId}.msg`)],
        (_e, stdout, stderr) => resolve(`${stdout}${stderr}`),
      ),
    );
    expect(verified).toContain('Verified OK');

    // The private key object: sensitive, never readable; the wrapping key pair spent.
    const seen = await hsm.pool.withSession('test', async (s) => {
      const objects = findObjects(s, [{ type: pkcs11js.CKA_LABEL, value: `kms:${keyId}:v1` }]);
      const priv = objects.find((o) => o.objectClass === pkcs11js.CKO_PRIVATE_KEY);
      let valueReadable = true;
      try {
        if (priv) s.module.C_GetAttributeValue(s.handle, priv.handle, [{ type: pkcs11js.CKA_PRIVATE_EXPONENT }]);
      } catch {
        valueReadable = false;
      }
      return { classes: objects.map((o) => o.objectClass).sort(), valueReadable, wrappingLeft: findObjects(s, [{ type: pkcs11js.CKA_LABEL, value: `kms-import:${keyId}:${params.wrappingKeyRef}` }]).length };
    });
    expect(seen).toEqual({ classes: [pkcs11js.CKO_PUBLIC_KEY, pkcs11js.CKO_PRIVATE_KEY].sort(), valueReadable: false, wrappingLeft: 0 });
  });

  it('refuses an RSA key of another size, and EC key pairs (the module gives back no public point for them)', async () => {
    const keyId = randomUUID();
    const params = await backend.createImportWrappingKey({ keyId, algorithm: 'RSA_PSS_3072_SHA256' });
    const small = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'der', type: 'pkcs8' });
    const wrapped = await wrapWithOpenssl(dir, params.publicKeySpki, small, 'sha1');
    await expect(backend.importVersion({ keyId, version: 1, algorithm: 'RSA_PSS_3072_SHA256', wrappingKeyRef: params.wrappingKeyRef, wrappedMaterial: wrapped })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'wrapped_key_material',
    });
    await expect(backend.createImportWrappingKey({ keyId, algorithm: 'ECDSA_P256_SHA256' })).rejects.toMatchObject({ code: 'UNSUPPORTED_ALGORITHM', message: expect.stringContaining('public point') });
    const leftovers = await hsm.pool.withSession('test', async (s) => findObjects(s, [{ type: pkcs11js.CKA_LABEL, value: `kms:${keyId}:v1` }]).length);
    expect(leftovers).toBe(0);
  });
});
