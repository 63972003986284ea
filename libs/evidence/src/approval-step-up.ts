import { createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';
import { decodeCredentialPublicKey } from '@simplewebauthn/server/helpers';

/** How a step-up challenge is derived from its binding (see stepUpChallenge). */
export const STEP_UP_SCHEME = 'kms-approval-step-up-v1';

/** What an approver's step-up signs: approval id, change ticket, decision, approver identity id and a random nonce. */
export interface StepUpBinding {
  approval_id: string;
  change_ticket: string;
  decision: 'approve';
  identity_id: string;
  nonce: string;
}

/** The step-up FIDO2 assertion kept with a granted approval (the `stepUp` of `ApprovalGranted`). All base64url. */
export interface StepUpAssertion {
  scheme: string;
  binding: StepUpBinding;
  credentialId: string;
  authenticatorData: string;
  clientDataJSON: string;
  signature: string;
  /** The credential's COSE public key. */
  publicKey: string;
  /** COSE algorithm of the key (-7 ES256, -257 RS256, -8 EdDSA). */
  algorithm: number;
  /** The WebAuthn relying-party id the server verified the assertion for (absent in approvals made before it was recorded). */
  rpId?: string;
}

/** The binding as signed: its fields in a fixed order, as JSON. */
export function canonicalStepUpBinding(b: StepUpBinding): string {
  return JSON.stringify({ approval_id: b.approval_id, change_ticket: b.change_ticket, decision: b.decision, identity_id: b.identity_id, nonce: b.nonce });
}

/** The WebAuthn challenge of a step-up (base64url): SHA-256 of the canonical binding, so the signature covers the decision. */
export function stepUpChallenge(b: StepUpBinding): string {
  return createHash('sha256').update(canonicalStepUpBinding(b)).digest('base64url');
}

/** COSE algorithms the KMS registers security keys with (@simplewebauthn's default: EdDSA, ES256, RS256). */
export const COSE_ALGORITHM_NAMES: Readonly<Record<number, string>> = { [-7]: 'ES256', [-257]: 'RS256', [-8]: 'EdDSA' };

/** A COSE_Key (WebAuthn credential public key) as a node:crypto key, with its algorithm. Throws, saying why, on any other key. */
export function coseToPublicKey(cose: Uint8Array): { key: KeyObject; algorithm: number } {
  let decoded: unknown;
  try {
    decoded = decodeCredentialPublicKey(new Uint8Array(cose));
  } catch (e) {
    throw new Error(`the public key is not a COSE key (${(e as Error).message})`);
  }
  if (!(decoded instanceof Map)) throw new Error('the public key is not a COSE key (not a CBOR map)');
  const map = decoded as Map<number, unknown>;
  const kty = map.get(1);
  const alg = map.get(3);
  const bytes = (label: number): string => {
    const v = map.get(label);
    if (!(v instanceof Uint8Array) || v.length === 0) throw new Error(`the COSE key lacks parameter ${label}`);
    return Buffer.from(v).toString('base64url');
  };
  if (kty === 2 && alg === -7) {
    if (map.get(-1) !== 1) throw new Error('an ES256 COSE key must be on P-256 (crv 1)');
    return { key: createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: bytes(-2), y: bytes(-3) }, format: 'jwk' }), algorithm: -7 };
  }
  if (kty === 3 && alg === -257) return { key: createPublicKey({ key: { kty: 'RSA', n: bytes(-1), e: bytes(-2) }, format: 'jwk' }), algorithm: -257 };
  if (kty === 1 && alg === -8) {
    if (map.get(-1) !== 6) throw new Error('an EdDSA COSE key must be Ed25519 (crv 6)');
    return { key: createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: bytes(-2) }, format: 'jwk' }), algorithm: -8 };
  }
  throw new Error(`unsupported COSE key (kty ${String(kty)}, alg ${String(alg)}): the KMS accepts ES256 (P-256), RS256 and EdDSA (Ed25519)`);
}

