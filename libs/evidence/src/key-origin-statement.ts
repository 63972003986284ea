import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { canonicalJson, canonicalJsonBytes } from './canonical-json';

/** The `type` of a version-1 key-origin statement. */
export const KEY_ORIGIN_STATEMENT_TYPE = 'kms.key-origin-statement.v1';

/**
 * Where a key version came from, as read back from the HSM. Same shape as `HsmKeyOrigin` in
 * @kms/domain, restated here because this lib must stay usable by a verifier with no KMS code.
 */
export interface KeyOriginEvidence {
  attributes: { local: boolean; neverExtractable: boolean; sensitive: boolean; extractable: boolean };
  module: {
    manufacturer: string;
    model: string;
    serialNumber: string;
    firmwareVersion: string;
    hardwareVersion: string;
    tokenLabel: string;
    libraryDescription: string;
  };
  objectLabel: string;
  objectId: string;
  checkValue?: string;
  /**
   * Present (true) only for a break-glass version made for escrow: bytes from the module's RNG given
   * to C_CreateObject (so CKA_LOCAL is false) and split into custodians' shares at its sealing ceremony.
   */
  madeForEscrow?: true;
}

/** What the KMS knows about a version when it issues a statement. */
export interface KeyOriginStatementInput {
  keyId: string;
  version: number;
  algorithm: string;
  protectionLevel: string;
  createdAt: Date | string;
  /** When the statement is issued; passed in so this function stays pure. */
  issuedAt: Date | string;
  /** Base64 DER SubjectPublicKeyInfo, for key pairs. */
  publicKeySpkiBase64?: string;
  /** Hex SHA-256 of the DER SPKI (key pairs). */
  keyFingerprint?: string;
  origin: KeyOriginEvidence;
  /** BYOK: the material was brought by the customer and unwrapped into the module (not generated there). */
  imported?: boolean;
  /** Hex SHA-256 of the attestation key's DER SPKI. */
  attestationKeyFingerprint: string;
}

/** The signed document. Its canonical JSON (RFC 8785) is what the attestation key signs. */
export interface KeyOriginStatement {
  type: typeof KEY_ORIGIN_STATEMENT_TYPE;
  keyId: string;
  version: number;
  algorithm: string;
  protectionLevel: string;
  createdAt: string;
  issuedAt: string;
  publicKeySpkiBase64?: string;
  keyFingerprint?: string;
  origin: KeyOriginEvidence;
  /** Present (true) only for imported material: the statement says so, and CKA_LOCAL is false. */
  imported?: true;
  attestationKeyFingerprint: string;
}

/** A statement with its base64 DER ECDSA P-256/SHA-256 signature: the shape GetKeyOriginStatement returns. */
export interface SignedKeyOriginStatement {
  statement: KeyOriginStatement;
  signature: string;
}

export type StatementVerification = { valid: true; statement: KeyOriginStatement } | { valid: false; reason: string };

const HEX_SHA256 = /^[0-9a-f]{64}$/;
// Canonical, padded base64 only: Buffer.from(..., 'base64') silently skips junk characters.
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function isoTime(value: Date | string, field: string): string {
  const date = typeof value === 'string' ? new Date(value) : value;
  if (Number.isNaN(date.getTime())) throw new TypeError(`${field} must be a valid time`);
  return date.toISOString();
}

function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Build the statement document (not yet signed). Throws TypeError on malformed input. */
export function buildKeyOriginStatement(input: KeyOriginStatementInput): KeyOriginStatement {
  if (!Number.isInteger(input.version) || input.version < 1) throw new TypeError('version must be a whole number from 1');
  if (!HEX_SHA256.test(input.attestationKeyFingerprint)) throw new TypeError('attestationKeyFingerprint must be 64 lower-case hex characters');
  if (input.keyFingerprint !== undefined && !HEX_SHA256.test(input.keyFingerprint)) {
    throw new TypeError('keyFingerprint must be 64 lower-case hex characters');
  }
  if (input.publicKeySpkiBase64 !== undefined && !STRICT_BASE64.test(input.publicKeySpkiBase64)) {
    throw new TypeError('publicKeySpkiBase64 must be padded base64');
  }
  const { attributes, module } = input.origin;
  // Copy field by field: only what is named here gets signed, whatever else the caller's object carries.
  const origin: KeyOriginEvidence = {
    attributes: {
      local: attributes.local,
      neverExtractable: attributes.neverExtractable,
      sensitive: attributes.sensitive,
      extractable: attributes.extractable,
    },
    module: {
      manufacturer: module.manufacturer,
      model: module.model,
      serialNumber: module.serialNumber,
      firmwareVersion: module.firmwareVersion,
      hardwareVersion: module.hardwareVersion,
      tokenLabel: module.tokenLabel,
      libraryDescription: module.libraryDescription,
    },
    objectLabel: input.origin.objectLabel,
    objectId: input.origin.objectId,
    ...(input.origin.checkValue !== undefined ? { checkValue: input.origin.checkValue } : {}),
    ...(input.origin.madeForEscrow === true ? { madeForEscrow: true as const } : {}),
  };
  return {
    type: KEY_ORIGIN_STATEMENT_TYPE,
    keyId: input.keyId,
    version: input.version,
    algorithm: input.algorithm,
    protectionLevel: input.protectionLevel,
    createdAt: isoTime(input.createdAt, 'createdAt'),
    issuedAt: isoTime(input.issuedAt, 'issuedAt'),
    ...(input.publicKeySpkiBase64 !== undefined ? { publicKeySpkiBase64: input.publicKeySpkiBase64 } : {}),
    ...(input.keyFingerprint !== undefined ? { keyFingerprint: input.keyFingerprint } : {}),
    origin,
    ...(input.imported === true ? { imported: true as const } : {}),
    attestationKeyFingerprint: input.attestationKeyFingerprint,
  };
}

