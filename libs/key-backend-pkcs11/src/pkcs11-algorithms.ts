import { GCM_IV_LENGTH, GCM_TAG_LENGTH, type Algorithm } from '@kms/domain';
import * as pkcs11js from 'pkcs11js';
import { ED25519_EC_PARAMS, P256_EC_PARAMS } from './public-key-encoding';

/** PKCS#11 3.0 values pkcs11js does not name. */
export const CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055;
export const CKM_EDDSA = 0x1057;
export const CKK_EC_EDWARDS = 0x40;

const AES_KEY_BYTES = 32;
const HMAC_KEY_BYTES = 32;
const RSA_MODULUS_BITS = 3072;
const RSA_PUBLIC_EXPONENT = Buffer.from([0x01, 0x00, 0x01]);

/** CKM_AES_GCM with a 96-bit IV and 128-bit tag: the PKCS#11 2.40 CK_GCM_PARAMS layout (with ulIvBits), which SoftHSM2 and 3.0 modules expect. */
export function gcm(iv: Buffer, aad: Buffer): pkcs11js.Mechanism {
  const parameter: pkcs11js.GcmParams = {
    type: pkcs11js.CK_PARAMS_AES_GCM_v240,
    iv,
    ivBits: GCM_IV_LENGTH * 8,
    ...(aad.length > 0 ? { aad } : {}),
    tagBits: GCM_TAG_LENGTH * 8,
  };
  return { mechanism: pkcs11js.CKM_AES_GCM, parameter };
}

/** Where a version's object lives on the token: CKA_LABEL and CKA_ID. */
export interface ObjectName {
  label: string;
  id: Buffer;
}

interface SpecBase {
  /** CKA_KEY_TYPE of the version's objects. */
  keyType: number;
  /** Mechanisms the module must offer: generation plus use. */
  mechanisms: readonly number[];
}

export interface SecretKeySpec extends SpecBase {
  kind: 'secret';
  generate: number;
  template(name: ObjectName): pkcs11js.Template;
}

export interface KeyPairSpec extends SpecBase {
  kind: 'pair';
  generate: number;
  publicTemplate(name: ObjectName): pkcs11js.Template;
  privateTemplate(name: ObjectName): pkcs11js.Template;
}

export type AlgorithmSpec = SecretKeySpec | KeyPairSpec;

function attr(type: number, value: boolean | number | string | Buffer): pkcs11js.Attribute {
  return { type, value };
}

/** Token object, private to the logged-in user, never readable and never extractable. */
function secretTemplate(name: ObjectName, keyType: number, bytes: number, use: { encrypt: boolean; sign: boolean }): pkcs11js.Template {
  return [
    attr(pkcs11js.CKA_CLASS, pkcs11js.CKO_SECRET_KEY),
    attr(pkcs11js.CKA_KEY_TYPE, keyType),
    attr(pkcs11js.CKA_VALUE_LEN, bytes),
    attr(pkcs11js.CKA_TOKEN, true),
    attr(pkcs11js.CKA_PRIVATE, true),
    attr(pkcs11js.CKA_SENSITIVE, true),
    attr(pkcs11js.CKA_EXTRACTABLE, false),
    attr(pkcs11js.CKA_ENCRYPT, use.encrypt),
    attr(pkcs11js.CKA_DECRYPT, use.encrypt),
    attr(pkcs11js.CKA_SIGN, use.sign),
    attr(pkcs11js.CKA_VERIFY, use.sign),
    // No wrapping or derivation: either would be a way to get the value out of the module.
    attr(pkcs11js.CKA_WRAP, false),
    attr(pkcs11js.CKA_UNWRAP, false),
    attr(pkcs11js.CKA_DERIVE, false),
    attr(pkcs11js.CKA_LABEL, name.label),
    attr(pkcs11js.CKA_ID, name.id),
  ];
}

function publicTemplate(name: ObjectName, keyType: number, extra: pkcs11js.Template): pkcs11js.Template {
  return [
    attr(pkcs11js.CKA_CLASS, pkcs11js.CKO_PUBLIC_KEY),
    attr(pkcs11js.CKA_KEY_TYPE, keyType),
    attr(pkcs11js.CKA_TOKEN, true),
    attr(pkcs11js.CKA_PRIVATE, true),
    attr(pkcs11js.CKA_VERIFY, true),
    attr(pkcs11js.CKA_ENCRYPT, false),
    attr(pkcs11js.CKA_WRAP, false),
    attr(pkcs11js.CKA_LABEL, name.label),
    attr(pkcs11js.CKA_ID, name.id),
    ...extra,
  ];
}

