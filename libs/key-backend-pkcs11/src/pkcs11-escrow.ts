import { GCM_IV_LENGTH, GCM_TAG_LENGTH } from '@kms/domain';
import { randomBytes } from 'node:crypto';
import * as pkcs11js from 'pkcs11js';
import { gcm, type ObjectName, type SecretKeySpec } from './pkcs11-algorithms';
import { assertLoggedIn, destroyObjects } from './pkcs11-objects';
import type { Pkcs11Session } from './pkcs11-session-pool';

/**
 * Break-glass escrow of HSM keys. A version generated inside the module can never be split into
 * shares (it is not extractable), so an escrowed (BREAK_GLASS) version is made the way a key
 * ceremony makes one: 32 bytes from the module's RNG (C_GenerateRandom) become the version's object
 * through C_CreateObject (sensitive, never extractable; CKA_LOCAL is then false, and the origin
 * statement says so), and one *transfer copy* waits on the token for the sealing ceremony: AES-256-GCM
 * under the token's escrow transfer key (itself generated on the token, never extractable), as a
 * private data object. The ceremony reads it (decrypted inside the module), splits it, and destroys it.
 */

/** CKA_LABEL of the token's escrow transfer key (AES-256, encrypt/decrypt only). */
export const ESCROW_TRANSFER_KEY_LABEL = 'kms-escrow-transfer';
/** CKA_APPLICATION of transfer copies. */
const ESCROW_COPY_APPLICATION = 'kms-escrow';
const SECRET_BYTES = 32;
const MAX_FOUND = 16;

function attr(type: number, value: number | boolean | string | Buffer): pkcs11js.Attribute {
  return { type, value };
}

/** CKA_LABEL of a version's transfer copy. */
export function escrowCopyLabel(keyId: string, version: number): string {
  return `kms-escrow:${keyId}:v${version}`;
}

function find(s: Pkcs11Session, template: pkcs11js.Template): Buffer[] {
  s.module.C_FindObjectsInit(s.handle, template);
  try {
    return s.module.C_FindObjects(s.handle, MAX_FOUND);
  } finally {
    s.module.C_FindObjectsFinal(s.handle);
  }
}

function transferKeys(s: Pkcs11Session): Buffer[] {
  return find(s, [attr(pkcs11js.CKA_CLASS, pkcs11js.CKO_SECRET_KEY), attr(pkcs11js.CKA_LABEL, ESCROW_TRANSFER_KEY_LABEL)]);
}

/** The token's escrow transfer key, generated on first need (two replicas racing make two: a copy opens under either). */
async function transferKey(s: Pkcs11Session): Promise<Buffer> {
  const [existing] = transferKeys(s);
  if (existing) return existing;
  assertLoggedIn(s);
  return s.module.C_GenerateKeyAsync(s.handle, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
    attr(pkcs11js.CKA_CLASS, pkcs11js.CKO_SECRET_KEY),
    attr(pkcs11js.CKA_KEY_TYPE, pkcs11js.CKK_AES),
    attr(pkcs11js.CKA_VALUE_LEN, SECRET_BYTES),
    attr(pkcs11js.CKA_TOKEN, true),
    attr(pkcs11js.CKA_PRIVATE, true),
    attr(pkcs11js.CKA_SENSITIVE, true),
    attr(pkcs11js.CKA_EXTRACTABLE, false),
    attr(pkcs11js.CKA_ENCRYPT, true),
    attr(pkcs11js.CKA_DECRYPT, true),
    attr(pkcs11js.CKA_SIGN, false),
    attr(pkcs11js.CKA_VERIFY, false),
    attr(pkcs11js.CKA_WRAP, false),
    attr(pkcs11js.CKA_UNWRAP, false),
    attr(pkcs11js.CKA_DERIVE, false),
    attr(pkcs11js.CKA_LABEL, ESCROW_TRANSFER_KEY_LABEL),
  ]);
}

