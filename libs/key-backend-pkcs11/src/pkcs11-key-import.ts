import type { ImportWrappingKey } from '@kms/application';
import { type KmsError, invalidArgument, isUuid } from '@kms/domain';
import * as pkcs11js from 'pkcs11js';
import { ckrOf } from './pkcs11-errors';
import { destroyObjects, findObjects } from './pkcs11-objects';
import type { Pkcs11Session } from './pkcs11-session-pool';
import { rsaSpki } from './public-key-encoding';

/** CKM_AES_KEY_WRAP_PAD (RFC 5649); pkcs11js does not name it. */
export const CKM_AES_KEY_WRAP_PAD = 0x210a;
/** What GetImportParameters names for HSM keys: the RSA step is OAEP with SHA-1 (AWS's RSA_AES_KEY_WRAP_SHA_1). */
export const HSM_WRAPPING_ALGORITHM = 'RSA_OAEP_3072_SHA1_AES_256_KWP';
const RSA_WRAPPED_BYTES = 384;
/** AES-KWP of exactly 32 bytes of material is 40 bytes (RFC 5649: padded to 8, plus the 8-byte AIV block). */
const KWP_OF_32_BYTES = 40;
const IMPORT_LABEL_PREFIX = 'kms-import:';

/**
 * RSA-OAEP as SoftHSM2 2.6 can unwrap with it: SHA-1 and MGF1-SHA1 only (SHA-256 is refused with
 * CKR_ARGUMENTS_BAD, checked in pkcs11-key-import.int-spec.ts), empty label.
 */
const OAEP_SHA1_PARAMS: pkcs11js.RsaOAEP = { type: pkcs11js.CK_PARAMS_RSA_OAEP, hashAlg: pkcs11js.CKM_SHA_1, mgf: pkcs11js.CKG_MGF1_SHA1, source: 1 };
const OAEP_SHA1: pkcs11js.Mechanism = { mechanism: pkcs11js.CKM_RSA_PKCS_OAEP, parameter: OAEP_SHA1_PARAMS };

function attr(type: number, value: number | boolean | string | Buffer): pkcs11js.Attribute {
  return { type, value };
}

/** CKA_LABEL of the wrapping key pair of one set of import parameters. */
function importLabel(keyId: string, token: string): string {
  return `${IMPORT_LABEL_PREFIX}${keyId}:${token}`;
}

function wronglyWrapped(why: string): KmsError<'INVALID_ARGUMENT'> {
  return invalidArgument('wrapped_key_material', why);
}

/**
 * A one-time RSA-3072 wrapping key pair generated on the token: token objects (the parameters outlive
 * a restart for their 24 hours), the private key sensitive, not extractable, for unwrapping only. Its
 * CKA_ID is the creation time (8 bytes, milliseconds), so freshness is read from the token.
 */
export async function generateImportWrappingKey(s: Pkcs11Session, keyId: string, token: string, createdAt: Date): Promise<ImportWrappingKey> {
  const label = importLabel(keyId, token);
  const id = Buffer.alloc(8);
  id.writeBigUInt64BE(BigInt(createdAt.getTime()));
  const pair = await s.module.C_GenerateKeyPairAsync(
    s.handle,
    { mechanism: pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN },
    [
      attr(pkcs11js.CKA_CLASS, pkcs11js.CKO_PUBLIC_KEY),
      attr(pkcs11js.CKA_KEY_TYPE, pkcs11js.CKK_RSA),
      attr(pkcs11js.CKA_TOKEN, true),
      attr(pkcs11js.CKA_PRIVATE, true),
      attr(pkcs11js.CKA_MODULUS_BITS, 3072),
      attr(pkcs11js.CKA_PUBLIC_EXPONENT, Buffer.from([1, 0, 1])),
      attr(pkcs11js.CKA_WRAP, true),
      attr(pkcs11js.CKA_ENCRYPT, false),
      attr(pkcs11js.CKA_VERIFY, false),
      attr(pkcs11js.CKA_LABEL, label),
      attr(pkcs11js.CKA_ID, id),
    ],
    [
      attr(pkcs11js.CKA_CLASS, pkcs11js.CKO_PRIVATE_KEY),
      attr(pkcs11js.CKA_KEY_TYPE, pkcs11js.CKK_RSA),
      attr(pkcs11js.CKA_TOKEN, true),
      attr(pkcs11js.CKA_PRIVATE, true),
      attr(pkcs11js.CKA_SENSITIVE, true),
      attr(pkcs11js.CKA_EXTRACTABLE, false),
      attr(pkcs11js.CKA_UNWRAP, true),
      attr(pkcs11js.CKA_DECRYPT, false),
      attr(pkcs11js.CKA_SIGN, false),
      attr(pkcs11js.CKA_DERIVE, false),
      attr(pkcs11js.CKA_LABEL, label),
      attr(pkcs11js.CKA_ID, id),
    ],
  );
  const [n, e] = s.module.C_GetAttributeValue(s.handle, pair.publicKey, [{ type: pkcs11js.CKA_MODULUS }, { type: pkcs11js.CKA_PUBLIC_EXPONENT }]);
  return { wrappingKeyRef: token, publicKeySpki: rsaSpki(n.value, e.value), createdAt, wrappingAlgorithm: HSM_WRAPPING_ALGORITHM };
}

