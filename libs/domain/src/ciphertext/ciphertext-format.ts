import { KmsError } from '../errors/kms-error';

/**
 * Self-describing ciphertext, format 1:
 *
 *   offset  size  field
 *   0       2     magic "KM"
 *   2       1     format version (1)
 *   3       16    key id (UUID, binary)
 *   19      4     key version (uint32, big-endian)
 *   23      n     body: 12-byte IV | AES-256-GCM ciphertext | 16-byte tag
 *
 * The 23-byte header is authenticated together with the caller's AAD, so changing any byte of the
 * header, the body or the AAD fails decryption.
 */
export const CIPHERTEXT_MAGIC = Buffer.from('KM', 'ascii');
export const CIPHERTEXT_FORMAT_VERSION = 1;
export const CIPHERTEXT_HEADER_LENGTH = 23;
export const GCM_IV_LENGTH = 12;
export const GCM_TAG_LENGTH = 16;
/** Bytes the format adds to the plaintext. */
export const CIPHERTEXT_OVERHEAD = CIPHERTEXT_HEADER_LENGTH + GCM_IV_LENGTH + GCM_TAG_LENGTH;

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface CiphertextHeader {
  keyId: string;
  version: number;
}

/** Why bytes are not a well-formed ciphertext (for the audit record; callers get one answer). */
export type CiphertextFormatProblem = 'TOO_SHORT' | 'UNKNOWN_FORMAT' | 'INVALID_KEY_VERSION';

/** A ciphertext that does not parse: INVALID_CIPHERTEXT naming the field, with the problem for investigators. */
export class CiphertextFormatError extends KmsError<'INVALID_CIPHERTEXT'> {
  constructor(
    readonly problem: CiphertextFormatProblem,
    message: string,
    field: string,
  ) {
    super('INVALID_CIPHERTEXT', message, field);
  }
}

export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value);
}

function uuidToBytes(id: string): Buffer {
  if (!isUuid(id)) throw new KmsError('INVALID_ARGUMENT', 'key_id: must be a UUID', 'key_id');
  return Buffer.from(id.replace(/-/g, ''), 'hex');
}

function bytesToUuid(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The header bytes for a key version; they are also the first part of the GCM AAD. */
export function encodeCiphertextHeader(h: CiphertextHeader): Buffer {
  const out = Buffer.alloc(CIPHERTEXT_HEADER_LENGTH);
  CIPHERTEXT_MAGIC.copy(out, 0);
  out.writeUInt8(CIPHERTEXT_FORMAT_VERSION, 2);
  uuidToBytes(h.keyId).copy(out, 3);
  out.writeUInt32BE(h.version, 19);
  return out;
}

/** Split a ciphertext into header and body, or fail with INVALID_CIPHERTEXT naming the field. */
export function decodeCiphertext(ciphertext: Buffer, field = 'ciphertext'): { header: CiphertextHeader; headerBytes: Buffer; body: Buffer } {
  if (ciphertext.length < CIPHERTEXT_OVERHEAD) {
    throw new CiphertextFormatError('TOO_SHORT', `${field}: too short to be a KMS ciphertext`, field);
  }
  if (!ciphertext.subarray(0, 2).equals(CIPHERTEXT_MAGIC) || ciphertext.readUInt8(2) !== CIPHERTEXT_FORMAT_VERSION) {
    throw new CiphertextFormatError('UNKNOWN_FORMAT', `${field}: not a KMS ciphertext (unknown format)`, field);
  }
  const version = ciphertext.readUInt32BE(19);
  if (version === 0 || version > 0x7fffffff) throw new CiphertextFormatError('INVALID_KEY_VERSION', `${field}: invalid key version in header`, field);
  return {
    header: { keyId: bytesToUuid(ciphertext.subarray(3, 19)), version },
    headerBytes: ciphertext.subarray(0, CIPHERTEXT_HEADER_LENGTH),
    body: ciphertext.subarray(CIPHERTEXT_HEADER_LENGTH),
  };
}

/** GCM additional data: the header, then the caller's AAD. */
export function gcmAad(headerBytes: Buffer, aad: Buffer): Buffer {
  return aad.length === 0 ? headerBytes : Buffer.concat([headerBytes, aad]);
}
