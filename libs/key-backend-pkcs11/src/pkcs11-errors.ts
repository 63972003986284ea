import { KmsError } from '@kms/domain';
import * as pkcs11js from 'pkcs11js';

const CKR_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(pkcs11js)
    .filter((entry): entry is [string, number] => entry[0].startsWith('CKR_') && typeof entry[1] === 'number')
    .map(([name, value]) => [value, name]),
);

/**
 * Return codes meaning the module, token, session or login state is gone, not that this one request
 * was wrong: the request fails with BACKEND_UNAVAILABLE and the pool reconnects (finalize, initialize,
 * log in, reopen sessions). CKR_GENERAL_ERROR is "unrecoverable" by the standard, except where an
 * operation declares it an answer (SoftHSM2 reports a failed AES-GCM tag check with it).
 */
export const RECONNECT_CODES: ReadonlySet<number> = new Set([
  pkcs11js.CKR_GENERAL_ERROR,
  pkcs11js.CKR_SLOT_ID_INVALID,
  pkcs11js.CKR_DEVICE_ERROR,
  pkcs11js.CKR_DEVICE_MEMORY,
  pkcs11js.CKR_DEVICE_REMOVED,
  pkcs11js.CKR_SESSION_CLOSED,
  pkcs11js.CKR_SESSION_HANDLE_INVALID,
  pkcs11js.CKR_TOKEN_NOT_PRESENT,
  pkcs11js.CKR_TOKEN_NOT_RECOGNIZED,
  pkcs11js.CKR_USER_NOT_LOGGED_IN,
  pkcs11js.CKR_CRYPTOKI_NOT_INITIALIZED,
]);

/** Login answers that retrying cannot fix and that could lock the PIN on a real HSM: no automatic retries. */
export const FATAL_LOGIN_CODES: ReadonlySet<number> = new Set([
  pkcs11js.CKR_PIN_INCORRECT,
  pkcs11js.CKR_PIN_INVALID,
  pkcs11js.CKR_PIN_LEN_RANGE,
  pkcs11js.CKR_PIN_EXPIRED,
  pkcs11js.CKR_PIN_LOCKED,
  pkcs11js.CKR_USER_PIN_NOT_INITIALIZED,
]);

/** The CKR_* name of a return code, or its hex value. */
export function ckrName(code: number): string {
  return CKR_NAMES.get(code) ?? `CKR 0x${code.toString(16)}`;
}

/** The PKCS#11 return code carried by a pkcs11js error, if it is one. */
export function ckrOf(e: unknown): number | undefined {
  if (!(e instanceof Error) || e.name !== 'Pkcs11Error') return undefined;
  const code = (e as Error & { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/** A pkcs11js-shaped error for a condition found by other means (e.g. a session no longer logged in). */
export function pkcs11Error(code: number, method: string): Error {
  return new pkcs11js.Pkcs11Error(ckrName(code), code, method);
}

/** BACKEND_UNAVAILABLE with a message that names the problem and never a PIN, handle or key value. */
export function hsmUnavailable(problem: string): KmsError<'BACKEND_UNAVAILABLE'> {
  return new KmsError('BACKEND_UNAVAILABLE', `HSM unavailable: ${problem}`);
}

/** A short description of any thrown value for messages: the CKR name for PKCS#11 errors. */
export function describeError(e: unknown): string {
  const code = ckrOf(e);
  if (code !== undefined) return ckrName(code);
  return e instanceof Error ? e.message : String(e);
}
