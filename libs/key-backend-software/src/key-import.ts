import { KmsError, invalidArgument } from '@kms/domain';
import { constants, createDecipheriv, privateDecrypt, type KeyObject } from 'node:crypto';

/** Bytes of the RSA-OAEP-wrapped ephemeral AES key that opens a wrapped import (RSA-3072). */
export const WRAPPED_EPHEMERAL_KEY_BYTES = 384;
/** RFC 5649 alternative initial value; `openssl enc -id-aes256-wrap-pad -iv A65959A6` uses the same. */
const KWP_AIV = Buffer.from('a65959a6', 'hex');
const AES_256_KEY_BYTES = 32;
const IMPORT_PARAMETERS_AAD_PREFIX = 'kms-import-parameters-v1';

/** Additional data binding a wrapped import wrapping key to its token and key. */
export function importParametersAad(token: string, keyId: string): Buffer {
  return Buffer.from([IMPORT_PARAMETERS_AAD_PREFIX, token, keyId].join('\0'), 'utf8');
}

function notUnwrappable(why: string): KmsError<'INVALID_ARGUMENT'> {
  return invalidArgument('wrapped_key_material', why);
}

/**
 * Open material wrapped the AWS/Google way (CKM_RSA_AES_KEY_WRAP): RSA-OAEP-SHA256 (MGF1-SHA256) of a
 * one-time AES-256 key, followed by the material under that key with AES key wrap with padding
 * (RFC 5649). Returns the plaintext material; the caller zeroes it.
 */
export function unwrapImportedMaterial(wrappingPrivateKey: KeyObject, wrapped: Buffer): Buffer {
  if (wrapped.length <= WRAPPED_EPHEMERAL_KEY_BYTES + 8) {
    throw notUnwrappable(`must be the ${WRAPPED_EPHEMERAL_KEY_BYTES}-byte RSA-OAEP-wrapped AES key followed by the AES-KWP-wrapped material`);
  }
  let ephemeral: Buffer;
  try {
    ephemeral = privateDecrypt(
      { key: wrappingPrivateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      wrapped.subarray(0, WRAPPED_EPHEMERAL_KEY_BYTES),
    );
  } catch {
    throw notUnwrappable('the AES key does not decrypt with RSA-OAEP-SHA256 under these import parameters (wrong wrapping key or hash?)');
  }
  try {
    if (ephemeral.length !== AES_256_KEY_BYTES) throw notUnwrappable(`the RSA-OAEP-wrapped AES key must be ${AES_256_KEY_BYTES} bytes`);
    const kwp = createDecipheriv('id-aes256-wrap-pad', ephemeral, KWP_AIV);
    try {
      return Buffer.concat([kwp.update(wrapped.subarray(WRAPPED_EPHEMERAL_KEY_BYTES)), kwp.final()]);
    } catch {
      throw notUnwrappable('the material does not unwrap with AES-KWP (RFC 5649) under the wrapped AES key');
    }
  } finally {
    ephemeral.fill(0);
  }
}

