import { Metadata, status } from '@grpc/grpc-js';
import { KmsError, type KmsErrorCode } from '@kms/domain';

/** The one mapping from KMS error codes to gRPC status codes (STYLE.md 9). */
export const GRPC_STATUS_BY_CODE: Readonly<Record<KmsErrorCode, status>> = {
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  INVALID_CIPHERTEXT: status.INVALID_ARGUMENT,
  KEY_NOT_FOUND: status.NOT_FOUND,
  KEY_VERSION_NOT_FOUND: status.NOT_FOUND,
  KEY_ALREADY_EXISTS: status.ALREADY_EXISTS,
  KEY_DISABLED: status.FAILED_PRECONDITION,
  KEY_VERSION_DISABLED: status.FAILED_PRECONDITION,
  KEY_VERSION_DESTROY_SCHEDULED: status.FAILED_PRECONDITION,
  KEY_VERSION_DESTROYED: status.FAILED_PRECONDITION,
  KEY_VERSION_EXPIRED: status.FAILED_PRECONDITION,
  KEY_VERSION_BELOW_MIN_DECRYPTION: status.FAILED_PRECONDITION,
  PRIMARY_VERSION_PROTECTED: status.FAILED_PRECONDITION,
  USAGE_MISMATCH: status.FAILED_PRECONDITION,
  UNSUPPORTED_ALGORITHM: status.FAILED_PRECONDITION,
  ROTATION_PERIOD_TOO_LONG: status.INVALID_ARGUMENT,
  ILLEGAL_TRANSITION: status.FAILED_PRECONDITION,
  DESTRUCTION_NOT_DUE: status.FAILED_PRECONDITION,
  CONCURRENCY_CONFLICT: status.ABORTED,
  AUDIT_UNAVAILABLE: status.UNAVAILABLE,
  BACKEND_UNAVAILABLE: status.UNAVAILABLE,
  STORE_UNAVAILABLE: status.UNAVAILABLE,
  UNAUTHENTICATED: status.UNAUTHENTICATED,
  PERMISSION_DENIED: status.PERMISSION_DENIED,
  SELF_APPROVAL: status.PERMISSION_DENIED,
  IDENTITY_NOT_FOUND: status.NOT_FOUND,
  IDENTITY_ALREADY_EXISTS: status.ALREADY_EXISTS,
  APPROVAL_REQUIRED: status.FAILED_PRECONDITION,
  APPROVAL_NOT_FOUND: status.NOT_FOUND,
  APPROVAL_NOT_PENDING: status.FAILED_PRECONDITION,
  APPROVAL_EXPIRED: status.FAILED_PRECONDITION,
  NO_ORIGIN_EVIDENCE: status.FAILED_PRECONDITION,
  DEPENDENTS_NOT_CONFIRMED: status.FAILED_PRECONDITION,
  CIPHERTEXTS_OUTSTANDING: status.FAILED_PRECONDITION,
  CONFIRMATIONS_NOT_OVERDUE: status.FAILED_PRECONDITION,
  NOT_A_DEPENDENT: status.PERMISSION_DENIED,
  REQUEST_ID_REUSED: status.INVALID_ARGUMENT,
  REQUEST_ALREADY_DONE: status.ALREADY_EXISTS,
  MALFORMED_REQUEST: status.INVALID_ARGUMENT,
  INTEGRITY_VIOLATION: status.UNAVAILABLE,
  TOO_MANY_ATTEMPTS: status.RESOURCE_EXHAUSTED,
  FACTORS_ALREADY_ENROLLED: status.FAILED_PRECONDITION,
  DEVICE_AUTHORIZATION_NOT_FOUND: status.NOT_FOUND,
  DEVICE_AUTHORIZATION_NOT_PENDING: status.FAILED_PRECONDITION,
  KEY_SEALED: status.FAILED_PRECONDITION,
};

export interface GrpcErrorShape {
  code: status;
  message: string;
  /** KMS error code, e.g. KEY_VERSION_DISABLED, or INTERNAL. */
  errorCode: string;
  field?: string;
  facts?: Readonly<Record<string, string>>;
}

/** Translate any thrown value into what the client sees. Unknown errors never leak their message. */
export function toGrpcError(e: unknown): GrpcErrorShape {
  if (e instanceof KmsError) {
    return {
      code: GRPC_STATUS_BY_CODE[e.code as KmsErrorCode],
      message: e.message,
      errorCode: e.code,
      ...(e.field ? { field: e.field } : {}),
      ...(e.facts ? { facts: e.facts } : {}),
    };
  }
  return { code: status.INTERNAL, message: 'internal error', errorCode: 'INTERNAL' };
}

/** The error object grpc-js sends: status, message, and trailing metadata naming code and field. */
export function toServiceError(e: unknown): { code: status; message: string; details: string; metadata: Metadata } {
  const g = toGrpcError(e);
  const metadata = new Metadata();
  metadata.set('kms-error-code', g.errorCode);
  if (g.field) metadata.set('kms-error-field', g.field);
  for (const [name, value] of Object.entries(g.facts ?? {})) metadata.set(`kms-${name}`, value);
  return { code: g.code, message: g.message, details: g.message, metadata };
}

/** gRPC status name (e.g. "FAILED_PRECONDITION") for batch item errors. */
export function statusName(code: status): string {
  return status[code];
}
