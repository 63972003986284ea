import { createHash, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import {
  ED25519_EC_PARAMS,
  P256_EC_PARAMS,
  ecPointOf,
  ecdsaP256DerToRaw,
  ecdsaP256RawToDer,
  ed25519Spki,
  p256Spki,
  rsaSpki,
  spkiFingerprint,
} from './public-key-encoding';

function jwkBytes(value: string | undefined): Buffer {
  return Buffer.from(value ?? '', 'base64url');
}

/** CKA_EC_POINT as PKCS#11 2.40 modules give it: DER OCTET STRING around the point. */
function octetString(point: Buffer): Buffer {
  return Buffer.concat([Buffer.of(0x04, point.length), point]);
}

describe('public key encoding', () => {
  it('builds the P-256 SPKI node:crypto exports, from a wrapped or a bare CKA_EC_POINT', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const point = Buffer.concat([Buffer.of(0x04), jwkBytes(jwk.x), jwkBytes(jwk.y)]);
    const expected = publicKey.export({ format: 'der', type: 'spki' });
    expect(p256Spki(P256_EC_PARAMS, octetString(point)).equals(expected)).toBe(true);
    expect(p256Spki(P256_EC_PARAMS, point).equals(expected)).toBe(true);
    expect(() => p256Spki(ED25519_EC_PARAMS, point)).toThrow('the EC key is not on P-256');
    expect(() => p256Spki(P256_EC_PARAMS, point.subarray(1))).toThrow('CKA_EC_POINT is not an uncompressed P-256 point');
  });

  it('builds Ed25519 and RSA SPKIs node:crypto agrees with', () => {
    const ed = generateKeyPairSync('ed25519').publicKey;
    const x = jwkBytes(ed.export({ format: 'jwk' }).x);
    expect(ed25519Spki(ED25519_EC_PARAMS, octetString(x)).equals(ed.export({ format: 'der', type: 'spki' }))).toBe(true);
    const named = Buffer.from('130c656477617264733235353139', 'hex');
    expect(ed25519Spki(named, x).equals(ed.export({ format: 'der', type: 'spki' }))).toBe(true);

    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    const jwk = rsa.export({ format: 'jwk' });
    expect(rsaSpki(jwkBytes(jwk.n), jwkBytes(jwk.e)).equals(rsa.export({ format: 'der', type: 'spki' }))).toBe(true);
  });

  it('ecPointOf refuses values that are neither the point nor an OCTET STRING of it', () => {
    expect(ecPointOf(randomBytes(40), 65)).toBeUndefined();
    expect(ecPointOf(Buffer.concat([Buffer.of(0x03, 65), randomBytes(65)]), 65)).toBeUndefined();
  });

  it('converts r || s to the DER node:crypto verifies, and back', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const data = Buffer.from('message');
    const raw = sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    const der = ecdsaP256RawToDer(raw);
    expect(verify('sha256', data, publicKey, der)).toBe(true);
    expect(ecdsaP256DerToRaw(der)?.equals(raw)).toBe(true);
    expect(ecdsaP256DerToRaw(sign('sha256', data, privateKey))?.length).toBe(64);
  });

  it('ecdsaP256DerToRaw answers undefined for anything that is not a DER signature', () => {
    expect(ecdsaP256DerToRaw(Buffer.alloc(0))).toBeUndefined();
    expect(ecdsaP256DerToRaw(randomBytes(70))).toBeUndefined();
    expect(ecdsaP256DerToRaw(randomBytes(64))).toBeUndefined();
  });

  it('spkiFingerprint is hex SHA-256 of the DER', () => {
    const spki = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' });
    expect(spkiFingerprint(spki)).toBe(createHash('sha256').update(spki).digest('hex'));
  });
});
