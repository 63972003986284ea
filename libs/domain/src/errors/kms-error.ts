/** Every code a domain or application error may carry. Transports map these to their own statuses. */
export type KmsErrorCode =
  | 'INVALID_ARGUMENT'
  | 'INVALID_CIPHERTEXT'
  | 'KEY_NOT_FOUND'
  | 'KEY_VERSION_NOT_FOUND'
  | 'KEY_ALREADY_EXISTS'
  | 'KEY_DISABLED'
  | 'KEY_VERSION_DISABLED'
  | 'KEY_VERSION_DESTROY_SCHEDULED'
  | 'KEY_VERSION_DESTROYED'
  | 'KEY_VERSION_BELOW_MIN_DECRYPTION'
  /** An imported version past its expire_time, refused by the clock before its destruction has run. */
  | 'KEY_VERSION_EXPIRED'
  | 'PRIMARY_VERSION_PROTECTED'
  | 'USAGE_MISMATCH'
  | 'UNSUPPORTED_ALGORITHM'
  | 'ROTATION_PERIOD_TOO_LONG'
  | 'ILLEGAL_TRANSITION'
  | 'DESTRUCTION_NOT_DUE'
  | 'CONCURRENCY_CONFLICT'
  | 'AUDIT_UNAVAILABLE'
  | 'BACKEND_UNAVAILABLE'
  | 'STORE_UNAVAILABLE'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'IDENTITY_NOT_FOUND'
  | 'IDENTITY_ALREADY_EXISTS'
  | 'APPROVAL_REQUIRED'
  | 'APPROVAL_NOT_FOUND'
  | 'APPROVAL_NOT_PENDING'
  | 'APPROVAL_EXPIRED'
  | 'SELF_APPROVAL'
  | 'NO_ORIGIN_EVIDENCE'
  | 'DEPENDENTS_NOT_CONFIRMED'
  | 'CIPHERTEXTS_OUTSTANDING'
  | 'CONFIRMATIONS_NOT_OVERDUE'
  | 'NOT_A_DEPENDENT'
  | 'REQUEST_ID_REUSED'
  | 'REQUEST_ALREADY_DONE'
  | 'MALFORMED_REQUEST'
  | 'INTEGRITY_VIOLATION'
  | 'TOO_MANY_ATTEMPTS'
  | 'FACTORS_ALREADY_ENROLLED'
  | 'DEVICE_AUTHORIZATION_NOT_FOUND'
  | 'DEVICE_AUTHORIZATION_NOT_PENDING'
  /** A break-glass version held in escrow: usable only while an approved emergency unseal is open. */
  | 'KEY_SEALED';

/** A domain error: a stable code, a message safe to show a client, and the offending field when there is one. */
export class KmsError<C extends KmsErrorCode = KmsErrorCode> extends Error {
  override readonly name = 'KmsError';
  constructor(
    readonly code: C,
    message: string,
    readonly field?: string,
    /** Extra non-secret facts for the client (e.g. an approval request id), sent as kms-<name> trailers. */
    readonly facts?: Readonly<Record<string, string>>,
  ) {
    super(message);
  }
}

/**
 * An error that refuses access, whatever its code says of the request's shape (e.g. a token asked
 * to live longer than the policy allows): audited as DENIED, answered like its code.
 */
export class AccessRefusedError<C extends KmsErrorCode = KmsErrorCode> extends KmsError<C> {
  readonly accessRefused = true;
}

/** Shorthand for an INVALID_ARGUMENT error naming the field. */
export function invalidArgument(field: string, problem: string): KmsError<'INVALID_ARGUMENT'> {
  return new KmsError('INVALID_ARGUMENT', `${field}: ${problem}`, field);
}

export function isKmsError(e: unknown): e is KmsError {
  return e instanceof KmsError;
}