/** The COSE algorithm of a credential public key (what a stored step-up records). */
export function coseAlgorithmOf(cose: Uint8Array): number {
  return coseToPublicKey(cose).algorithm;
}

/** A WebAuthn signature (ES256: DER ECDSA; RS256: PKCS#1 v1.5; EdDSA: raw) over `data`. */
export function verifyWebAuthnSignature(key: KeyObject, algorithm: number, data: Buffer, signature: Buffer): boolean {
  try {
    if (algorithm === -8) return verify(null, data, key, signature);
    if (algorithm === -7) return verify('sha256', data, { key, dsaEncoding: 'der' }, signature);
    if (algorithm === -257) return verify('sha256', data, key, signature);
  } catch {
    return false;
  }
  return false;
}

const B64URL = /^[A-Za-z0-9_-]*$/;
const FLAG_UP = 0x01;
const FLAG_UV = 0x04;

/** What a step-up must be about: the approval record it is kept with. */
export interface StepUpExpectation {
  approvalId: string;
  changeTicket: string;
  approver: string;
}

/** The outcome of re-verifying a step-up offline: problems (empty when it verifies), notes worth reading, and what it showed. */
export interface StepUpCheck {
  problems: string[];
  notes: string[];
  algorithm?: string;
  rpId?: string;
  origin?: string;
}

function sha256(data: Buffer | string): Buffer {
  return createHash('sha256').update(data).digest();
}

/** The host of an origin and every parent domain of it: the relying-party ids a browser allows on that origin. */
function rpIdsOfOrigin(origin: string): string[] {
  let host: string;
  try {
    host = new URL(origin).hostname;
  } catch {
    return [];
  }
  const labels = host.split('.');
  return labels.map((_, i) => labels.slice(i).join('.')).filter((d) => d.length > 0);
}

/**
 * Re-verify an approval's step-up assertion with nothing but itself (docs/audit-and-evidence.md):
 * the binding names this approval, ticket and approver; the COSE key parses; the signature verifies
 * over authenticatorData ‖ SHA-256(clientDataJSON); clientDataJSON is a `webauthn.get` whose
 * challenge is the one recomputed from the binding; authenticatorData's rpIdHash is SHA-256 of the
 * recorded relying-party id and its user-present and user-verified flags are set.
 */
