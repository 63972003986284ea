/**
 * @jest-environment ./libs/key-backend-pkcs11/src/testing/softhsm-test.environment.ts
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { softHsmTestToken } from '@kms/key-backend-pkcs11/testing';
import { withOneCharChanged } from '@kms/testing';
import { type Actor, type KeyServiceUnderTest, startKeyServiceUnderTest } from './key-service.e2e-harness';

const run = promisify(execFile);

type PublicKeyAnswer = { key_version: number; algorithm: string; pem: string; jwk: string; fingerprint: string };

describe('RSA-OAEP, ML-DSA-65 and ML-KEM-768 keys through gRPC (issue #21)', () => {
  let kms: KeyServiceUnderTest;
  let app: Actor;
  let dir: string;

  beforeAll(async () => {
    const token = softHsmTestToken();
    kms = await startKeyServiceUnderTest('e2e_asymmetric', { KMS_HSM_ENABLED: '1', KMS_HSM_PIN_FILE: token.userPinFile, SOFTHSM2_CONF: token.confPath });
    app = await kms.register('asymmetric-app', 'WORKLOAD');
    dir = await mkdtemp(join(tmpdir(), 'kms-asymmetric-'));
  }, 60_000);
  afterAll(async () => {
    await kms?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const createKey = async (name: string, algorithm: string, protectionLevel = 'SOFTWARE') =>
    kms.admin.call<{ key_id: string; algorithm: string; protection_level: string }>('CreateKey', {
      name,
      purpose: 'SERVICE_ENVELOPE',
      algorithm,
      protection_level: protectionLevel,
      policy: { grants: { [app.identityId]: { permissions: ['DECRYPT', 'SIGN', 'VERIFY'] } } },
    });

  it('RSA_OAEP_3072_SHA256: openssl encrypts offline with the public key from GetPublicKey, AsymmetricDecrypt returns the bytes', async () => {
    const key = await createKey('oaep', 'RSA_OAEP_3072_SHA256');
    expect(key.algorithm).toBe('RSA_OAEP_3072_SHA256');
    const pub = await app.call<PublicKeyAnswer>('GetPublicKey', { key_id: key.key_id });
    expect(JSON.parse(pub.jwk)).toMatchObject({ kty: 'RSA', alg: 'RSA-OAEP-256', use: 'enc', kid: `${key.key_id}:1` });
    const pem = join(dir, 'oaep.pem');
    const secret = randomBytes(64);
    await writeFile(pem, pub.pem);
    await writeFile(join(dir, 'secret.bin'), secret);
    await run('openssl', [
      'pkeyutl', '-encrypt', '-pubin', '-inkey', pem, '-in', join(dir, 'secret.bin'), '-out', join(dir, 'secret.enc'),
      '-pkeyopt', 'rsa_padding_mode:oaep', '-pkeyopt', 'rsa_oaep_md:sha256', '-pkeyopt', 'rsa_mgf1_md:sha256',
    ]);
    const ciphertext = await readFile(join(dir, 'secret.enc'));
    const out = await app.call<{ plaintext: Buffer; key_version: number }>('AsymmetricDecrypt', { key_id: key.key_id, ciphertext });
    expect(Buffer.from(out.plaintext).equals(secret)).toBe(true);
    expect(out.key_version).toBe(1);

    const altered = Buffer.from(withOneCharChanged(ciphertext.toString('base64')), 'base64');
    await expect(app.call('AsymmetricDecrypt', { key_id: key.key_id, ciphertext: altered })).rejects.toMatchObject({ errorCode: 'INVALID_CIPHERTEXT', field: 'ciphertext' });
    // An RSA-OAEP key is no signing key, and a signing key does not decrypt.
    await expect(app.call('Sign', { key_id: key.key_id, message: Buffer.from('x') })).rejects.toMatchObject({ errorCode: 'USAGE_MISMATCH' });
  });

  it('ML_DSA_65: signatures verify with @noble/post-quantum and the RFC 9964 AKP JWK alone; tampered ones do not', async () => {
    const key = await createKey('mldsa', 'ML_DSA_65');
    const pub = await app.call<PublicKeyAnswer>('GetPublicKey', { key_id: key.key_id });
    const jwk = JSON.parse(pub.jwk) as { kty: string; alg: string; pub: string; kid: string };
    expect({ kty: jwk.kty, alg: jwk.alg, kid: jwk.kid }).toEqual({ kty: 'AKP', alg: 'ML-DSA-65', kid: `${key.key_id}:1` });
    const publicKey = Buffer.from(jwk.pub, 'base64url');
    expect(publicKey.length).toBe(1952);
    // The PEM is the SPKI of RFC 9881 (id-ml-dsa-65) with the same key inside.
    expect(pub.pem).toContain('BEGIN PUBLIC KEY');
    const spki = Buffer.from(pub.pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    expect(spki.subarray(0, 22).toString('hex')).toBe('308207b2300b0609608648016503040312038207a100');
    expect(spki.subarray(22).equals(publicKey)).toBe(true);

    const message = Buffer.from('release 4.2.0 of the payments service');
    const signed = await app.call<{ signature: Buffer; algorithm: string }>('Sign', { key_id: key.key_id, message });
    expect(signed.algorithm).toBe('ML_DSA_65');
    expect(ml_dsa65.verify(signed.signature, message, publicKey)).toBe(true);
    expect(ml_dsa65.verify(signed.signature, Buffer.from('release 4.2.1 of the payments service'), publicKey)).toBe(false);
    expect((await app.call<{ valid: boolean }>('Verify', { key_id: key.key_id, message, signature: signed.signature })).valid).toBe(true);
    const tampered = Buffer.from(withOneCharChanged(Buffer.from(signed.signature).toString('base64')), 'base64');
    expect((await app.call<{ valid: boolean }>('Verify', { key_id: key.key_id, message, signature: tampered })).valid).toBe(false);
    await expect(app.call('Sign', { key_id: key.key_id, digest: randomBytes(32) })).rejects.toMatchObject({ errorCode: 'INVALID_ARGUMENT', field: 'digest' });
  });

  it('ML_KEM_768: a client encapsulates with the public key alone, Decapsulate returns the same shared secret', async () => {
    const key = await createKey('mlkem', 'ML_KEM_768');
    const pub = await app.call<PublicKeyAnswer>('GetPublicKey', { key_id: key.key_id });
    const spki = Buffer.from(pub.pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    expect(spki.subarray(0, 22).toString('hex')).toBe('308204b2300b0609608648016503040402038204a100');
    const { cipherText, sharedSecret } = ml_kem768.encapsulate(spki.subarray(22));
    const out = await app.call<{ shared_secret: Buffer }>('Decapsulate', { key_id: key.key_id, ciphertext: Buffer.from(cipherText) });
    expect(Buffer.from(out.shared_secret).equals(Buffer.from(sharedSecret))).toBe(true);
    await expect(app.call('Decapsulate', { key_id: key.key_id, ciphertext: Buffer.from(cipherText).subarray(1) })).rejects.toMatchObject({
      errorCode: 'INVALID_CIPHERTEXT',
      field: 'ciphertext',
    });
  });

  it.each(['ML_DSA_65', 'ML_KEM_768', 'RSA_OAEP_3072_SHA256'])('refuses %s at protection level HSM: UNSUPPORTED_ALGORITHM', async (algorithm) => {
    await expect(createKey(`hsm-${algorithm}`, algorithm, 'HSM')).rejects.toMatchObject({ errorCode: 'UNSUPPORTED_ALGORITHM' });
  });
});
