import { randomBytes } from 'node:crypto';
import { mlDsa65KeyGenVectors, mlKem768KeyGenVectors, pyca, pycaPython } from '@kms/testing';
import { mlDsaSign, mlDsaVerify, mlKemDecapsulate, postQuantumKeyPair, postQuantumPublicKeyFromSpki } from './post-quantum';

const hex = (s: string) => Buffer.from(s, 'hex');

describe('post-quantum key material against NIST ACVP known answers (FIPS 203, FIPS 204)', () => {
  it('ML-KEM-768 keyGen: the stored seed d || z expands to the ACVP ek and dk; the SPKI carries that ek', () => {
    const cases = mlKem768KeyGenVectors();
    expect(cases.length).toBeGreaterThan(0);
    for (const v of cases) {
      const pair = postQuantumKeyPair('ML_KEM_768', hex(v.d + v.z));
      expect(Buffer.from(pair.publicKey).toString('hex')).toBe(v.ek.toLowerCase());
      expect(Buffer.from(pair.secretKey).toString('hex')).toBe(v.dk.toLowerCase());
      expect(Buffer.from(postQuantumPublicKeyFromSpki('ML_KEM_768', pair.spki) ?? []).toString('hex')).toBe(v.ek.toLowerCase());
    }
  });

  it('ML-DSA-65 keyGen: the stored seed expands to the ACVP pk; the SPKI carries that pk', () => {
    const cases = mlDsa65KeyGenVectors();
    expect(cases.length).toBeGreaterThan(0);
    for (const v of cases) {
      const pair = postQuantumKeyPair('ML_DSA_65', hex(v.seed));
      expect(Buffer.from(pair.publicKey).toString('hex')).toBe(v.pk.toLowerCase());
      expect(Buffer.from(postQuantumPublicKeyFromSpki('ML_DSA_65', pair.spki) ?? []).toString('hex')).toBe(v.pk.toLowerCase());
    }
  });
});

describe('post-quantum operations cross-checked with pyca/cryptography (an independent implementation)', () => {
  let python: string;
  beforeAll(() => {
    python = pycaPython();
  });

  it('ML-DSA-65: our signature under the ACVP key verifies in pyca; pyca signatures with the same seed verify here; altered ones do not', async () => {
    const [v] = mlDsa65KeyGenVectors();
    const pair = postQuantumKeyPair('ML_DSA_65', hex(v.seed));
    const message = randomBytes(200);
    const ours = mlDsaSign(pair, message);
    expect(await pyca(python, 'mldsa65-verify', { pk: hex(v.pk), message, signature: ours })).toEqual({ valid: true });
    expect(await pyca(python, 'mldsa65-verify', { pk: hex(v.pk), message: Buffer.concat([message, Buffer.of(0)]), signature: ours })).toEqual({ valid: false });

    const theirs = await pyca<{ signature: string; pk: string }>(python, 'mldsa65-sign', { seed: hex(v.seed), message });
    expect(theirs.pk).toBe(v.pk.toLowerCase());
    expect(mlDsaVerify(pair.publicKey, message, hex(theirs.signature))).toBe(true);
    const altered = hex(theirs.signature);
    altered[100] ^= 0x01;
    expect(mlDsaVerify(pair.publicKey, message, altered)).toBe(false);
  });

  it('ML-KEM-768: pyca derives the same ek from the ACVP seed, encapsulates to it, and our decapsulation returns its shared secret', async () => {
    const [v] = mlKem768KeyGenVectors();
    const seed = hex(v.d + v.z);
    expect((await pyca<{ ek: string }>(python, 'mlkem768-public', { seed })).ek).toBe(v.ek.toLowerCase());
    const pair = postQuantumKeyPair('ML_KEM_768', seed);
    const { sharedSecret, ciphertext } = await pyca<{ sharedSecret: string; ciphertext: string }>(python, 'mlkem768-encapsulate', { ek: hex(v.ek) });
    expect(mlKemDecapsulate(pair, hex(ciphertext)).toString('hex')).toBe(sharedSecret);
    const altered = hex(ciphertext);
    altered[0] ^= 0x01;
    expect(mlKemDecapsulate(pair, altered).toString('hex')).not.toBe(sharedSecret);
  });
});
