import { createPublicKey } from 'node:crypto';
import { sameDigest, sha256Hex, verifyAttestation, verifyCanonicalEd25519 } from './escrow-crypto';
import {
  DESTRUCTION_DECLARATION_TYPE,
  RECONSTRUCTION_TRANSCRIPT_TYPE,
  SEALING_TRANSCRIPT_TYPE,
  type SignedDestructionDeclaration,
  type SignedReconstructionTranscript,
  type SignedSealingTranscript,
} from './escrow-documents';

/** Where each escrow document lives in an evidence bundle. */
export const ESCROW_ATTESTATION_KEY_FILE = 'escrow/attestation-key.pem';
export function sealingTranscriptFile(ceremonyId: string): string {
  return `escrow/${ceremonyId}/sealing-transcript.json`;
}
export function declarationFile(ceremonyId: string, custodianId: string): string {
  return `escrow/${ceremonyId}/declarations/${custodianId}.json`;
}
export function reconstructionFile(ceremonyId: string, reconstructionId: string): string {
  return `escrow/${ceremonyId}/reconstructions/${reconstructionId}.json`;
}

/** One thing wrong with the escrow evidence, and the file it is in. */
export interface EscrowProblem {
  file: string;
  problem: string;
}

export interface EscrowVerification {
  valid: boolean;
  problems: EscrowProblem[];
  ceremonies: number;
  declarations: number;
  reconstructions: number;
}

function parse<T>(file: string, bytes: Buffer, problems: EscrowProblem[]): T | undefined {
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch {
    problems.push({ file, problem: 'is not JSON' });
    return undefined;
  }
}

/**
 * Verify every escrow document of an evidence bundle offline: the attestation signature and each
 * participant's counter-signature on sealing transcripts, each custodian's signature on their
 * destruction declaration, the attestation signature on reconstruction transcripts, and that
 * package fingerprints and key fingerprints agree across sealing, destruction and reconstruction.
 * Every problem names its file.
 */