/** The wrapping key pair's objects and creation time, or undefined when these parameters do not exist (or were spent). */
export function findImportWrappingKey(s: Pkcs11Session, keyId: string, token: string): { privateKey: Buffer; objects: Buffer[]; createdAt: Date } | undefined {
  if (!isUuid(token)) return undefined;
  const found = findObjects(s, [attr(pkcs11js.CKA_LABEL, importLabel(keyId, token))]);
  const priv = found.find((o) => o.objectClass === pkcs11js.CKO_PRIVATE_KEY);
  if (!priv || priv.id.length !== 8) return undefined;
  return { privateKey: priv.handle, objects: found.map((o) => o.handle), createdAt: new Date(Number(priv.id.readBigUInt64BE())) };
}

/**
 * The one-time AES-256 key of an import, unwrapped inside the module with RSA-OAEP (SHA-1) into a
 * session object (sensitive, not extractable, unwrap only), handed to `fn`, and destroyed whatever
 * happens.
 */
function withTransportKey<T>(s: Pkcs11Session, wrappingPrivateKey: Buffer, rsaWrapped: Buffer, fn: (transportKey: Buffer) => T): T {
  let ephemeral: Buffer;
  try {
    ephemeral = s.module.C_UnwrapKey(s.handle, OAEP_SHA1, wrappingPrivateKey, rsaWrapped, [
      attr(pkcs11js.CKA_CLASS, pkcs11js.CKO_SECRET_KEY),
      attr(pkcs11js.CKA_KEY_TYPE, pkcs11js.CKK_AES),
      attr(pkcs11js.CKA_TOKEN, false),
      attr(pkcs11js.CKA_SENSITIVE, true),
      attr(pkcs11js.CKA_EXTRACTABLE, false),
      attr(pkcs11js.CKA_UNWRAP, true),
      attr(pkcs11js.CKA_ENCRYPT, false),
      attr(pkcs11js.CKA_DECRYPT, false),
    ]);
  } catch (e) {
    if (ckrOf(e) === undefined) throw e;
    throw wronglyWrapped('the AES key does not decrypt with RSA-OAEP-SHA1 under these import parameters (HSM keys: OAEP with SHA-1 and MGF1-SHA1)');
  }
  try {
    return fn(ephemeral);
  } finally {
    destroyObjects(s, [ephemeral]);
  }
}

/** C_UnwrapKey with CKM_AES_KEY_WRAP_PAD under the transport key into an object made from `template`. */
function unwrapUnder(s: Pkcs11Session, transportKey: Buffer, kwp: Buffer, template: pkcs11js.Template, what: string): Buffer {
  try {
    return s.module.C_UnwrapKey(s.handle, { mechanism: CKM_AES_KEY_WRAP_PAD }, transportKey, kwp, template);
  } catch (e) {
    if (ckrOf(e) === undefined) throw e;
    throw wronglyWrapped(`the material does not unwrap with AES-KWP (RFC 5649) under the wrapped AES key as ${what}`);
  }
}

/**
 * Unwrap inside the module, never in process memory: the one-time AES-256 key (withTransportKey),
 * then C_UnwrapKey with CKM_AES_KEY_WRAP_PAD of the material under it into a token object made from
 * `template` (the version's own template without CKA_VALUE_LEN, which the module sets itself).
 * AES-256 material only: the KWP length pins it to 25–32 bytes and an AES key of 25–31 bytes does not
 * exist, which `checkAes` proves by using the key.
 */
