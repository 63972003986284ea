import { randomBytes } from 'node:crypto';
import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { mlDsa65KeyGenVectors, mlDsa65WycheproofSignVectors, mlKem768EncapsulationVectors, mlKem768KeyGenVectors, pyca, pycaPython } from '@kms/testing';
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

  it('ML-KEM-768 encapDecap: encapsulation with the ACVP m gives the ACVP c and k; the decapsulation the KMS runs turns c back into k', () => {
    const cases = mlKem768EncapsulationVectors();
    expect(cases.length).toBeGreaterThan(0);
    for (const v of cases) {
      // The sender's side (what a client of the KMS runs), deterministic with the vector's m.
      const { cipherText, sharedSecret } = ml_kem768.encapsulate(hex(v.ek), hex(v.m));
      expect(Buffer.from(cipherText).toString('hex')).toBe(v.c.toLowerCase());
      expect(Buffer.from(sharedSecret).toString('hex')).toBe(v.k.toLowerCase());
      // The KMS's side: mlKemDecapsulate with the ACVP decapsulation key.
      const pair = { algorithm: 'ML_KEM_768' as const, secretKey: hex(v.dk), publicKey: hex(v.ek), spki: Buffer.alloc(0) };
      expect(mlKemDecapsulate(pair, hex(v.c)).toString('hex')).toBe(v.k.toLowerCase());
      // An altered ciphertext is implicitly rejected: a different, unrelated secret.
      const altered = hex(v.c);
      altered[500] ^= 0x80;
      expect(mlKemDecapsulate(pair, altered).toString('hex')).not.toBe(v.k.toLowerCase());
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

  it('ML-DSA-65 sign/verify (Wycheproof): the seed gives the public key, the deterministic signature is the expected one, and the KMS verification accepts it and no altered one', () => {
    const cases = mlDsa65WycheproofSignVectors();
    expect(cases.length).toBeGreaterThan(0);
    for (const v of cases) {
      const pair = postQuantumKeyPair('ML_DSA_65', hex(v.seed));
      expect(Buffer.from(pair.publicKey).toString('hex')).toBe(v.pk);
      // FIPS 204 ML-DSA.Sign with rnd = 0 (the KMS signs hedged, with fresh rnd, through the same code).
      expect(Buffer.from(ml_dsa65.sign(hex(v.msg), pair.secretKey, { extraEntropy: false })).toString('hex')).toBe(v.sig);
      expect(mlDsaVerify(hex(v.pk), hex(v.msg), hex(v.sig))).toBe(true);
      const altered = hex(v.sig);
      altered[altered.length - 100] ^= 0x04;
      expect(mlDsaVerify(hex(v.pk), hex(v.msg), altered)).toBe(false);
      expect(mlDsaVerify(hex(v.pk), Buffer.concat([hex(v.msg), Buffer.of(0)]), hex(v.sig))).toBe(false);
      // The hedged signature the KMS makes verifies under the same public key.
      expect(mlDsaVerify(hex(v.pk), hex(v.msg), mlDsaSign(pair, hex(v.msg)))).toBe(true);
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
