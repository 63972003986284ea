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
  sealChain: 'seals/events.json',
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

/** The `sealCheck` of an event whose seal the exporting KMS checked and found right. */
export const SEAL_CHECK_VALID = 'valid';

/**
 * One event of the key's stream as the source event store holds it, with the seal it carries
 * (null when it carries none) and the exporting KMS's check of that seal: 'valid', or the problem
 * (not sealed, forged MAC, edited, does not follow its predecessor, a version missing before it).
 */
export interface SealChainEntry {
  streamVersion: number;
  /** Decimal string (a bigint in the store). */
  globalPosition: string;
  id: string;
  type: string;
  prev: string | null;
  hash: string | null;
  sealCheck: string;
  /** 'stream' for a stream-scoped seal (EventStoreDB): its hash does not cover the global position. Absent: it does. */
  scope?: 'stream';
}

/** seals/events.json: the key's stream read from the source store as stored (forged rows included). */
export interface SealChainFile {
  streamId: string;
  /**
   * The events log's source position covered by the bundled checkpoint: every stored event at or
   * below it has been through the projector; a sealed event above it may simply not be projected yet.
   */
  ledgeredThrough: string;
  events: SealChainEntry[];
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
  /** The key's seal chain as stored; absent only when the source store does not seal. */
  sealChain?: SealChainFile;
  /** Break-glass keys: the escrow documents under `escrow/` (see escrowEvidenceFiles in @kms/evidence), byte for byte as signed. */
  escrowFiles?: ReadonlyMap<string, Buffer>;
}

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Pretty JSON is fine for content files: integrity comes from the manifest hashes, not canonical form. */
export function jsonFile(value: unknown): Buffer {
  return Buffer.from(`${JSON.stringify(value, null, 2)}\n`, 'utf8');
}
