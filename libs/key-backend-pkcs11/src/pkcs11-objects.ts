import type { Algorithm, HsmKeyOrigin } from '@kms/domain';
import * as pkcs11js from 'pkcs11js';
import type { ObjectName } from './pkcs11-algorithms';
import { ckrOf, pkcs11Error } from './pkcs11-errors';
import type { Pkcs11Session } from './pkcs11-session-pool';
import { ed25519Spki, p256Spki, rsaSpki } from './public-key-encoding';

/** A token object with its class and key type, as found by label and id. */
export interface FoundObject {
  handle: Buffer;
  objectClass: number;
  keyType: number;
  id: Buffer;
}

const MAX_OBJECTS_PER_NAME = 16;
/** Session states with the user logged in (PKCS#11 CKS_RO_USER_FUNCTIONS, CKS_RW_USER_FUNCTIONS; pkcs11js does not name them). */
const USER_SESSION_STATES: ReadonlySet<number> = new Set([1, 3]);

function ulong(value: Buffer): number {
  // CK_ULONG in host byte order, 8 bytes on 64-bit Linux (4 on some platforms).
  return value.length >= 8 ? Number(value.readBigUInt64LE(0)) : value.readUInt32LE(0);
}

function bool(value: Buffer): boolean {
  return value.length > 0 && value[0] !== 0;
}

/** The session must still be logged in, or an empty search would mean "hidden", not "gone". */
export function assertLoggedIn(s: Pkcs11Session): void {
  const { state } = s.module.C_GetSessionInfo(s.handle);
  if (!USER_SESSION_STATES.has(state)) {
    throw pkcs11Error(pkcs11js.CKR_USER_NOT_LOGGED_IN, 'C_GetSessionInfo');
  }
}

/** Objects matching the template, with class and key type read. An empty answer is checked against the login state. */
export function findObjects(s: Pkcs11Session, template: pkcs11js.Template): FoundObject[] {
  const m = s.module;
  m.C_FindObjectsInit(s.handle, template);
  let handles: Buffer[];
  try {
    handles = m.C_FindObjects(s.handle, MAX_OBJECTS_PER_NAME);
  } finally {
    m.C_FindObjectsFinal(s.handle);
  }
  if (handles.length === 0) assertLoggedIn(s);
  return handles.map((handle) => {
    const [cls, type, id] = m.C_GetAttributeValue(s.handle, handle, [{ type: pkcs11js.CKA_CLASS }, { type: pkcs11js.CKA_KEY_TYPE }, { type: pkcs11js.CKA_ID }]);
    return { handle, objectClass: ulong(cls.value), keyType: ulong(type.value), id: id.value };
  });
}

/** Objects named by label and id. */
export function findByName(s: Pkcs11Session, name: ObjectName): FoundObject[] {
  return findObjects(s, [
    { type: pkcs11js.CKA_LABEL, value: name.label },
    { type: pkcs11js.CKA_ID, value: name.id },
  ]);
}

/** DER SPKI of a public key object of the given algorithm. */
export function readSpki(s: Pkcs11Session, publicKey: Buffer, algorithm: Algorithm): Buffer {
  const m = s.module;
  if (algorithm === 'RSA_PSS_3072_SHA256') {
    const [n, e] = m.C_GetAttributeValue(s.handle, publicKey, [{ type: pkcs11js.CKA_MODULUS }, { type: pkcs11js.CKA_PUBLIC_EXPONENT }]);
    return rsaSpki(n.value, e.value);
  }
  const [params, point] = m.C_GetAttributeValue(s.handle, publicKey, [{ type: pkcs11js.CKA_EC_PARAMS }, { type: pkcs11js.CKA_EC_POINT }]);
  return algorithm === 'ED25519' ? ed25519Spki(params.value, point.value) : p256Spki(params.value, point.value);
}

/** The key's origin attributes and the module identity: the evidence recorded with a new version. */
export function readOrigin(s: Pkcs11Session, key: Buffer, name: ObjectName, secret: boolean): HsmKeyOrigin {
  const m = s.module;
  const [local, neverExtractable, sensitive, extractable] = m.C_GetAttributeValue(s.handle, key, [
    { type: pkcs11js.CKA_LOCAL },
    { type: pkcs11js.CKA_NEVER_EXTRACTABLE },
    { type: pkcs11js.CKA_SENSITIVE },
    { type: pkcs11js.CKA_EXTRACTABLE },
  ]);
  const checkValue = secret ? readCheckValue(s, key) : undefined;
  return {
    attributes: { local: bool(local.value), neverExtractable: bool(neverExtractable.value), sensitive: bool(sensitive.value), extractable: bool(extractable.value) },
    module: { ...s.identity },
    objectLabel: name.label,
    objectId: name.id.toString('hex'),
    ...(checkValue ? { checkValue } : {}),
  };
}

function readCheckValue(s: Pkcs11Session, key: Buffer): string | undefined {
  try {
    const [kcv] = s.module.C_GetAttributeValue(s.handle, key, [{ type: pkcs11js.CKA_CHECK_VALUE }]);
    return kcv.value.length > 0 ? kcv.value.toString('hex') : undefined;
  } catch (e) {
    // CKA_CHECK_VALUE is optional (PKCS#11 2.40 has none for generic secrets); its absence is not a failure.
    const code = ckrOf(e);
    if (code === pkcs11js.CKR_ATTRIBUTE_TYPE_INVALID || code === pkcs11js.CKR_ATTRIBUTE_SENSITIVE) return undefined;
    throw e;
  }
}

/** Destroy objects, ignoring ones already gone. Returns how many this call destroyed. */
export function destroyObjects(s: Pkcs11Session, handles: readonly Buffer[]): number {
  let destroyed = 0;
  for (const handle of handles) {
    try {
      s.module.C_DestroyObject(s.handle, handle);
      destroyed += 1;
    } catch (e) {
      if (ckrOf(e) !== pkcs11js.CKR_OBJECT_HANDLE_INVALID) throw e;
    }
  }
  return destroyed;
}