/** Sign the statement's canonical JSON with the attestation key (an AttestationSigner fits). */
export async function signKeyOriginStatement(
  statement: KeyOriginStatement,
  signer: { sign(data: Buffer): Promise<Buffer> },
): Promise<SignedKeyOriginStatement> {
  const signature = await signer.sign(canonicalJsonBytes(statement));
  return { statement, signature: signature.toString('base64') };
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The first field that does not have the statement's shape, or undefined when all do. */
function shapeProblem(s: unknown): string | undefined {
  if (!isObject(s)) return 'statement is not a JSON object';
  if (s['type'] !== KEY_ORIGIN_STATEMENT_TYPE) return `statement type is not ${KEY_ORIGIN_STATEMENT_TYPE}`;
  for (const field of ['keyId', 'algorithm', 'protectionLevel', 'createdAt', 'issuedAt', 'attestationKeyFingerprint']) {
    if (typeof s[field] !== 'string') return `statement field ${field} is missing or not a string`;
  }
  if (!Number.isInteger(s['version'])) return 'statement field version is missing or not a whole number';
  for (const field of ['publicKeySpkiBase64', 'keyFingerprint']) {
    if (s[field] !== undefined && typeof s[field] !== 'string') return `statement field ${field} is not a string`;
  }
  if (s['imported'] !== undefined && s['imported'] !== true) return 'statement field imported is present but not true';
  const origin = s['origin'];
  if (!isObject(origin)) return 'statement field origin is missing';
  const attributes = origin['attributes'];
  if (!isObject(attributes)) return 'statement field origin.attributes is missing';
  for (const field of ['local', 'neverExtractable', 'sensitive', 'extractable']) {
    if (typeof attributes[field] !== 'boolean') return `statement field origin.attributes.${field} is missing or not a boolean`;
  }
  const module = origin['module'];
  if (!isObject(module)) return 'statement field origin.module is missing';
  for (const field of ['manufacturer', 'model', 'serialNumber', 'firmwareVersion', 'hardwareVersion', 'tokenLabel', 'libraryDescription']) {
    if (typeof module[field] !== 'string') return `statement field origin.module.${field} is missing or not a string`;
  }
  for (const field of ['objectLabel', 'objectId']) {
    if (typeof origin[field] !== 'string') return `statement field origin.${field} is missing or not a string`;
  }
  if (origin['madeForEscrow'] !== undefined && origin['madeForEscrow'] !== true) return 'statement field origin.madeForEscrow is present but not true';
  return undefined;
}

function attestationKey(pem: string): KeyObject | string {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    return 'the attestation public key is not a PEM public key';
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    return 'the attestation public key is not an ECDSA P-256 key';
  }
  return key;
}

/**
 * Verify a signed statement offline with only the attestation public key. The statement is parsed
 * and re-canonicalised, so whitespace and key order in the file do not matter but any changed value
 * does. Also checks that the statement names this attestation key and that its public key matches
 * its fingerprint.
 */
