import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mlDsa65KeyGenVectors, mlDsa65WycheproofSignVectors, mlKem768KeyGenVectors, pyca, pycaPython, wrapWithOpenssl } from '@kms/testing';
import { type Actor, type KeyServiceUnderTest, startKeyServiceUnderTest } from './key-service.e2e-harness';

type PublicKeyAnswer = { key_version: number; algorithm: string; pem: string; jwk: string };

const hex = (s: string) => Buffer.from(s, 'hex');
const spkiOf = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');

/**
 * FIPS 203/204 known answers through the KMS: the NIST ACVP keyGen seeds are imported (BYOK) into
 * ML-KEM-768 and ML-DSA-65 keys; GetPublicKey must answer the ACVP public keys, and what the KMS
 * signs or decapsulates is checked with pyca/cryptography, an implementation independent of the
 * @noble/post-quantum code the KMS runs.
 */
describe('ML-KEM-768 and ML-DSA-65 keys against NIST ACVP vectors and pyca/cryptography over gRPC (issue #21)', () => {
  let kms: KeyServiceUnderTest;
  let app: Actor;
  let dir: string;
  let python: string;

  beforeAll(async () => {
    python = pycaPython();
    kms = await startKeyServiceUnderTest('e2e_pq_vectors');
    app = await kms.register('pq-vectors-app', 'WORKLOAD');
    dir = await mkdtemp(join(tmpdir(), 'kms-pq-vectors-'));
  }, 120_000);
  afterAll(async () => {
    await kms?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A key whose primary is the imported seed (the openssl CLI wraps it, as a customer would). */
  async function keyWithImportedSeed(name: string, algorithm: string, seed: Buffer): Promise<string> {
    const key = await kms.admin.call<{ key_id: string }>('CreateKey', {
      name,
      purpose: 'SERVICE_ENVELOPE',
      algorithm,
      policy: { grants: { [app.identityId]: { permissions: ['ADMINISTER', 'SIGN', 'VERIFY', 'DECRYPT'] } } },
    });
    const params = await app.call<{ import_token: string; wrapping_public_key: Buffer }>('GetImportParameters', { key_id: key.key_id });
    const wrapped = await wrapWithOpenssl(dir, Buffer.from(params.wrapping_public_key), seed);
    const imported = await app.call<{ primary_version: number }>('ImportKeyVersion', { key_id: key.key_id, import_token: params.import_token, wrapped_key_material: wrapped });
    expect(imported.primary_version).toBe(2);
    return key.key_id;
  }

  it('ML-KEM-768: the ACVP seed d || z imported, GetPublicKey is the ACVP ek; pyca encapsulates to it and Decapsulate returns the same secret', async () => {
    const [v] = mlKem768KeyGenVectors();
    const keyId = await keyWithImportedSeed('acvp-mlkem', 'ML_KEM_768', hex(v.d + v.z));
    const pub = await app.call<PublicKeyAnswer>('GetPublicKey', { key_id: keyId });
    expect(pub.key_version).toBe(2);
    const spki = spkiOf(pub.pem);
    expect(spki.subarray(22).toString('hex')).toBe(v.ek.toLowerCase());

    for (let i = 0; i < 3; i++) {
      const { sharedSecret, ciphertext } = await pyca<{ sharedSecret: string; ciphertext: string }>(python, 'mlkem768-encapsulate', { ek: spki.subarray(22) });
      const out = await app.call<{ shared_secret: Buffer; key_version: number }>('Decapsulate', { key_id: keyId, ciphertext: hex(ciphertext) });
      expect(out.key_version).toBe(2);
      expect(Buffer.from(out.shared_secret).toString('hex')).toBe(sharedSecret);
    }
  }, 60_000);

  it('ML-DSA-65: the ACVP seed imported, GetPublicKey is the ACVP pk; KMS signatures verify in pyca with that pk, pyca signatures verify in the KMS', async () => {
    const [v] = mlDsa65KeyGenVectors();
    const keyId = await keyWithImportedSeed('acvp-mldsa', 'ML_DSA_65', hex(v.seed));
    const pub = await app.call<PublicKeyAnswer>('GetPublicKey', { key_id: keyId });
    expect(spkiOf(pub.pem).subarray(22).toString('hex')).toBe(v.pk.toLowerCase());
    expect(Buffer.from((JSON.parse(pub.jwk) as { pub: string }).pub, 'base64url').toString('hex')).toBe(v.pk.toLowerCase());

    const message = randomBytes(300);
    const signed = await app.call<{ signature: Buffer; key_version: number }>('Sign', { key_id: keyId, message });
    expect(signed.key_version).toBe(2);
    expect(await pyca(python, 'mldsa65-verify', { pk: hex(v.pk), message, signature: Buffer.from(signed.signature) })).toEqual({ valid: true });
    expect(await pyca(python, 'mldsa65-verify', { pk: hex(v.pk), message: randomBytes(300), signature: Buffer.from(signed.signature) })).toEqual({ valid: false });

    const theirs = await pyca<{ signature: string }>(python, 'mldsa65-sign', { seed: hex(v.seed), message });
    expect((await app.call<{ valid: boolean }>('Verify', { key_id: keyId, message, signature: hex(theirs.signature) })).valid).toBe(true);
    expect((await app.call<{ valid: boolean }>('Verify', { key_id: keyId, message: Buffer.concat([message, Buffer.of(1)]), signature: hex(theirs.signature) })).valid).toBe(false);
  }, 60_000);

  it('ML-DSA-65 (Wycheproof): the seed imported, GetPublicKey is the expected key; Verify accepts the expected signature; the KMS signature verifies in pyca under that key', async () => {
    const [v] = mlDsa65WycheproofSignVectors();
    const keyId = await keyWithImportedSeed('wycheproof-mldsa', 'ML_DSA_65', hex(v.seed));
    const pub = await app.call<PublicKeyAnswer>('GetPublicKey', { key_id: keyId });
    expect(spkiOf(pub.pem).subarray(22).toString('hex')).toBe(v.pk);
    expect((await app.call<{ valid: boolean }>('Verify', { key_id: keyId, message: hex(v.msg), signature: hex(v.sig) })).valid).toBe(true);
    const signed = await app.call<{ signature: Buffer }>('Sign', { key_id: keyId, message: hex(v.msg) });
    expect(await pyca(python, 'mldsa65-verify', { pk: hex(v.pk), message: hex(v.msg), signature: Buffer.from(signed.signature) })).toEqual({ valid: true });
  }, 60_000);
});