export function unwrapAes256Material(
  s: Pkcs11Session,
  wrappingPrivateKey: Buffer,
  wrapped: Buffer,
  template: pkcs11js.Template,
  checkAes: (key: Buffer) => void,
): Buffer {
  if (wrapped.length !== RSA_WRAPPED_BYTES + KWP_OF_32_BYTES) {
    throw wronglyWrapped(`must be the ${RSA_WRAPPED_BYTES}-byte RSA-OAEP-wrapped AES key followed by the ${KWP_OF_32_BYTES}-byte AES-KWP of the 32-byte AES-256 key`);
  }
  return withTransportKey(s, wrappingPrivateKey, wrapped.subarray(0, RSA_WRAPPED_BYTES), (transportKey) => {
    const key = unwrapUnder(s, transportKey, wrapped.subarray(RSA_WRAPPED_BYTES), template.filter((a) => a.type !== pkcs11js.CKA_VALUE_LEN), 'an AES key');
    try {
      checkAes(key);
    } catch {
      destroyObjects(s, [key]);
      throw wronglyWrapped('does not hold AES_256_GCM material (32 raw bytes)');
    }
    return key;
  });
}

/** The smallest AES-KWP of a PKCS#8 RSA-3072 private key (about 1,190 bytes of DER at least). */
const MIN_RSA_PKCS8_KWP = 1100;
const RSA_3072_MODULUS_BYTES = 384;

/**
 * BYOK of an RSA-3072 key pair into the module: the PKCS#8 private key is unwrapped inside it
 * (CKM_AES_KEY_WRAP_PAD under the transport key) into a token object from `privateTemplate`; its
 * modulus and public exponent (public attributes of an RSA private key object) must be 3072 bits and
 * become the public key object (C_CreateObject from `publicTemplate`). The material never reaches
 * process memory; the public half is read back, not trusted from the caller.
 */
export function unwrapRsa3072KeyPair(
  s: Pkcs11Session,
  wrappingPrivateKey: Buffer,
  wrapped: Buffer,
  privateTemplate: pkcs11js.Template,
  publicTemplate: pkcs11js.Template,
): { privateKey: Buffer; publicKey: Buffer } {
  if (wrapped.length < RSA_WRAPPED_BYTES + MIN_RSA_PKCS8_KWP) {
    throw wronglyWrapped(`must be the ${RSA_WRAPPED_BYTES}-byte RSA-OAEP-wrapped AES key followed by the AES-KWP of the PKCS#8 DER of an RSA-3072 private key`);
  }
  return withTransportKey(s, wrappingPrivateKey, wrapped.subarray(0, RSA_WRAPPED_BYTES), (transportKey) => {
    const privateKey = unwrapUnder(s, transportKey, wrapped.subarray(RSA_WRAPPED_BYTES), privateTemplate, 'a PKCS#8 RSA private key');
    try {
      const [modulus, exponent] = s.module.C_GetAttributeValue(s.handle, privateKey, [{ type: pkcs11js.CKA_MODULUS }, { type: pkcs11js.CKA_PUBLIC_EXPONENT }]);
      const n = stripLeadingZeros(modulus.value);
      if (n.length !== RSA_3072_MODULUS_BYTES || (n[0] & 0x80) === 0) throw wronglyWrapped(`holds an RSA key of ${n.length * 8 - Math.clz32(n[0] ?? 0) + 24} bits, not 3072`);
      const template = publicTemplate.filter((a) => a.type !== pkcs11js.CKA_MODULUS_BITS && a.type !== pkcs11js.CKA_PUBLIC_EXPONENT);
      const publicKey = s.module.C_CreateObject(s.handle, [...template, attr(pkcs11js.CKA_MODULUS, n), attr(pkcs11js.CKA_PUBLIC_EXPONENT, exponent.value)]);
      return { privateKey, publicKey };
    } catch (e) {
      destroyObjects(s, [privateKey]);
      throw e;
    }
  });
}

function stripLeadingZeros(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
}

/** Spend the parameters: the wrapping key pair is destroyed after a successful import. */
export function destroyImportWrappingKey(s: Pkcs11Session, objects: readonly Buffer[]): void {
  destroyObjects(s, objects);
}
