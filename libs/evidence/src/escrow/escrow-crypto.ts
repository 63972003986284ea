import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  sign,
  timingSafeEqual,
  verify,
  type KeyObject,
} from 'node:crypto';
import { canonicalJsonBytes } from '../canonical-json';

/*
 * Escrow cryptography shared by the KMS, the custodians' CLI and the offline verifier. Node's own
 * crypto (X25519 + HKDF-SHA256 + AES-256-GCM, Ed25519) rather than age-encryption: age is ESM-only
 * and its armoured files would be a second format next to the canonical JSON everything else in an
 * evidence bundle uses; the construction below is the ECIES shape age and HPKE also use.
 */

const SEAL_INFO = 'open-kms/escrow/sealed-share/v1';
const SUBMISSION_INFO = 'open-kms/escrow/share-submission/v1';
const COMMITMENT_PREFIX = 'open-kms/escrow/share-commitment/v1';
const KEY_FINGERPRINT_PREFIX = 'open-kms/escrow/key-fingerprint/v1';
const IV_LENGTH = 12;

/** Base64 DER SPKI public keys of a custodian: X25519 for receiving shares, Ed25519 for signing. */
export interface CustodianPublicKeys {
  encryptionPublicKey: string;
  signingPublicKey: string;
}

/** A custodian's private keys as PKCS#8 PEM: what `kms custodian enrol` keeps in a 0600 file. */
export interface CustodianPrivateKeys {
  encryptionPrivateKey: string;
  signingPrivateKey: string;
}

/** A share (or any secret) encrypted to one X25519 public key: ephemeral key, IV, ciphertext|tag. */
export interface SealedBox {
  ephemeralPublicKey: string;
  iv: string;
  ciphertext: string;
}

/** A share sealed to one custodian: what the operator hands over and `kms custodian open-package` reads. */
export interface SealedPackage {
  ceremonyId: string;
  keyId: string;
  version: number;
  custodianId: string;
  shareIndex: number;
  packageFingerprint: string;
  box: SealedBox;
}

/** Hex SHA-256. */
export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** New custodian key pairs. */
export function generateCustodianKeys(): { publicKeys: CustodianPublicKeys; privateKeys: CustodianPrivateKeys } {
  const enc = generateKeyPairSync('x25519');
  const sig = generateKeyPairSync('ed25519');
  return {
    publicKeys: {
      encryptionPublicKey: enc.publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
      signingPublicKey: sig.publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
    },
    privateKeys: {
      encryptionPrivateKey: enc.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
      signingPrivateKey: sig.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    },
  };
}

/** A base64 DER SPKI as a public key of the given type; throws naming the field otherwise. */
export function publicKeyOf(spkiBase64: string, type: 'x25519' | 'ed25519', field: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(spkiBase64, 'base64'), format: 'der', type: 'spki' });
  } catch {
    throw new TypeError(`${field}: not a DER SubjectPublicKeyInfo in base64`);
  }
  if (key.asymmetricKeyType !== type) throw new TypeError(`${field}: must be an ${type} public key, got ${String(key.asymmetricKeyType)}`);
  return key;
}

function boxKey(shared: Buffer, ephemeral: Buffer, recipient: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, Buffer.concat([ephemeral, recipient]), info, 32));
}

function sealWith(info: string, recipientSpkiBase64: string, plaintext: Buffer, aad: string): SealedBox {
  const recipient = publicKeyOf(recipientSpkiBase64, 'x25519', 'recipient');
  const eph = generateKeyPairSync('x25519');
  const ephSpki = eph.publicKey.export({ format: 'der', type: 'spki' });
  const shared = diffieHellman({ privateKey: eph.privateKey, publicKey: recipient });
  const key = boxKey(shared, ephSpki, Buffer.from(recipientSpkiBase64, 'base64'), info);
  const iv = randomBytes(IV_LENGTH);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  shared.fill(0);
  key.fill(0);
  return { ephemeralPublicKey: ephSpki.toString('base64'), iv: iv.toString('base64'), ciphertext: body.toString('base64') };
}

