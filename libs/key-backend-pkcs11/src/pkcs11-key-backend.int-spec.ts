/**
 * @jest-environment ./libs/key-backend-pkcs11/src/testing/softhsm-test.environment.ts
 */
import type { VersionHandle } from '@kms/application';
import { keyBackendContract } from '@kms/application/testing';
import { KmsError, type Algorithm } from '@kms/domain';
import { execFile } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import * as pkcs11js from 'pkcs11js';
import { createPkcs11Hsm } from './pkcs11-hsm';
import { readOrigin } from './pkcs11-objects';
import { SOFTHSM_MODULE, softHsmTestToken } from './testing/softhsm-test-token';

const token = softHsmTestToken();
const hsm = createPkcs11Hsm({
  modulePath: SOFTHSM_MODULE,
  token: { kind: 'label', label: token.label },
  pin: { kind: 'file', path: token.userPinFile },
  softhsm2Conf: token.confPath,
});
const backend = hsm.keyBackend;

afterAll(() => hsm.close());

keyBackendContract('PKCS#11 backend on SoftHSM2', () => backend);

interface ToolResult {
  code: number;
  out: string;
}

/** OpenSC pkcs11-tool against this file's token, as an operator would run it. */
function pkcs11Tool(...args: string[]): Promise<ToolResult> {
  return new Promise((resolve) => {
    execFile(
      'pkcs11-tool',
      ['--module', SOFTHSM_MODULE, '--token-label', token.label, '--login', '--pin', token.pin(), ...args],
      { env: { ...process.env, SOFTHSM2_CONF: token.confPath } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

interface ListedObject {
  /** "Secret Key Object; AES length 32", "Private Key Object; EC", ... */
  kind: string;
  label: string;
  access: string;
}

/** The objects pkcs11-tool lists: a header line, then indented attribute lines. */
async function listedObjects(): Promise<ListedObject[]> {
  const { code, out } = await pkcs11Tool('--list-objects');
  expect(code).toBe(0);
  return out
    .split(/\n(?=\S)/)
    .filter((block) => / Object;/.test(block))
    .map((block) => ({
      kind: block.split('\n')[0].trim(),
      label: /^\s*label:\s*(.*?)\s*$/m.exec(block)?.[1] ?? '',
      access: /^\s*Access:\s*(.*?)\s*$/m.exec(block)?.[1] ?? '',
    }));
}

async function listedLabels(): Promise<string[]> {
  return (await listedObjects()).map((o) => o.label);
}

function showSlots(): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('softhsm2-util', ['--show-slots'], { env: { ...process.env, SOFTHSM2_CONF: token.confPath } }, (e, out) => (e ? reject(e) : resolve(out))),
  );
}

async function newVersion(algorithm: Algorithm): Promise<{ handle: VersionHandle; created: Awaited<ReturnType<typeof backend.createVersion>> }> {
  const keyId = randomUUID();
  const created = await backend.createVersion({ keyId, version: 1, algorithm });
  return { handle: { keyId, version: 1, algorithm, materialRef: created.materialRef }, created };
}

async function kmsError(p: Promise<unknown>): Promise<KmsError> {
  const outcome = await p.then(
    () => 'resolved',
    (e: unknown) => e,
  );
  expect(outcome).toBeInstanceOf(KmsError);
  return outcome as KmsError;
}

describe('Pkcs11KeyBackend on SoftHSM2', () => {
  it('supports every algorithm on SoftHSM2 2.6, Ed25519 included, once the mechanisms are known', async () => {
    expect(await backend.supportedAlgorithms()).toEqual(['AES_256_GCM', 'HMAC_SHA256', 'ECDSA_P256_SHA256', 'ED25519', 'RSA_PSS_3072_SHA256']);
    expect(backend.supports('DES_EDE3' as Algorithm)).toBe(false);
  });

  it.each(['ML_DSA_65', 'ML_KEM_768', 'RSA_OAEP_3072_SHA256'] as const)('refuses to create %s keys: UNSUPPORTED_ALGORITHM on field algorithm', async (algorithm) => {
    expect(backend.supports(algorithm)).toBe(false);
    const err = await kmsError(backend.createVersion({ keyId: randomUUID(), version: 1, algorithm }));
    expect(err.code).toBe('UNSUPPORTED_ALGORITHM');
    expect(err.field).toBe('algorithm');
  });

  it('refuses an algorithm it does not know: UNSUPPORTED_ALGORITHM on field algorithm', async () => {
    const err = await kmsError(backend.createVersion({ keyId: randomUUID(), version: 1, algorithm: 'DES_EDE3' as Algorithm }));
    expect(err.code).toBe('UNSUPPORTED_ALGORITHM');
    expect(err.field).toBe('algorithm');
  });

  describe.each<Algorithm>(['AES_256_GCM', 'HMAC_SHA256', 'ECDSA_P256_SHA256', 'RSA_PSS_3072_SHA256', 'ED25519'])('%s origin', (algorithm) => {
    it('is read back from the token: generated there, sensitive, never extractable, with the module identity', async () => {
      const { handle, created } = await newVersion(algorithm);
      const origin = created.origin;
      expect(origin?.attributes).toEqual({ local: true, neverExtractable: true, sensitive: true, extractable: false });
      const serial = /Serial number:\s*(\S+)[\s\S]*?Label:\s*kms\s*$/m.exec(await showSlots())?.[1];
      expect(origin?.module).toEqual({
        manufacturer: 'SoftHSM project',
        model: 'SoftHSM v2',
        serialNumber: serial,
        firmwareVersion: '2.6',
        hardwareVersion: '2.6',
        tokenLabel: 'kms',
        libraryDescription: 'Implementation of PKCS11',
      });
      expect(origin?.objectLabel).toBe(`kms:${handle.keyId}:v1`);
      expect(origin?.objectId).toMatch(/^[0-9a-f]{32}$/);
      expect(handle.materialRef).toBe(`${origin?.objectLabel}#${origin?.objectId}`);
      if (algorithm === 'AES_256_GCM' || algorithm === 'HMAC_SHA256') expect(origin?.checkValue).toMatch(/^[0-9a-f]{6}$/);
      else expect(origin?.checkValue).toBeUndefined();
    });
  });

  it('reads false where the object says so: an imported, extractable key is not local and not never-extractable', async () => {
    const label = `imported-${randomUUID()}`;
    const id = randomBytes(16);
    const origin = await hsm.pool.withSession('test', async (s) => {
      const key = s.module.C_CreateObject(s.handle, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
        { type: pkcs11js.CKA_VALUE, value: randomBytes(32) },
        { type: pkcs11js.CKA_TOKEN, value: false },
        { type: pkcs11js.CKA_SENSITIVE, value: false },
        { type: pkcs11js.CKA_EXTRACTABLE, value: true },
        { type: pkcs11js.CKA_LABEL, value: label },
      ]);
      try {
        return readOrigin(s, key, { label, id }, true);
      } finally {
        s.module.C_DestroyObject(s.handle, key);
      }
    });
    expect(origin.attributes).toEqual({ local: false, neverExtractable: false, sensitive: false, extractable: true });
  });

  it('keeps the objects on the token where pkcs11-tool lists them and refuses to read their value', async () => {
    const aes = await newVersion('AES_256_GCM');
    const ec = await newVersion('ECDSA_P256_SHA256');
    const objects = await listedObjects();
    const of = (label: string | undefined): ListedObject[] => objects.filter((o) => o.label === label);
    expect(of(aes.created.origin?.objectLabel).map((o) => o.kind)).toEqual([expect.stringMatching(/^Secret Key Object; AES/)]);
    // A key pair is two objects: the private key and the public key.
    expect(of(ec.created.origin?.objectLabel).map((o) => o.kind.split(';')[0]).sort()).toEqual(['Private Key Object', 'Public Key Object']);
    for (const o of [...of(aes.created.origin?.objectLabel), ...of(ec.created.origin?.objectLabel).filter((x) => x.kind.startsWith('Private'))]) {
      expect(o.access).toContain('always sensitive');
      expect(o.access).toContain('never extractable');
      expect(o.access).toContain('local');
    }

    const secret = await pkcs11Tool('--read-object', '--type', 'secrkey', '--label', `${aes.created.origin?.objectLabel}`);
    expect(secret.code).not.toBe(0);
    // pkcs11-tool does not even try to read private keys, so ask the module directly for the EC scalar.
    const refused = await hsm.pool.withSession('test', async (s) => {
      s.module.C_FindObjectsInit(s.handle, [
        { type: pkcs11js.CKA_LABEL, value: `${ec.created.origin?.objectLabel}` },
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
      ]);
      const [privateKey] = s.module.C_FindObjects(s.handle, 1);
      s.module.C_FindObjectsFinal(s.handle);
      try {
        s.module.C_GetAttributeValue(s.handle, privateKey, [{ type: pkcs11js.CKA_VALUE }]);
        return 'read';
      } catch (e) {
        return (e as Error).message;
      }
    });
    expect(refused).toBe('CKR_ATTRIBUTE_SENSITIVE');
  });

  it('destroyVersion removes every object of the version from the token, and then reports nothing left', async () => {
    const aes = await newVersion('AES_256_GCM');
    const ec = await newVersion('ECDSA_P256_SHA256');
    const other = await newVersion('AES_256_GCM');

    expect(await backend.destroyVersion(aes.handle)).toEqual({ hsmObjectDestroyed: true });
    expect(await backend.destroyVersion(ec.handle)).toEqual({ hsmObjectDestroyed: true });
    const labels = await listedLabels();
    expect(labels).not.toContain(aes.created.origin?.objectLabel);
    expect(labels).not.toContain(ec.created.origin?.objectLabel);
    expect(labels).toContain(other.created.origin?.objectLabel);

    expect(await backend.destroyVersion(aes.handle)).toBeUndefined();
    expect((await kmsError(backend.encrypt(aes.handle, Buffer.from('x'), Buffer.alloc(0)))).message).toBe('key material for version 1 is missing');
    await backend.encrypt(other.handle, Buffer.from('still works'), Buffer.alloc(0));
  });

  it("refuses a material reference that names another version's objects, and a malformed one", async () => {
    const { handle } = await newVersion('AES_256_GCM');
    const stolen = { ...handle, keyId: randomUUID() };
    expect((await kmsError(backend.encrypt(stolen, Buffer.from('x'), Buffer.alloc(0)))).message).toBe('key material for version 1 belongs to another key version');
    expect((await kmsError(backend.destroyVersion({ ...handle, version: 2 }))).code).toBe('BACKEND_UNAVAILABLE');
    expect((await kmsError(backend.encrypt({ ...handle, materialRef: 'nonsense' }, Buffer.from('x'), Buffer.alloc(0)))).message).toBe(
      'key material for version 1 has a malformed material reference',
    );
    // The real version is untouched by all that.
    expect((await listedLabels()).filter((l) => l === `kms:${handle.keyId}:v1`)).toHaveLength(1);
  });

  it('refuses to use a version with the wrong algorithm for its objects', async () => {
    const { handle } = await newVersion('HMAC_SHA256');
    const err = await kmsError(backend.encrypt({ ...handle, algorithm: 'AES_256_GCM' }, Buffer.from('x'), Buffer.alloc(0)));
    expect(err.message).toBe('key material for version 1 is not a AES_256_GCM key');
  });

  it('signs ECDSA digests the way node:crypto verifies, and getPublicKey matches the fingerprint', async () => {
    const { handle, created } = await newVersion('ECDSA_P256_SHA256');
    const spki = await backend.getPublicKey(handle);
    expect(createHash('sha256').update(spki).digest('hex')).toBe(created.publicKeyFingerprint);
  });
});
