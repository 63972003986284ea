import type { Algorithm } from '@kms/domain';
import { isPostQuantumAlgorithm, newPostQuantumSeed, postQuantumKeyPair, type PostQuantumAlgorithm, type PostQuantumKeyPair } from './post-quantum';
import { createHash, createPrivateKey, createPublicKey, createSecretKey, generateKeyPair, randomBytes, type KeyObject } from 'node:crypto';

export type SecretAlgorithm = 'AES_256_GCM' | 'HMAC_SHA256';
export type AsymmetricAlgorithm = 'ECDSA_P256_SHA256' | 'ED25519' | 'RSA_PSS_3072_SHA256' | 'RSA_OAEP_3072_SHA256';

const SECRET_LENGTH = 32;
const AAD_PREFIX = 'open-kms/key-material/v1';

/** What a wrapped record is bound to: the AAD under which its material is wrapped. */
export interface MaterialBinding {
  materialId: string;
  keyId: string;
  version: number;
  algorithm: Algorithm;
}

/** Unwrapped material, held as KeyObjects so the raw bytes stay out of the JS heap. */
export type LoadedMaterial =
  | { kind: 'secret'; algorithm: SecretAlgorithm; key: KeyObject }
  | { kind: 'asymmetric'; algorithm: AsymmetricAlgorithm; privateKey: KeyObject; publicKey: KeyObject; spki: Buffer }
  | ({ kind: 'post-quantum' } & PostQuantumKeyPair);

/** Freshly generated material: the plaintext to wrap (caller zeroes it) and, for key pairs, the DER SPKI. */
export interface GeneratedMaterial {
  plaintext: Buffer;
  spki?: Buffer;
}

export function isSecretAlgorithm(algorithm: Algorithm): algorithm is SecretAlgorithm {
  return algorithm === 'AES_256_GCM' || algorithm === 'HMAC_SHA256';
}

/**
 * AAD for wrapping: material id, key id, version and algorithm, NUL-separated (none of them can
 * contain NUL). A row copied to another id, key, version or algorithm no longer unwraps.
 */
export function materialAad(b: MaterialBinding): Buffer {
  return Buffer.from([AAD_PREFIX, b.materialId, b.keyId, String(b.version), b.algorithm].join('\0'), 'utf8');
}

/** Hex SHA-256 of a DER SubjectPublicKeyInfo. */
export function publicKeyFingerprint(spki: Buffer): string {
  return createHash('sha256').update(spki).digest('hex');
}

function generatePair(algorithm: AsymmetricAlgorithm): Promise<{ privateKey: KeyObject; publicKey: KeyObject }> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, publicKey: KeyObject, privateKey: KeyObject): void => {
      if (err) reject(err);
      else resolve({ privateKey, publicKey });
    };
    // The async API runs key generation on the libuv pool; RSA-3072 takes long enough to stall the event loop.
    switch (algorithm) {
      case 'ECDSA_P256_SHA256':
        generateKeyPair('ec', { namedCurve: 'P-256' }, done);
        return;
      case 'ED25519':
        generateKeyPair('ed25519', undefined, done);
        return;
      case 'RSA_PSS_3072_SHA256':
      case 'RSA_OAEP_3072_SHA256':
        // rsaEncryption keys with PSS padding per operation: the SPKI is what most verifiers expect.
        generateKeyPair('rsa', { modulusLength: 3072, publicExponent: 0x10001 }, done);
        return;
      default: {
        const never: never = algorithm;
        reject(new Error(`no key pair generator for ${String(never)}`));
      }
    }
  });
}

/** New material: 32 random bytes for AES/HMAC, the seed for ML-DSA/ML-KEM, a PKCS#8 DER private key for other key pairs. */
export async function generateMaterial(algorithm: Algorithm): Promise<GeneratedMaterial> {
  if (isSecretAlgorithm(algorithm)) return { plaintext: randomBytes(SECRET_LENGTH) };
  if (isPostQuantumAlgorithm(algorithm)) {
    const seed = newPostQuantumSeed(algorithm);
    return { plaintext: seed, spki: postQuantumKeyPair(algorithm, seed).spki };
  }
  const { privateKey, publicKey } = await generatePair(algorithm);
  return {
    plaintext: privateKey.export({ format: 'der', type: 'pkcs8' }),
    spki: publicKey.export({ format: 'der', type: 'spki' }),
  };
}

function expectKeyShape(algorithm: AsymmetricAlgorithm, key: KeyObject): void {
  const details = key.asymmetricKeyDetails ?? {};
  const ok =
    algorithm === 'ECDSA_P256_SHA256'
      ? key.asymmetricKeyType === 'ec' && details.namedCurve === 'prime256v1'
      : algorithm === 'ED25519'
        ? key.asymmetricKeyType === 'ed25519'
        : algorithm === 'RSA_OAEP_3072_SHA256'
          ? key.asymmetricKeyType === 'rsa' && details.modulusLength === 3072
        : key.asymmetricKeyType === 'rsa' && details.modulusLength === 3072;
  if (!ok) throw new Error(`unwrapped material is not a ${algorithm} key`);
}

/**
 * Turn unwrapped plaintext into KeyObjects (or, for ML-DSA/ML-KEM, the expanded key pair). Throws when
 * the bytes are not material of `algorithm`. Does not zero `plaintext`; the caller owns it.
 */
export function importMaterial(algorithm: Algorithm, plaintext: Buffer): LoadedMaterial {
  if (isSecretAlgorithm(algorithm)) {
    if (plaintext.length !== SECRET_LENGTH) throw new Error(`unwrapped ${algorithm} material has ${plaintext.length} bytes`);
    return { kind: 'secret', algorithm, key: createSecretKey(plaintext) };
  }
  if (isPostQuantumAlgorithm(algorithm)) return { kind: 'post-quantum', ...postQuantumKeyPair(algorithm as PostQuantumAlgorithm, plaintext) };
  const privateKey = createPrivateKey({ key: plaintext, format: 'der', type: 'pkcs8' });
  expectKeyShape(algorithm, privateKey);
  const publicKey = createPublicKey(privateKey);
  return { kind: 'asymmetric', algorithm, privateKey, publicKey, spki: publicKey.export({ format: 'der', type: 'spki' }) };
}
