import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { rawKeyFromSpki, rawKeySpki } from '@kms/application';
import { randomBytes } from 'node:crypto';

export type PostQuantumAlgorithm = 'ML_DSA_65' | 'ML_KEM_768';

/** DER of the OIDs: id-ml-dsa-65 (2.16.840.1.101.3.4.3.18, RFC 9881) and id-alg-ml-kem-768 (2.16.840.1.101.3.4.4.2). */
const OID: Readonly<Record<PostQuantumAlgorithm, Buffer>> = {
  ML_DSA_65: Buffer.from('0609608648016503040312', 'hex'),
  ML_KEM_768: Buffer.from('0609608648016503040402', 'hex'),
};

/** Seed bytes each algorithm's key pair is derived from (FIPS 204 ξ, FIPS 203 d || z). */
export const POST_QUANTUM_SEED_LENGTH: Readonly<Record<PostQuantumAlgorithm, number>> = { ML_DSA_65: 32, ML_KEM_768: 64 };

/** Unwrapped post-quantum material. noble works on Uint8Arrays, so the expanded secret key lives in the JS heap. */
export interface PostQuantumKeyPair {
  algorithm: PostQuantumAlgorithm;
  secretKey: Uint8Array;
  publicKey: Uint8Array;
  spki: Buffer;
}

export function isPostQuantumAlgorithm(algorithm: string): algorithm is PostQuantumAlgorithm {
  return algorithm === 'ML_DSA_65' || algorithm === 'ML_KEM_768';
}

/** DER SubjectPublicKeyInfo: AlgorithmIdentifier with the OID and no parameters, the raw public key as the BIT STRING. */
export function postQuantumSpki(algorithm: PostQuantumAlgorithm, publicKey: Uint8Array): Buffer {
  return rawKeySpki(OID[algorithm], publicKey);
}

/** Inverse of postQuantumSpki for this algorithm; undefined when `spki` is not one. */
export function postQuantumPublicKeyFromSpki(algorithm: PostQuantumAlgorithm, spki: Buffer): Uint8Array | undefined {
  const length = algorithm === 'ML_DSA_65' ? ml_dsa65.lengths.publicKey : ml_kem768.lengths.publicKey;
  return rawKeyFromSpki(OID[algorithm], spki, length ?? 0);
}

/** A fresh seed: what is wrapped and stored for a post-quantum version (the "seed" private key format). */
export function newPostQuantumSeed(algorithm: PostQuantumAlgorithm): Buffer {
  return randomBytes(POST_QUANTUM_SEED_LENGTH[algorithm]);
}

/** Expand a seed into the key pair (deterministic, FIPS 204 ML-DSA.KeyGen_internal / FIPS 203 ML-KEM.KeyGen_internal). */
export function postQuantumKeyPair(algorithm: PostQuantumAlgorithm, seed: Uint8Array): PostQuantumKeyPair {
  if (seed.length !== POST_QUANTUM_SEED_LENGTH[algorithm]) throw new Error(`${algorithm} seed has ${seed.length} bytes`);
  const keys = algorithm === 'ML_DSA_65' ? ml_dsa65.keygen(seed) : ml_kem768.keygen(seed);
  return { algorithm, secretKey: keys.secretKey, publicKey: keys.publicKey, spki: postQuantumSpki(algorithm, keys.publicKey) };
}

/** ML-DSA-65 signature (hedged, empty context) over the message. */
export function mlDsaSign(pair: PostQuantumKeyPair, message: Buffer): Buffer {
  return Buffer.from(ml_dsa65.sign(message, pair.secretKey));
}

/** Whether `signature` is a valid ML-DSA-65 signature (empty context); malformed input is simply not valid. */
export function mlDsaVerify(publicKey: Uint8Array, message: Buffer, signature: Buffer): boolean {
  if (signature.length !== ml_dsa65.lengths.signature) return false;
  try {
    return ml_dsa65.verify(signature, message, publicKey);
  } catch {
    return false;
  }
}

/** Bytes of an ML-KEM-768 ciphertext. */
export const ML_KEM_768_CIPHERTEXT_LENGTH = ml_kem768.lengths.cipherText ?? 1088;

/** ML-KEM-768 decapsulation: the 32-byte shared secret (implicit rejection: a bad ciphertext yields an unrelated secret). */
export function mlKemDecapsulate(pair: PostQuantumKeyPair, ciphertext: Buffer): Buffer {
  return Buffer.from(ml_kem768.decapsulate(ciphertext, pair.secretKey));
}