export function verifySignedStatement(statementJson: unknown, signatureBase64: string, attestationPublicKeyPem: string): StatementVerification {
  let parsed: unknown = statementJson;
  if (typeof statementJson === 'string') {
    try {
      parsed = JSON.parse(statementJson);
    } catch {
      return { valid: false, reason: 'the statement is not valid JSON' };
    }
  }
  const problem = shapeProblem(parsed);
  if (problem !== undefined) return { valid: false, reason: problem };
  const statement = parsed as KeyOriginStatement;

  const key = attestationKey(attestationPublicKeyPem);
  if (typeof key === 'string') return { valid: false, reason: key };
  const keyFingerprint = sha256Hex(key.export({ format: 'der', type: 'spki' }));
  if (statement.attestationKeyFingerprint !== keyFingerprint) {
    return {
      valid: false,
      reason: `the statement names attestation key ${statement.attestationKeyFingerprint}, but the given public key is ${keyFingerprint}`,
    };
  }

  if (typeof signatureBase64 !== 'string' || signatureBase64 === '' || !STRICT_BASE64.test(signatureBase64)) {
    return { valid: false, reason: 'the signature is not base64' };
  }
  let signatureOk: boolean;
  try {
    signatureOk = verify('sha256', canonicalJsonBytes(statement), { key, dsaEncoding: 'der' }, Buffer.from(signatureBase64, 'base64'));
  } catch {
    // A value canonical JSON cannot encode, or a signature OpenSSL cannot parse: either way, not valid.
    signatureOk = false;
  }
  if (!signatureOk) return { valid: false, reason: 'the signature does not match the statement: it was altered or signed by another key' };

  if (statement.publicKeySpkiBase64 !== undefined && statement.keyFingerprint !== undefined) {
    if (!STRICT_BASE64.test(statement.publicKeySpkiBase64)) return { valid: false, reason: 'statement field publicKeySpkiBase64 is not base64' };
    if (sha256Hex(Buffer.from(statement.publicKeySpkiBase64, 'base64')) !== statement.keyFingerprint) {
      return { valid: false, reason: 'the public key in the statement does not match its keyFingerprint' };
    }
  }
  return { valid: true, statement };
}

/** True when the statement says imported and the attributes show material held only by the module since (sensitive, not extractable). */
export function provesHsmCustodyOfImport(s: KeyOriginStatement): boolean {
  const a = s.origin.attributes;
  return s.imported === true && !a.local && a.sensitive && !a.extractable;
}

/**
 * True when the statement is of a break-glass version made for escrow (module RNG, C_CreateObject,
 * split into shares at its sealing ceremony) and the module holds it sensitive and not extractable.
 */
export function provesHsmCustodyOfEscrowedKey(s: KeyOriginStatement): boolean {
  const a = s.origin.attributes;
  return s.origin.madeForEscrow === true && s.imported !== true && !a.local && a.sensitive && !a.extractable;
}

/** True when the attributes show a key generated on the module that never left it. */
export function provesHsmOrigin(origin: KeyOriginEvidence): boolean {
  const a = origin.attributes;
  return a.local && a.neverExtractable && a.sensitive && !a.extractable;
}

/** A key version as the key record (folded from the events) holds it: what a statement must agree with. */
export interface RecordedKeyVersion {
  keyId: string;
  version: unknown;
  algorithm?: unknown;
  protectionLevel?: unknown;
  createdAt?: unknown;
  publicKeyFingerprint?: unknown;
  /** The HsmKeyOrigin recorded when the version was created. */
  origin?: unknown;
  /** True when the version was imported (BYOK). */
  imported?: unknown;
}

/**
 * The first field in which a (validly signed) statement disagrees with the recorded version, or
 * undefined when it agrees on all of them: key, version, algorithm, protection level, creation time,
 * public key fingerprint and the whole origin (module, object label and id, attributes, check value).
 * A signature alone proves who issued the statement; this proves it is about this version.
 */
export function statementDisagreement(s: KeyOriginStatement, v: RecordedKeyVersion): string | undefined {
  if (s.keyId !== v.keyId) return `keyId: the statement is about key ${s.keyId}`;
  if (s.version !== v.version) return `version: the statement is about version ${s.version}, not ${String(v.version)}`;
  if (s.algorithm !== v.algorithm) return `algorithm: ${s.algorithm} in the statement, ${String(v.algorithm)} in the key record`;
  if (s.protectionLevel !== v.protectionLevel) return `protectionLevel: ${s.protectionLevel} in the statement, ${String(v.protectionLevel)} in the key record`;
  if (typeof v.createdAt !== 'string' || Date.parse(s.createdAt) !== Date.parse(v.createdAt)) {
    return `createdAt: ${s.createdAt} in the statement, ${String(v.createdAt)} in the key record`;
  }
  if ((s.keyFingerprint ?? null) !== (v.publicKeyFingerprint ?? null)) return 'keyFingerprint: differs from the key record';
  if ((s.imported === true) !== (v.imported === true)) return `imported: the statement says ${s.imported === true ? 'imported' : 'generated'}, the key record ${v.imported === true ? 'imported' : 'generated'}`;
  if (v.origin === undefined || canonicalJson(s.origin) !== canonicalJson(v.origin)) return 'origin: the module, object or attributes differ from those recorded when the version was created';
  return undefined;
}
