import { KmsError } from '@kms/domain';
import { KmipError } from '../ttlv/kmip-message';
import type { ResultReasonName } from '../ttlv/kmip-tags';
import { TtlvError } from '../ttlv/ttlv';

/** A KMS refusal that KMIP names more precisely than its code (e.g. Not Extractable, Feature Not Supported). */
export class KmipRefusal extends KmsError<'PERMISSION_DENIED' | 'INVALID_ARGUMENT' | 'ILLEGAL_TRANSITION'> {
  constructor(
    code: 'PERMISSION_DENIED' | 'INVALID_ARGUMENT' | 'ILLEGAL_TRANSITION',
    readonly kmipReason: ResultReasonName,
    message: string,
    field?: string,
  ) {
    super(code, message, field);
  }
}

/**
 * Every KMS error code's KMIP result reason: a Record over all codes, so a new code does not compile
 * until it is mapped here (it would otherwise reach clients as General Failure). Faults of the
 * service (audit, store, backend unavailable) are General Failure: KMIP has nothing closer.
 */
const BY_CODE: Record<KmsError['code'], ResultReasonName> = {
  INVALID_ARGUMENT: 'InvalidField',
  MALFORMED_REQUEST: 'InvalidMessage',
  INVALID_CIPHERTEXT: 'CryptographicFailure',
  KEY_NOT_FOUND: 'ItemNotFound',
  KEY_VERSION_NOT_FOUND: 'ItemNotFound',
  IDENTITY_NOT_FOUND: 'ItemNotFound',
  APPROVAL_NOT_FOUND: 'ItemNotFound',
  DEVICE_AUTHORIZATION_NOT_FOUND: 'ItemNotFound',
  KEY_ALREADY_EXISTS: 'ObjectAlreadyExists',
  IDENTITY_ALREADY_EXISTS: 'ObjectAlreadyExists',
  FACTORS_ALREADY_ENROLLED: 'ObjectAlreadyExists',
  UNAUTHENTICATED: 'AuthenticationNotSuccessful',
  TOO_MANY_ATTEMPTS: 'AuthenticationNotSuccessful',
  PERMISSION_DENIED: 'PermissionDenied',
  APPROVAL_REQUIRED: 'PermissionDenied',
  SELF_APPROVAL: 'PermissionDenied',
  KEY_SEALED: 'PermissionDenied',
  USAGE_MISMATCH: 'IllegalOperation',
  UNSUPPORTED_ALGORITHM: 'FeatureNotSupported',
  NO_ORIGIN_EVIDENCE: 'FeatureNotSupported',
  KEY_DISABLED: 'IllegalOperation',
  KEY_VERSION_DISABLED: 'IllegalOperation',
  KEY_VERSION_DESTROY_SCHEDULED: 'IllegalOperation',
  KEY_VERSION_DESTROYED: 'IllegalOperation',
  KEY_VERSION_BELOW_MIN_DECRYPTION: 'IllegalOperation',
  KEY_VERSION_EXPIRED: 'IllegalOperation',
  PRIMARY_VERSION_PROTECTED: 'IllegalOperation',
  ILLEGAL_TRANSITION: 'IllegalOperation',
  DESTRUCTION_NOT_DUE: 'IllegalOperation',
  DEPENDENTS_NOT_CONFIRMED: 'IllegalOperation',
  CIPHERTEXTS_OUTSTANDING: 'IllegalOperation',
  CONFIRMATIONS_NOT_OVERDUE: 'IllegalOperation',
  NOT_A_DEPENDENT: 'IllegalOperation',
  APPROVAL_NOT_PENDING: 'IllegalOperation',
  APPROVAL_EXPIRED: 'IllegalOperation',
  DEVICE_AUTHORIZATION_NOT_PENDING: 'IllegalOperation',
  REQUEST_ID_REUSED: 'IllegalOperation',
  REQUEST_ALREADY_DONE: 'IllegalOperation',
  ROTATION_PERIOD_TOO_LONG: 'InvalidField',
  CONCURRENCY_CONFLICT: 'GeneralFailure',
  AUDIT_UNAVAILABLE: 'GeneralFailure',
  BACKEND_UNAVAILABLE: 'GeneralFailure',
  STORE_UNAVAILABLE: 'GeneralFailure',
  INTEGRITY_VIOLATION: 'GeneralFailure',
};

/** The KMIP result reason and message for whatever an operation threw (the one mapping for this transport). */
export function toKmipFailure(e: unknown): { reason: ResultReasonName; message: string } {
  if (e instanceof KmipRefusal) return { reason: e.kmipReason, message: e.message };
  if (e instanceof KmipError) return { reason: e.reason, message: e.message };
  if (e instanceof TtlvError) return { reason: 'InvalidMessage', message: e.message };
  if (e instanceof KmsError) {
    const code: KmsError['code'] = e.code;
    return { reason: BY_CODE[code], message: `${code}: ${e.message}` };
  }
  // Anything else is a fault of ours: the client learns nothing of it but that it failed.
  return { reason: 'GeneralFailure', message: 'internal error' };
}