export function checkStepUpAssertion(value: unknown, expected: StepUpExpectation): StepUpCheck {
  const out: StepUpCheck = { problems: [], notes: [] };
  const problem = (m: string): StepUpCheck => (out.problems.push(m), out);
  if (typeof value !== 'object' || value === null) return problem('the step-up is not an object');
  const s = value as Partial<Record<keyof StepUpAssertion, unknown>>;
  for (const field of ['credentialId', 'authenticatorData', 'clientDataJSON', 'signature', 'publicKey'] as const) {
    const v = s[field];
    if (typeof v !== 'string' || v.length === 0 || !B64URL.test(v)) return problem(`${field} is not base64url`);
  }
  const b = s.binding as Partial<Record<keyof StepUpBinding, unknown>> | undefined;
  if (typeof b !== 'object' || b === null || !(['approval_id', 'change_ticket', 'decision', 'identity_id', 'nonce'] as const).every((k) => typeof b[k] === 'string')) {
    return problem('binding is not {approval_id, change_ticket, decision, identity_id, nonce}');
  }
  const binding = b as StepUpBinding;
  if (s.scheme !== STEP_UP_SCHEME) out.problems.push(`scheme is ${String(s.scheme)}, not ${STEP_UP_SCHEME}`);
  // The binding must be about this approval record.
  if (binding.approval_id !== expected.approvalId) out.problems.push(`binding names approval ${binding.approval_id}, not ${expected.approvalId}`);
  if (binding.change_ticket !== expected.changeTicket) out.problems.push(`binding names change ticket ${binding.change_ticket}, the approval ${expected.changeTicket}`);
  if (binding.identity_id !== expected.approver) out.problems.push(`binding names approver ${binding.identity_id}, the approval ${expected.approver}`);
  if (binding.decision !== 'approve') out.problems.push(`binding decision is ${binding.decision}, not approve`);

  const authData = Buffer.from(s.authenticatorData as string, 'base64url');
  const clientDataBytes = Buffer.from(s.clientDataJSON as string, 'base64url');
  // The key and the signature.
  let key: { key: KeyObject; algorithm: number } | undefined;
  try {
    key = coseToPublicKey(Buffer.from(s.publicKey as string, 'base64url'));
    out.algorithm = COSE_ALGORITHM_NAMES[key.algorithm];
  } catch (e) {
    out.problems.push((e as Error).message);
  }
  if (key) {
    if (s.algorithm !== key.algorithm) out.problems.push(`algorithm is ${String(s.algorithm)}, the COSE key's is ${key.algorithm}`);
    const signed = Buffer.concat([authData, sha256(clientDataBytes)]);
    if (!verifyWebAuthnSignature(key.key, key.algorithm, signed, Buffer.from(s.signature as string, 'base64url'))) {
      out.problems.push('the signature does not verify over authenticatorData ‖ SHA-256(clientDataJSON) with the public key');
    }
  }
  // What the browser said was signed.
  let clientData: Record<string, unknown> | undefined;
  try {
    const parsed = JSON.parse(clientDataBytes.toString('utf8')) as unknown;
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) clientData = parsed as Record<string, unknown>;
  } catch {
    clientData = undefined;
  }
  if (!clientData) {
    out.problems.push('clientDataJSON is not a JSON object');
  } else {
    if (clientData['type'] !== 'webauthn.get') out.problems.push(`clientDataJSON.type is ${String(clientData['type'])}, not webauthn.get`);
    if (clientData['challenge'] !== stepUpChallenge(binding)) out.problems.push('clientDataJSON.challenge is not the challenge recomputed from the binding (SHA-256 of approval id, change ticket, decision, approver, nonce)');
    if (typeof clientData['origin'] === 'string') out.origin = clientData['origin'];
  }
  // The authenticator's own data: which relying party, and that the person was verified.
  if (authData.length < 37) return problem(`authenticatorData is ${authData.length} bytes, less than the 37 of rpIdHash ‖ flags ‖ signCount`);
  const rpIdHash = authData.subarray(0, 32);
  const flags = authData[32] ?? 0;
  if (!(flags & FLAG_UV)) out.problems.push('the user-verified flag (UV) is not set in authenticatorData');
  if (!(flags & FLAG_UP)) out.problems.push('the user-present flag (UP) is not set in authenticatorData');
  if (typeof s.rpId === 'string') {
    out.rpId = s.rpId;
    if (!rpIdHash.equals(sha256(s.rpId))) out.problems.push(`authenticatorData's rpIdHash is not SHA-256 of the relying-party id ${s.rpId}`);
    if (out.origin !== undefined && !rpIdsOfOrigin(out.origin).includes(s.rpId)) out.problems.push(`clientDataJSON.origin ${out.origin} is not on the relying-party id ${s.rpId}`);
  } else if (s.rpId !== undefined) {
    out.problems.push('rpId is not a string');
  } else {
    // Approved before the relying-party id was recorded: the origin the browser reported names the candidates.
    const match = out.origin === undefined ? undefined : rpIdsOfOrigin(out.origin).find((d) => rpIdHash.equals(sha256(d)));
    if (match === undefined) out.problems.push('no relying-party id is recorded and the rpIdHash is not that of the origin\'s domain');
    else {
      out.rpId = match;
      out.notes.push(`no relying-party id recorded (approved before it was); the rpIdHash is that of ${match}, the domain of the reported origin ${String(out.origin)}`);
    }
  }
  return out;
}
