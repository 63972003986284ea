/**
 * @jest-environment ./libs/key-backend-pkcs11/src/testing/softhsm-test.environment.ts
 */
import { createDecipheriv, createPublicKey, publicEncrypt, constants, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
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

  it('refuses material that is not an AES-256 key (16 or 28 bytes), altered material, and algorithms other than AES_256_GCM; a failed import leaves the token usable', async () => {
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
});