function privateTemplate(name: ObjectName, keyType: number): pkcs11js.Template {
  return [
    attr(pkcs11js.CKA_CLASS, pkcs11js.CKO_PRIVATE_KEY),
    attr(pkcs11js.CKA_KEY_TYPE, keyType),
    attr(pkcs11js.CKA_TOKEN, true),
    attr(pkcs11js.CKA_PRIVATE, true),
    attr(pkcs11js.CKA_SENSITIVE, true),
    attr(pkcs11js.CKA_EXTRACTABLE, false),
    attr(pkcs11js.CKA_SIGN, true),
    attr(pkcs11js.CKA_DECRYPT, false),
    attr(pkcs11js.CKA_UNWRAP, false),
    attr(pkcs11js.CKA_DERIVE, false),
    attr(pkcs11js.CKA_LABEL, name.label),
    attr(pkcs11js.CKA_ID, name.id),
  ];
}

/**
 * How each algorithm's material is generated on the token, and which mechanisms it needs. Not here:
 * ML-DSA and ML-KEM (no module this project runs on offers them), and RSA-OAEP-SHA256, which
 * SoftHSM2 2.6 refuses ("hashAlg must be CKM_SHA_1": its CKM_RSA_PKCS_OAEP is SHA-1 only).
 */
export const ALGORITHM_SPECS: Readonly<Partial<Record<Algorithm, AlgorithmSpec>>> = {
  AES_256_GCM: {
    kind: 'secret',
    keyType: pkcs11js.CKK_AES,
    generate: pkcs11js.CKM_AES_KEY_GEN,
    mechanisms: [pkcs11js.CKM_AES_KEY_GEN, pkcs11js.CKM_AES_GCM],
    template: (name) => secretTemplate(name, pkcs11js.CKK_AES, AES_KEY_BYTES, { encrypt: true, sign: false }),
  },
  HMAC_SHA256: {
    kind: 'secret',
    keyType: pkcs11js.CKK_GENERIC_SECRET,
    generate: pkcs11js.CKM_GENERIC_SECRET_KEY_GEN,
    mechanisms: [pkcs11js.CKM_GENERIC_SECRET_KEY_GEN, pkcs11js.CKM_SHA256_HMAC],
    template: (name) => secretTemplate(name, pkcs11js.CKK_GENERIC_SECRET, HMAC_KEY_BYTES, { encrypt: false, sign: true }),
  },
  ECDSA_P256_SHA256: {
    kind: 'pair',
    keyType: pkcs11js.CKK_EC,
    generate: pkcs11js.CKM_EC_KEY_PAIR_GEN,
    mechanisms: [pkcs11js.CKM_EC_KEY_PAIR_GEN, pkcs11js.CKM_ECDSA],
    publicTemplate: (name) => publicTemplate(name, pkcs11js.CKK_EC, [attr(pkcs11js.CKA_EC_PARAMS, P256_EC_PARAMS)]),
    privateTemplate: (name) => privateTemplate(name, pkcs11js.CKK_EC),
  },
  RSA_PSS_3072_SHA256: {
    kind: 'pair',
    keyType: pkcs11js.CKK_RSA,
    generate: pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN,
    mechanisms: [pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN, pkcs11js.CKM_RSA_PKCS_PSS],
    publicTemplate: (name) =>
      publicTemplate(name, pkcs11js.CKK_RSA, [attr(pkcs11js.CKA_MODULUS_BITS, RSA_MODULUS_BITS), attr(pkcs11js.CKA_PUBLIC_EXPONENT, RSA_PUBLIC_EXPONENT)]),
    privateTemplate: (name) => privateTemplate(name, pkcs11js.CKK_RSA),
  },
  ED25519: {
    kind: 'pair',
    keyType: CKK_EC_EDWARDS,
    generate: CKM_EC_EDWARDS_KEY_PAIR_GEN,
    mechanisms: [CKM_EC_EDWARDS_KEY_PAIR_GEN, CKM_EDDSA],
    publicTemplate: (name) => publicTemplate(name, CKK_EC_EDWARDS, [attr(pkcs11js.CKA_EC_PARAMS, ED25519_EC_PARAMS)]),
    privateTemplate: (name) => privateTemplate(name, CKK_EC_EDWARDS),
  },
};

/** RSASSA-PSS with SHA-256, MGF1-SHA256 and a 32-byte salt, over a caller-computed digest. */
const PSS_PARAMS: pkcs11js.RsaPSS = { type: pkcs11js.CK_PARAMS_RSA_PSS, hashAlg: pkcs11js.CKM_SHA256, mgf: pkcs11js.CKG_MGF1_SHA256, saltLen: 32 };
export const RSA_PSS_SHA256: pkcs11js.Mechanism = { mechanism: pkcs11js.CKM_RSA_PKCS_PSS, parameter: PSS_PARAMS };

/** Bytes of an RSA-3072 signature. */
export const RSA_SIGNATURE_BYTES = RSA_MODULUS_BITS / 8;
