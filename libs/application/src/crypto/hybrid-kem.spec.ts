import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';
import { xwingDraftVectors } from '@kms/testing';
import {
  generateXwingKeyPair,
  XWING_CIPHERTEXT_BYTES,
  XWING_PUBLIC_KEY_BYTES,
  xwingPkcs8,
  xwingPublicKeyFromSpki,
  xwingSeedFromPkcs8,
  xwingSpki,
} from './hybrid-kem';

describe('the hybrid ML-KEM-768 + X25519 data key pair is X-Wing (draft-connolly-cfrg-xwing-kem-10)', () => {
  const draft = xwingDraftVectors();

  it('the PKCS#8 and SPKI encodings are byte for byte those of the draft (Appendix D), and the library derives its public key from the seed', () => {
    const seed = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
    expect(xwingPkcs8(seed).equals(draft.pkcs8)).toBe(true);
    expect(Buffer.from(xwingSeedFromPkcs8(draft.pkcs8) ?? []).equals(seed)).toBe(true);
    const { publicKey } = ml_kem768_x25519.keygen(seed);
    expect(xwingSpki(publicKey).equals(draft.spki)).toBe(true);
    expect(Buffer.from(xwingPublicKeyFromSpki(draft.spki) ?? []).equals(Buffer.from(publicKey))).toBe(true);
  });

  it('encapsulation with the vector randomness and decapsulation with the seed give the draft shared secret (Appendix C)', () => {
    expect(draft.vectors.length).toBeGreaterThan(0);
    for (const v of draft.vectors) {
      const seed = Buffer.from(v.seed, 'hex');
      const { publicKey } = ml_kem768_x25519.keygen(seed);
      const { cipherText, sharedSecret } = ml_kem768_x25519.encapsulate(publicKey, Buffer.from(v.eseed, 'hex'));
      expect(cipherText.length).toBe(XWING_CIPHERTEXT_BYTES);
      expect(Buffer.from(sharedSecret).toString('hex')).toBe(v.ss);
      expect(Buffer.from(ml_kem768_x25519.decapsulate(cipherText, seed)).toString('hex')).toBe(v.ss);
    }
  });

  it('a generated pair: the SPKI and PKCS#8 parse back, the seed derives the public key, and foreign encodings are not taken for X-Wing', () => {
    const pair = generateXwingKeyPair();
    const publicKey = xwingPublicKeyFromSpki(pair.publicKeySpki);
    const seed = xwingSeedFromPkcs8(pair.privateKeyPkcs8);
    expect(publicKey?.length).toBe(XWING_PUBLIC_KEY_BYTES);
    expect(Buffer.from(ml_kem768_x25519.keygen(seed ?? new Uint8Array(32)).publicKey).equals(Buffer.from(publicKey ?? []))).toBe(true);
    // Two pairs are never the same.
    expect(generateXwingKeyPair().publicKeySpki.equals(pair.publicKeySpki)).toBe(false);
    // An ML-KEM-768 SPKI, a truncated SPKI and a PKCS#8 with another OID are not X-Wing.
    expect(xwingPublicKeyFromSpki(Buffer.concat([Buffer.from('308204b2300b0609608648016503040402038204a100', 'hex'), Buffer.alloc(1184)]))).toBeUndefined();
    expect(xwingPublicKeyFromSpki(pair.publicKeySpki.subarray(1))).toBeUndefined();
    const other = Buffer.from(pair.privateKeyPkcs8);
    other[10] ^= 0x01;
    expect(xwingSeedFromPkcs8(other)).toBeUndefined();
  });
});
