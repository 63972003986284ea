import { canonicalJson } from '../canonical-json';
import { declarationFile, ESCROW_ATTESTATION_KEY_FILE, reconstructionFile, sealingTranscriptFile } from './escrow-evidence.verifier';

/** An event of an escrow ceremony stream as the ledger holds it (type and data). */
export interface EscrowEventRecord {
  type: string;
  data: Record<string, unknown>;
}

/**
 * The escrow documents of a key's evidence bundle (docs/break-glass.md, "As an auditor"), rebuilt
 * from its ledgered escrow ceremony events in order: each sealing transcript with the attestation
 * signature and every counter-signature, each signed destruction declaration, each signed
 * reconstruction transcript, and the attestation public key that signed them. Canonical JSON, so
 * every byte is what was signed. Empty when the key was never sealed.
 */
export function escrowEvidenceFiles(events: readonly EscrowEventRecord[]): Map<string, Buffer> {
  const sealed = new Map<string, { transcript: unknown; attestationSignature: unknown; counterSignatures: Record<string, unknown> }>();
  const files = new Map<string, Buffer>();
  let attestationPem: string | undefined;
  for (const e of events) {
    const d = e.data;
    const ceremonyId = String(d['ceremonyId']);
    if (e.type === 'SealingTranscriptSigned') {
      sealed.set(ceremonyId, { transcript: d['transcript'], attestationSignature: d['attestationSignature'], counterSignatures: {} });
      if (typeof d['attestationPublicKeyPem'] === 'string') attestationPem = d['attestationPublicKeyPem'];
    } else if (e.type === 'SealingTranscriptCounterSigned') {
      const s = sealed.get(ceremonyId);
      if (s) s.counterSignatures[String(d['custodianId'])] = d['signature'];
    } else if (e.type === 'PackageDestructionDeclared') {
      files.set(declarationFile(ceremonyId, String(d['custodianId'])), Buffer.from(canonicalJson({ declaration: d['declaration'], signature: d['signature'] })));
    } else if (e.type === 'ReconstructionCompleted') {
      files.set(reconstructionFile(ceremonyId, String(d['reconstructionId'])), Buffer.from(canonicalJson({ transcript: d['transcript'], attestationSignature: d['attestationSignature'] })));
    }
  }
  for (const [ceremonyId, s] of sealed) files.set(sealingTranscriptFile(ceremonyId), Buffer.from(canonicalJson(s)));
  if (files.size > 0 && attestationPem) files.set(ESCROW_ATTESTATION_KEY_FILE, Buffer.from(attestationPem));
  return files;
}
