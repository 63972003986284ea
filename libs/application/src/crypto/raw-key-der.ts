/**
 * DER for keys that are raw bytes under an algorithm OID with no parameters (ML-DSA, ML-KEM, X-Wing):
 * SubjectPublicKeyInfo with the key as the BIT STRING, and PKCS#8 (OneAsymmetricKey v0) with the seed
 * as the privateKey OCTET STRING. `oid` is the DER of the OBJECT IDENTIFIER (tag and length included).
 */

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.of(n);
  if (n <= 0xff) return Buffer.of(0x81, n);
  return Buffer.of(0x82, n >> 8, n & 0xff);
}

function tlv(tag: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.of(tag), derLength(body.length), body]);
}

export function rawKeySpki(oid: Buffer, publicKey: Uint8Array): Buffer {
  return tlv(0x30, Buffer.concat([tlv(0x30, oid), tlv(0x03, Buffer.concat([Buffer.of(0), publicKey]))]));
}

export function seedPkcs8(oid: Buffer, seed: Uint8Array): Buffer {
  return tlv(0x30, Buffer.concat([Buffer.from('020100', 'hex'), tlv(0x30, oid), tlv(0x04, Buffer.from(seed))]));
}

/** The `length` raw bytes at the end of `der`, when everything before them is what `encode` writes; else undefined. */
function rawTail(der: Buffer, length: number, encode: (raw: Uint8Array) => Buffer): Uint8Array | undefined {
  const prefix = encode(new Uint8Array(length)).subarray(0, -length);
  if (der.length !== prefix.length + length || !der.subarray(0, prefix.length).equals(prefix)) return undefined;
  return new Uint8Array(der.subarray(prefix.length));
}

/** Inverse of rawKeySpki for a key of `length` bytes under `oid`; undefined for anything else. */
export function rawKeyFromSpki(oid: Buffer, spki: Buffer, length: number): Uint8Array | undefined {
  return rawTail(spki, length, (raw) => rawKeySpki(oid, raw));
}

/** Inverse of seedPkcs8 for a seed of `length` bytes under `oid`; undefined for anything else. */
export function seedFromPkcs8(oid: Buffer, pkcs8: Buffer, length: number): Uint8Array | undefined {
  return rawTail(pkcs8, length, (raw) => seedPkcs8(oid, raw));
}
