import { randomBytes } from 'node:crypto';
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';
import { rawKeyFromSpki, rawKeySpki, seedFromPkcs8, seedPkcs8 } from './raw-key-der';

/**
 * The hybrid ML-KEM-768 + X25519 data key pair: X-Wing (draft-connolly-cfrg-xwing-kem), as
 * `ml_kem768_x25519` of `@noble/post-quantum/hybrid.js` computes it. The private key is a 32-byte
 * seed, expanded with SHAKE256 into the ML-KEM-768 seed (d || z) and the X25519 secret; the public
 * key is pk_M (1184 bytes) || pk_X (32), a ciphertext ct_M (1088) || ct_X (32), and the shared secret
 * SHA3-256(ss_M || ss_X || ct_X || pk_X || "\.//^\").
 */
export const XWING_SEED_BYTES = 32;
export const XWING_PUBLIC_KEY_BYTES = ml_kem768_x25519.lengths.publicKey ?? 1216;
export const XWING_CIPHERTEXT_BYTES = ml_kem768_x25519.lengths.cipherText ?? 1120;

/** DER of id-XWing, 1.3.6.1.4.1.62253.25722 (the draft's OID for SubjectPublicKeyInfo and PKCS#8). */
const XWING_OID = Buffer.from('060b2b0601040183e62d81c87a', 'hex');

/** DER SubjectPublicKeyInfo: AlgorithmIdentifier id-XWing without parameters, the 1216-byte key as the BIT STRING. */
export function xwingSpki(publicKey: Uint8Array): Buffer {
  return rawKeySpki(XWING_OID, publicKey);
}

/** DER PKCS#8 (OneAsymmetricKey v0): id-XWing and the 32-byte seed as the privateKey OCTET STRING. */
export function xwingPkcs8(seed: Uint8Array): Buffer {
  return seedPkcs8(XWING_OID, seed);
}

/** The raw public key inside an X-Wing SPKI made by xwingSpki; undefined for anything else. */
export function xwingPublicKeyFromSpki(spki: Buffer): Uint8Array | undefined {
  return rawKeyFromSpki(XWING_OID, spki, XWING_PUBLIC_KEY_BYTES);
}

/** The seed inside an X-Wing PKCS#8 made by xwingPkcs8; undefined for anything else. */
export function xwingSeedFromPkcs8(pkcs8: Buffer): Uint8Array | undefined {
  return seedFromPkcs8(XWING_OID, pkcs8, XWING_SEED_BYTES);
}

/** A fresh X-Wing key pair: SPKI and PKCS#8 DER. The seed and the expanded secret are zeroed once encoded. */
export function generateXwingKeyPair(): { publicKeySpki: Buffer; privateKeyPkcs8: Buffer } {
  const seed = randomBytes(XWING_SEED_BYTES);
  const keys = ml_kem768_x25519.keygen(seed);
  try {
    return { publicKeySpki: xwingSpki(keys.publicKey), privateKeyPkcs8: xwingPkcs8(seed) };
  } finally {
    seed.fill(0);
    keys.secretKey.fill(0);
  }
}