/**
 * Create an escrowed secret version: RNG bytes into a C_CreateObject key (the spec's template, value
 * given instead of generated) and the transfer copy. Returns the key's handle; the bytes are zeroed.
 */
export async function createEscrowedSecret(s: Pkcs11Session, spec: SecretKeySpec, name: ObjectName, keyId: string, version: number): Promise<Buffer> {
  const wrapKey = await transferKey(s);
  const material = s.module.C_GenerateRandom(s.handle, Buffer.alloc(SECRET_BYTES));
  let key: Buffer | undefined;
  try {
    // CKA_VALUE_LEN is for generation only: C_CreateObject takes the value, and refuses the length.
    const template = spec.template(name).filter((a) => a.type !== pkcs11js.CKA_VALUE_LEN);
    key = s.module.C_CreateObject(s.handle, [...template, attr(pkcs11js.CKA_VALUE, material)]);
    const label = escrowCopyLabel(keyId, version);
    const iv = randomBytes(GCM_IV_LENGTH);
    s.module.C_EncryptInit(s.handle, gcm(iv, Buffer.from(label)), wrapKey);
    const sealed = s.module.C_Encrypt(s.handle, material, Buffer.alloc(SECRET_BYTES + GCM_TAG_LENGTH));
    s.module.C_CreateObject(s.handle, [
      attr(pkcs11js.CKA_CLASS, pkcs11js.CKO_DATA),
      attr(pkcs11js.CKA_TOKEN, true),
      attr(pkcs11js.CKA_PRIVATE, true),
      attr(pkcs11js.CKA_LABEL, label),
      attr(pkcs11js.CKA_APPLICATION, ESCROW_COPY_APPLICATION),
      attr(pkcs11js.CKA_VALUE, Buffer.concat([iv, sealed])),
    ]);
    return key;
  } catch (e) {
    if (key) {
      try {
        destroyObjects(s, [key]);
      } catch {
        // The original failure is the one to report.
      }
    }
    throw e;
  } finally {
    material.fill(0);
  }
}

function escrowCopies(s: Pkcs11Session, keyId: string, version: number): Buffer[] {
  return find(s, [attr(pkcs11js.CKA_CLASS, pkcs11js.CKO_DATA), attr(pkcs11js.CKA_LABEL, escrowCopyLabel(keyId, version))]);
}

/**
 * The version's material from its transfer copy, decrypted inside the module, or undefined when the
 * copy is gone (sealed already). The caller zeroes it.
 */
export function readEscrowCopy(s: Pkcs11Session, keyId: string, version: number): Buffer | undefined {
  const [copy] = escrowCopies(s, keyId, version);
  if (!copy) {
    assertLoggedIn(s);
    return undefined;
  }
  const [value] = s.module.C_GetAttributeValue(s.handle, copy, [{ type: pkcs11js.CKA_VALUE }]);
  const iv = value.value.subarray(0, GCM_IV_LENGTH);
  const sealed = value.value.subarray(GCM_IV_LENGTH);
  const aad = Buffer.from(escrowCopyLabel(keyId, version));
  for (const k of transferKeys(s)) {
    try {
      s.module.C_DecryptInit(s.handle, gcm(iv, aad), k);
      const out = s.module.C_Decrypt(s.handle, sealed, Buffer.alloc(sealed.length));
      if (out.length === SECRET_BYTES) return out;
      out.fill(0);
    } catch {
      // Another transfer key (a replica's race), or a copy that does not open: tried in turn.
    }
  }
  throw new Error(`the escrow transfer copy of ${keyId} v${version} does not open under any escrow transfer key of the token`);
}

/** Destroy a version's transfer copy (after its sealing ceremony, or with the version). Returns how many went. */
export function destroyEscrowCopy(s: Pkcs11Session, keyId: string, version: number): number {
  return destroyObjects(s, escrowCopies(s, keyId, version));
}
