import { createHash } from 'node:crypto';
import type { AuditLeafRecord, EventLeafRecord, LedgerLog } from './leaf-record';

/** Version tag of the bundle format documented in docs/audit-and-evidence.md. */
export const EVIDENCE_BUNDLE_FORMAT = 'kms.evidence-bundle.v1';

/** File names inside a bundle. */
export const BUNDLE_FILES = {
  manifest: 'manifest.json',
  manifestSignature: 'manifest.sig',
  keyRecord: 'key-record.json',
  events: 'events.json',
  auditRecords: 'audit-records.json',
  approvals: 'approvals.json',
  proofs: 'proofs.json',
  eventsCheckpoint: 'checkpoints/events.checkpoint',
  auditCheckpoint: 'checkpoints/audit.checkpoint',
  attestationKey: 'attestation-key.pem',
} as const;

/** Origin statements live at origin-statements/v<version>.json. */
export function originStatementPath(version: number): string {
  return `origin-statements/v${version}.json`;
}

export interface ManifestEntry {
  path: string;
  /** Hex SHA-256 of the file's bytes. */
  sha256: string;
  bytes: number;
}

/** manifest.json: what the bundle holds; manifest.sig is the attestation key's signature over its exact bytes. */
export interface BundleManifest {
  format: typeof EVIDENCE_BUNDLE_FORMAT;
  keyId: string;
  generatedAt: string;
  /** Audit records included are those with time in [from, to). */
  window: { from: string; to: string };
  /** Ledger origin prefix: the logs are `${origin}/events` and `${origin}/audit`. */
  origin: string;
  attestationKeyFingerprint: string;
  files: ManifestEntry[];
}

/** One inclusion proof in proofs.json, against the tree size of the bundled checkpoint of its log. */
export interface RecordProof {
  log: LedgerLog;
  /** eventId for events, id for audit records. */
  recordId: string;
  leafIndex: number;
  treeSize: number;
  /** Hex hashes, RFC 9162 order. */
  path: string[];
}

export interface BundleProofs {
  events: RecordProof[];
  audit: RecordProof[];
}

/** The content files (everything but the manifest and its signature) of a bundle being built. */
export interface BundleContent {
  keyRecord: unknown;
  events: EventLeafRecord[];
  auditRecords: AuditLeafRecord[];
  approvals: unknown[];
  proofs: BundleProofs;
  eventsCheckpoint: string;
  auditCheckpoint: string;
  attestationKeyPem: string;
  originStatements: Array<{ version: number; signed: unknown }>;
}

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Pretty JSON is fine for content files: integrity comes from the manifest hashes, not canonical form. */
export function jsonFile(value: unknown): Buffer {
  return Buffer.from(`${JSON.stringify(value, null, 2)}\n`, 'utf8');
}