function openWith(info: string, privateKeyPem: string | KeyObject, box: SealedBox, aad: string): Buffer {
  const privateKey = typeof privateKeyPem === 'string' ? createPrivateKey(privateKeyPem) : privateKeyPem;
  const recipientSpki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const eph = publicKeyOf(box.ephemeralPublicKey, 'x25519', 'ephemeralPublicKey');
  const shared = diffieHellman({ privateKey, publicKey: eph });
  const key = boxKey(shared, Buffer.from(box.ephemeralPublicKey, 'base64'), recipientSpki, info);
  const body = Buffer.from(box.ciphertext, 'base64');
  if (body.length < 16) throw new Error('sealed box: ciphertext too short');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(box.iv, 'base64'));
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(body.subarray(body.length - 16));
  try {
    return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]);
  } catch {
    throw new Error('sealed box: authentication failed (wrong key, altered box or another package)');
  } finally {
    shared.fill(0);
    key.fill(0);
  }
}

/** What binds a sealed package to its ceremony and slot (the AAD). */
export function packageAad(p: { ceremonyId: string; custodianId: string; shareIndex: number }): string {
  return `${p.ceremonyId}\0${p.custodianId}\0${p.shareIndex}`;
}

/** Encrypt one share to a custodian's X25519 key. */
export function sealShare(recipientSpkiBase64: string, share: Buffer, slot: { ceremonyId: string; custodianId: string; shareIndex: number }): SealedBox {
  return sealWith(SEAL_INFO, recipientSpkiBase64, share, packageAad(slot));
}

/** Decrypt a sealed package with the custodian's X25519 private key (CLI `open-package`). */
export function openShare(privateKeyPem: string, box: SealedBox, slot: { ceremonyId: string; custodianId: string; shareIndex: number }): Buffer {
  return openWith(SEAL_INFO, privateKeyPem, box, packageAad(slot));
}

/** Encrypt a decrypted share to the KMS ceremony key for submission (CLI `submit-share`). */
export function sealSubmission(ceremonyKeySpkiBase64: string, share: Buffer, context: { reconstructionId: string; custodianId: string }): SealedBox {
  return sealWith(SUBMISSION_INFO, ceremonyKeySpkiBase64, share, `${context.reconstructionId}\0${context.custodianId}`);
}

/** Decrypt a submitted share with the ceremony private key. */
export function openSubmission(privateKey: KeyObject, box: SealedBox, context: { reconstructionId: string; custodianId: string }): Buffer {
  return openWith(SUBMISSION_INFO, privateKey, box, `${context.reconstructionId}\0${context.custodianId}`);
}

/**
 * The per-share commitment: SHA-256 over the ceremony, the slot and the share, so a share from
 * another slot or ceremony does not match either.
 */
export function shareCommitment(share: Buffer, slot: { ceremonyId: string; shareIndex: number }): string {
  return createHash('sha256').update(`${COMMITMENT_PREFIX}\0${slot.ceremonyId}\0${slot.shareIndex}\0`).update(share).digest('hex');
}

/** Constant-time comparison of two hex digests; false for anything that is not one. */
export function sameDigest(a: unknown, b: unknown): boolean {
  if (typeof a !== 'string' || typeof b !== 'string') return false;
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** Fingerprint of escrowed key material, bound to the key and version (not a hash an attacker can precompute). */
export function escrowKeyFingerprint(material: Buffer, key: { keyId: string; version: number }): string {
  return createHash('sha256').update(`${KEY_FINGERPRINT_PREFIX}\0${key.keyId}\0${key.version}\0`).update(material).digest('hex');
}

/** Fingerprint of a sealed package: SHA-256 of its canonical JSON. Named in transcripts and declarations. */
export function packageFingerprint(box: SealedBox): string {
  return sha256Hex(canonicalJsonBytes(box));
}

/** Ed25519 signature (base64) over a document's canonical JSON. */
export function signCanonicalEd25519(document: unknown, privateKeyPem: string): string {
  return sign(null, canonicalJsonBytes(document), createPrivateKey(privateKeyPem)).toString('base64');
}

/** Verify an Ed25519 signature over a document's canonical JSON. */
export function verifyCanonicalEd25519(document: unknown, signatureBase64: string, signingSpkiBase64: string): boolean {
  try {
    return verify(null, canonicalJsonBytes(document), publicKeyOf(signingSpkiBase64, 'ed25519', 'signingPublicKey'), Buffer.from(signatureBase64, 'base64'));
  } catch {
    return false;
  }
}

/** Verify a DER ECDSA P-256/SHA-256 attestation signature over a document's canonical JSON. */
export function verifyAttestation(document: unknown, signatureBase64: string, attestationPublicKeyPem: string): boolean {
  try {
    return verify('sha256', canonicalJsonBytes(document), createPublicKey(attestationPublicKeyPem), Buffer.from(signatureBase64, 'base64'));
  } catch {
    return false;
  }
}
