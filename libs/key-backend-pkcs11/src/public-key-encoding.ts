import { p256 } from '@noble/curves/nist.js';
import { createHash, createPublicKey, type JsonWebKey } from 'node:crypto';

/** DER OID 1.2.840.10045.3.1.7 (prime256v1), as CKA_EC_PARAMS holds it. */
export const P256_EC_PARAMS = Buffer.from('06082a8648ce3d030107', 'hex');
/** DER OID 1.3.101.112 (id-Ed25519). */
export const ED25519_EC_PARAMS = Buffer.from('06032b6570', 'hex');
/** DER PrintableString "edwards25519", the other CKA_EC_PARAMS spelling PKCS#11 3.0 allows. */
const ED25519_EC_PARAMS_NAMED = Buffer.from('130c656477617264733235353139', 'hex');

const P256_COORDINATE = 32;
const ED25519_KEY = 32;

/**
 * CKA_EC_POINT is a DER OCTET STRING around the point (PKCS#11 2.40), though some modules hand out
 * the bare point. Returns the bare point, or undefined when the value is neither.
 */
export function ecPointOf(attribute: Buffer, pointLength: number): Buffer | undefined {
  if (attribute.length === pointLength) return attribute;
  // Short-form length suffices: the points handled here are under 128 bytes.
  if (attribute.length === pointLength + 2 && attribute[0] === 0x04 && attribute[1] === pointLength) return attribute.subarray(2);
  return undefined;
}

function spkiOfJwk(jwk: JsonWebKey): Buffer {
  return createPublicKey({ key: jwk, format: 'jwk' }).export({ format: 'der', type: 'spki' });
}

/** DER SPKI of a P-256 public key from CKA_EC_PARAMS and CKA_EC_POINT. */
export function p256Spki(ecParams: Buffer, ecPoint: Buffer): Buffer {
  if (!ecParams.equals(P256_EC_PARAMS)) throw new Error('the EC key is not on P-256');
  const point = ecPointOf(ecPoint, 1 + 2 * P256_COORDINATE);
  if (!point || point[0] !== 0x04) throw new Error('CKA_EC_POINT is not an uncompressed P-256 point');
  return spkiOfJwk({
    kty: 'EC',
    crv: 'P-256',
    x: point.subarray(1, 1 + P256_COORDINATE).toString('base64url'),
    y: point.subarray(1 + P256_COORDINATE).toString('base64url'),
  });
}

/** DER SPKI of an Ed25519 public key from CKA_EC_PARAMS and CKA_EC_POINT. */
export function ed25519Spki(ecParams: Buffer, ecPoint: Buffer): Buffer {
  if (!ecParams.equals(ED25519_EC_PARAMS) && !ecParams.equals(ED25519_EC_PARAMS_NAMED)) throw new Error('the Edwards key is not Ed25519');
  const point = ecPointOf(ecPoint, ED25519_KEY);
  if (!point) throw new Error('CKA_EC_POINT is not an Ed25519 public key');
  return spkiOfJwk({ kty: 'OKP', crv: 'Ed25519', x: point.toString('base64url') });
}

/** DER SPKI (rsaEncryption) of an RSA public key from CKA_MODULUS and CKA_PUBLIC_EXPONENT. */
export function rsaSpki(modulus: Buffer, publicExponent: Buffer): Buffer {
  return spkiOfJwk({ kty: 'RSA', n: modulus.toString('base64url'), e: publicExponent.toString('base64url') });
}

/** Hex SHA-256 of a DER SPKI. */
export function spkiFingerprint(spki: Buffer): string {
  return createHash('sha256').update(spki).digest('hex');
}

/** PKCS#11 CKM_ECDSA gives r || s; node:crypto and most verifiers expect DER. */
export function ecdsaP256RawToDer(raw: Buffer): Buffer {
  return Buffer.from(p256.Signature.fromBytes(raw, 'compact').toBytes('der'));
}

/** DER ECDSA P-256 signature to r || s for C_Verify; undefined for anything that is not one. */
export function ecdsaP256DerToRaw(der: Buffer): Buffer | undefined {
  try {
    return Buffer.from(p256.Signature.fromBytes(der, 'der').toBytes('compact'));
  } catch {
    return undefined;
  }
}
