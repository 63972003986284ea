import { p256 } from '@noble/curves/nist.js';
import * as forge from 'node-forge';
import { constants, privateEncrypt, publicDecrypt, randomBytes, type KeyObject } from 'node:crypto';

/*
 * Signing a caller-computed SHA-256 digest. node:crypto always hashes its input (crypto.sign(null, ...)
 * on an EC key hashes with SHA-256 again), so:
 *  - ECDSA P-256: @noble/curves signs the digest as the message hash (RFC 6979 nonce, hedged).
 *  - RSA-PSS: node-forge builds the EMSA-PSS encoding from the digest; OpenSSL does the raw RSA
 *    private operation (blinded, constant time, milliseconds instead of forge's JS bignums).
 * Both produce signatures that verify as SHA-256 signatures over the original message.
 */

const PSS_SALT_LENGTH = 32;

interface PssScheme {
  encode(md: forge.md.MessageDigest, modBits: number): string;
  verify(mHash: string, em: string, modBits: number): boolean;
}

function pssScheme(): PssScheme {
  return forge.pss.create({
    md: forge.md.sha256.create(),
    mgf: forge.mgf.mgf1.create(forge.md.sha256.create()),
    saltLength: PSS_SALT_LENGTH,
    // Salt from node's CSPRNG rather than forge's own generator.
    prng: { getBytesSync: (n: number) => randomBytes(n).toString('binary') },
  });
}

/** A SHA-256 message digest object whose result is the caller's digest: forge's encoder reads mHash from it. */
function presetDigest(digest: Buffer): forge.md.MessageDigest {
  const md = forge.md.sha256.create();
  md.digest = () => forge.util.createBuffer(digest.toString('binary'));
  return md;
}

function modulusBits(key: KeyObject): number {
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (!bits) throw new Error('not an RSA key');
  return bits;
}

/** RSASSA-PSS (SHA-256, MGF1-SHA256, salt 32) over a SHA-256 digest. */
export function signRsaPssDigest(privateKey: KeyObject, digest: Buffer): Buffer {
  const bits = modulusBits(privateKey);
  const k = Math.ceil(bits / 8);
  const em = Buffer.from(pssScheme().encode(presetDigest(digest), bits), 'binary');
  // EM has emLen = ceil((bits - 1) / 8) bytes; left-pad to the modulus length for the raw operation.
  const block = Buffer.concat([Buffer.alloc(k - em.length), em]);
  return privateEncrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, block);
}

/** Verify an RSASSA-PSS signature against a SHA-256 digest; false for anything malformed. */
export function verifyRsaPssDigest(publicKey: KeyObject, digest: Buffer, signature: Buffer): boolean {
  try {
    const bits = modulusBits(publicKey);
    if (signature.length !== Math.ceil(bits / 8)) return false;
    const em = publicDecrypt({ key: publicKey, padding: constants.RSA_NO_PADDING }, signature);
    return pssScheme().verify(digest.toString('binary'), em.toString('binary'), bits);
  } catch {
    // forge throws on an inconsistent encoding and OpenSSL on a value >= n: both mean "does not verify".
    return false;
  }
}

function jwkField(key: KeyObject, field: 'd' | 'x' | 'y'): Buffer {
  const value = key.export({ format: 'jwk' })[field];
  if (typeof value !== 'string') throw new Error(`EC key has no "${field}"`);
  return Buffer.from(value, 'base64url');
}

/** ECDSA P-256 over a SHA-256 digest; DER signature, as node:crypto produces for messages. */
export function signEcdsaP256Digest(privateKey: KeyObject, digest: Buffer): Buffer {
  // The JWK string copy of the scalar cannot be wiped; the Buffer can.
  const scalar = jwkField(privateKey, 'd');
  try {
    return Buffer.from(p256.sign(digest, scalar, { prehash: false, extraEntropy: true }).toBytes('der'));
  } finally {
    scalar.fill(0);
  }
}

/** Verify a DER ECDSA P-256 signature against a SHA-256 digest; false for anything malformed. */
export function verifyEcdsaP256Digest(publicKey: KeyObject, digest: Buffer, signature: Buffer): boolean {
  try {
    const point = Buffer.concat([Buffer.of(0x04), jwkField(publicKey, 'x'), jwkField(publicKey, 'y')]);
    // lowS: false because OpenSSL does not normalise s, and those signatures are valid.
    return p256.verify(signature, digest, point, { prehash: false, lowS: false, format: 'der' });
  } catch {
    return false;
  }
}