export function verifyEscrowEvidence(files: ReadonlyMap<string, Buffer>): EscrowVerification {
  const problems: EscrowProblem[] = [];
  const result = (counts: Omit<EscrowVerification, 'valid' | 'problems'>): EscrowVerification => ({ valid: problems.length === 0, problems, ...counts });
  const pem = files.get(ESCROW_ATTESTATION_KEY_FILE);
  let attestationPem = '';
  try {
    attestationPem = pem ? createPublicKey(pem.toString('utf8')).export({ format: 'pem', type: 'spki' }).toString() : '';
  } catch {
    problems.push({ file: ESCROW_ATTESTATION_KEY_FILE, problem: 'is not a PEM public key' });
  }
  if (!pem) problems.push({ file: ESCROW_ATTESTATION_KEY_FILE, problem: 'is missing' });
  const attestationFingerprint = attestationPem ? sha256Hex(createPublicKey(attestationPem).export({ format: 'der', type: 'spki' })) : '';

  const sealings = new Map<string, SignedSealingTranscript>();
  for (const [file, bytes] of files) {
    const m = /^escrow\/([^/]+)\/sealing-transcript\.json$/.exec(file);
    if (!m) continue;
    try {
      checkSealing(file, m[1], bytes);
    } catch {
      problems.push({ file, problem: 'does not have the shape of a signed sealing transcript' });
    }
  }
  function checkSealing(file: string, ceremonyId: string, bytes: Buffer): void {
    const signed = parse<SignedSealingTranscript>(file, bytes, problems);
    if (!signed) return;
    const t = signed.transcript;
    if (t?.type !== SEALING_TRANSCRIPT_TYPE) problems.push({ file, problem: `type is not ${SEALING_TRANSCRIPT_TYPE}` });
    if (t?.ceremonyId !== ceremonyId) problems.push({ file, problem: 'ceremonyId does not match the file name' });
    if (!verifyAttestation(t, signed.attestationSignature, attestationPem)) problems.push({ file, problem: 'attestation signature does not verify' });
    if (t?.attestationKeyFingerprint !== attestationFingerprint) problems.push({ file, problem: 'names another attestation key' });
    for (const p of t?.participants ?? []) {
      const sig = signed.counterSignatures?.[p.custodianId];
      if (!sig) problems.push({ file, problem: `counter-signature of ${p.custodianId} is missing` });
      else if (!verifyCanonicalEd25519(t, sig, p.signingPublicKey)) problems.push({ file, problem: `counter-signature of ${p.custodianId} does not verify` });
    }
    if (!(t?.threshold >= 2 && t.shareCount >= t.threshold && t.participants?.length === t.shareCount)) {
      problems.push({ file, problem: 'threshold and share count are not k >= 2, n >= k with one participant per share' });
    }
    sealings.set(ceremonyId, signed);
  }

  let declarations = 0;
  let reconstructions = 0;
  for (const [file, bytes] of files) {
    try {
      checkOther(file, bytes);
    } catch {
      problems.push({ file, problem: 'does not have the shape of an escrow document' });
    }
  }
  function checkOther(file: string, bytes: Buffer): void {
    const d = /^escrow\/([^/]+)\/declarations\/([^/]+)\.json$/.exec(file);
    if (d) {
      declarations++;
      const signed = parse<SignedDestructionDeclaration>(file, bytes, problems);
      const sealing = sealings.get(d[1]);
      if (!signed) return;
      if (!sealing) {
        problems.push({ file, problem: `no sealing transcript for ceremony ${d[1]}` });
        return;
      }
      const decl = signed.declaration;
      const participant = sealing.transcript.participants.find((p) => p.custodianId === d[2]);
      if (decl?.type !== DESTRUCTION_DECLARATION_TYPE) problems.push({ file, problem: `type is not ${DESTRUCTION_DECLARATION_TYPE}` });
      if (!participant) {
        problems.push({ file, problem: `${d[2]} is not a participant of the ceremony` });
        return;
      }
      if (decl?.custodianId !== d[2] || decl.ceremonyId !== d[1]) problems.push({ file, problem: 'custodian or ceremony does not match the file name' });
      if (decl?.keyId !== sealing.transcript.keyId || decl.version !== sealing.transcript.version) problems.push({ file, problem: 'key or version differs from the sealing transcript' });
      if (!sameDigest(decl?.packageFingerprint, participant.packageFingerprint)) problems.push({ file, problem: 'package fingerprint differs from the sealing transcript' });
      if (!verifyCanonicalEd25519(decl, signed.signature, participant.signingPublicKey)) problems.push({ file, problem: "custodian's signature does not verify" });
      return;
    }
    const r = /^escrow\/([^/]+)\/reconstructions\/([^/]+)\.json$/.exec(file);
    if (!r) return;
    reconstructions++;
    const signed = parse<SignedReconstructionTranscript>(file, bytes, problems);
    const sealing = sealings.get(r[1]);
    if (!signed) return;
    if (!sealing) {
      problems.push({ file, problem: `no sealing transcript for ceremony ${r[1]}` });
      return;
    }
    const t = signed.transcript;
    if (t?.type !== RECONSTRUCTION_TRANSCRIPT_TYPE) problems.push({ file, problem: `type is not ${RECONSTRUCTION_TRANSCRIPT_TYPE}` });
    if (t?.reconstructionId !== r[2] || t.ceremonyId !== r[1]) problems.push({ file, problem: 'reconstruction or ceremony does not match the file name' });
    if (!verifyAttestation(t, signed.attestationSignature, attestationPem)) problems.push({ file, problem: 'attestation signature does not verify' });
    if (!t?.verified || !sameDigest(t.keyFingerprint, sealing.transcript.keyFingerprint)) problems.push({ file, problem: 'recombined key fingerprint differs from the sealing transcript' });
    if ((t?.accepted?.length ?? 0) < sealing.transcript.threshold) problems.push({ file, problem: 'fewer accepted shares than the threshold' });
    for (const a of t?.accepted ?? []) {
      const p = sealing.transcript.participants.find((x) => x.custodianId === a.custodianId && x.shareIndex === a.shareIndex);
      if (!p || !sameDigest(a.packageFingerprint, p.packageFingerprint)) problems.push({ file, problem: `share of ${a.custodianId} names a package not in the sealing transcript` });
    }
  }
  return result({ ceremonies: sealings.size, declarations, reconstructions });
}
