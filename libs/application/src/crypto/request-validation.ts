import { API_LIMITS } from '@kms/contracts';
import { invalidArgument, isUuid } from '@kms/domain';

/** A key id must be a UUID; anything else is INVALID_ARGUMENT naming the field. */
export function validateKeyId(v: unknown, field = 'key_id'): string {
  if (typeof v !== 'string' || v.length === 0) throw invalidArgument(field, 'is required');
  if (!isUuid(v)) throw invalidArgument(field, 'must be a key id (UUID)');
  return v;
}

/** Bytes within [min, max], as a Buffer. */
export function validateBytes(v: unknown, field: string, max: number, min = 0): Buffer {
  const b = v === undefined || v === null ? Buffer.alloc(0) : v;
  if (!Buffer.isBuffer(b) && !(b instanceof Uint8Array)) throw invalidArgument(field, 'must be bytes');
  const buf = Buffer.isBuffer(b) ? b : Buffer.from(b);
  if (buf.length < min) throw invalidArgument(field, min === 1 ? 'is required' : `must be at least ${min} bytes`);
  if (buf.length > max) throw invalidArgument(field, `must be at most ${max} bytes`);
  return buf;
}

/** Nothing to protect is a client mistake (a misspelled field arrives as empty bytes), never a ciphertext of nothing. */
export const validatePlaintext = (v: unknown, field = 'plaintext'): Buffer => validateBytes(v, field, API_LIMITS.maxPlaintextBytes, 1);
export const validateAad = (v: unknown, field = 'aad'): Buffer => validateBytes(v, field, API_LIMITS.maxAadBytes);
export const validateCiphertextBytes = (v: unknown, field = 'ciphertext'): Buffer =>
  validateBytes(v, field, API_LIMITS.maxCiphertextBytes, 1);

/** Optional version: 0 or absent means "primary / not given". */
export function optionalVersion(v: unknown, field = 'key_version'): number | undefined {
  if (v === undefined || v === null || v === 0) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw invalidArgument(field, 'must be a positive version number');
  return v;
}

export function validateBatchSize(items: unknown, field = 'items'): unknown[] {
  if (!Array.isArray(items) || items.length === 0) throw invalidArgument(field, 'must contain at least one item');
  if (items.length > API_LIMITS.maxBatchItems) throw invalidArgument(field, `must contain at most ${API_LIMITS.maxBatchItems} items`);
  return items;
}
