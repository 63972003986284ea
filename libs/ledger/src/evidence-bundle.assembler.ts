import type { ArchiveFile } from './tar-archive';
import {
  BUNDLE_FILES,
  type BundleContent,
  type BundleManifest,
  EVIDENCE_BUNDLE_FORMAT,
  jsonFile,
  originStatementPath,
  sha256Hex,
} from './evidence-bundle';

export interface BundleHeader {
  keyId: string;
  generatedAt: string;
  window: { from: string; to: string };
  origin: string;
  attestationKeyFingerprint: string;
}

/** Lay out the bundle's files, hash each into the manifest and sign the manifest's bytes. */
export async function assembleEvidenceBundle(
  content: BundleContent,
  header: BundleHeader,
  signer: { sign(data: Buffer): Promise<Buffer> },
): Promise<ArchiveFile[]> {
  const files: ArchiveFile[] = [
    { path: BUNDLE_FILES.keyRecord, content: jsonFile(content.keyRecord) },
    { path: BUNDLE_FILES.events, content: jsonFile(content.events) },
    { path: BUNDLE_FILES.auditRecords, content: jsonFile(content.auditRecords) },
    { path: BUNDLE_FILES.approvals, content: jsonFile(content.approvals) },
    { path: BUNDLE_FILES.proofs, content: jsonFile(content.proofs) },
    { path: BUNDLE_FILES.eventsCheckpoint, content: Buffer.from(content.eventsCheckpoint, 'utf8') },
    { path: BUNDLE_FILES.auditCheckpoint, content: Buffer.from(content.auditCheckpoint, 'utf8') },
    { path: BUNDLE_FILES.attestationKey, content: Buffer.from(content.attestationKeyPem, 'utf8') },
    ...content.originStatements.map((s) => ({ path: originStatementPath(s.version), content: jsonFile(s.signed) })),
    ...(content.sealChain ? [{ path: BUNDLE_FILES.sealChain, content: jsonFile(content.sealChain) }] : []),
    ...[...(content.escrowFiles ?? new Map<string, Buffer>())].map(([path, bytes]) => ({ path, content: bytes })),
  ];
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const manifest: BundleManifest = {
    format: EVIDENCE_BUNDLE_FORMAT,
    ...header,
    files: files.map((f) => ({ path: f.path, sha256: sha256Hex(f.content), bytes: f.content.length })),
  };
  const manifestBytes = jsonFile(manifest);
  const signature = await signer.sign(manifestBytes);
  return [
    { path: BUNDLE_FILES.manifest, content: manifestBytes },
    { path: BUNDLE_FILES.manifestSignature, content: Buffer.from(`${signature.toString('base64')}\n`, 'utf8') },
    ...files,
  ];
}
