import { canonicalJson } from '@kms/evidence';
import { type AuditLeafRecord, leafData, leafHash, verifyCheckpointNote, verifyInclusion } from '@kms/ledger';
import { createHash } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { LedgerStore } from '../ledger/ledger-store';
import { AuditLogEntity } from '../read-model/audit-log.entity';

/** OCSF schema version the lines follow (API Activity, class 6003). */
export const OCSF_VERSION = '1.1.0';
/** Most records one export holds: a longer window is refused, naming `to`. */
export const MAX_EXPORT_RECORDS = 100_000;

/** Where an export window is wrong: the query parameter at fault. */
export class ExportWindowError extends Error {
  override readonly name = 'ExportWindowError';
  constructor(
    readonly field: 'from' | 'to' | 'format',
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** What proves an extract complete and unchanged. */
export interface OcsfExportManifest {
  format: 'ocsf-jsonl';
  ocsfVersion: string;
  window: { from: string; to: string };
  count: number;
  /** Hex SHA-256 of the extract's bytes (the JSON lines, each ending in \n). */
  sha256: string;
  /** Leaves of the audit log the extract holds: every index from first to last, none missing. */
  leaves: { first: number; last: number } | null;
  /** The signed checkpoint (C2SP note) of the audit log that covers the last leaf. */
  checkpoint: string | null;
  /** Inclusion proofs of the first and last leaves under that checkpoint. */
  proofs: { leafIndex: number; treeSize: number; path: string[] }[];
  /** The leaves just outside: their times fall outside the window (null at either end of the log). */
  boundary: { before: { leafIndex: number; time: string } | null; after: { leafIndex: number; time: string } | null };
}

/** The normalised ledger leaf of a projected audit row (the same record the ledger hashed). */
export function auditLeafOfRow(r: AuditLogEntity): AuditLeafRecord {
  return {
    kind: 'audit',
    position: String(r.position),
    id: r.id,
    time: r.time.toISOString(),
    requestId: r.requestId,
    operation: r.operation,
    keyId: r.keyId,
    keyVersion: r.keyVersion,
    actor: r.actor,
    actorRole: r.role,
    outcome: r.outcome,
    errorCode: r.errorCode,
    sourceAddress: r.sourceAddress,
    details: (r.details as AuditLeafRecord['details']) ?? null,
  };
}

/** OCSF API Activity activity_id from the operation's verb. */
function activityOf(operation: string): { id: number; name: string } {
  if (/^(Create|Register|Generate|Issue|Import)/.test(operation)) return { id: 1, name: 'Create' };
  if (/^(Get|List|Read|Export|Verify)/.test(operation)) return { id: 2, name: 'Read' };
  if (/^(Destroy|Remove|Delete)/.test(operation)) return { id: 4, name: 'Delete' };
  if (/^(Rotate|Update|Set|Enable|Disable|ReEnable|Suspend|Change|Approve|Reject|Schedule|Cancel|Report|Confirm)/.test(operation)) return { id: 3, name: 'Update' };
  return { id: 99, name: 'Other' };
}

/** One audit record as an OCSF API Activity event; the ledger leaf travels in `unmapped` so a verifier can rehash it. */
export function ocsfEventOf(record: AuditLeafRecord, leafIndex: number): Record<string, unknown> {
  const activity = activityOf(record.operation);
  const success = record.outcome === 'SUCCESS';
  return {
    class_uid: 6003,
    class_name: 'API Activity',
    category_uid: 6,
    category_name: 'Application Activity',
    activity_id: activity.id,
    activity_name: activity.name,
    type_uid: 6003 * 100 + activity.id,
    time: Date.parse(record.time),
    severity_id: record.outcome === 'DENIED' ? 3 : 1,
    status_id: success ? 1 : 2,
    status: success ? 'Success' : 'Failure',
    status_detail: record.outcome,
    ...(record.errorCode ? { status_code: record.errorCode } : {}),
    actor: { user: { uid: record.actor, ...(record.actorRole ? { type: record.actorRole } : {}) } },
    api: { operation: record.operation, request: { uid: record.requestId }, service: { name: 'kms' } },
    ...(record.sourceAddress ? { src_endpoint: { ip: record.sourceAddress } } : {}),
    resources: record.keyId ? [{ uid: record.keyId, type: 'kms_key', ...(record.keyVersion !== null ? { version: String(record.keyVersion) } : {}) }] : [],
    metadata: { uid: record.id, version: OCSF_VERSION, log_name: 'kms.audit', sequence: leafIndex, product: { name: 'Open KMS', vendor_name: 'Open KMS' } },
    unmapped: { kms_ledger_leaf_index: leafIndex, kms_ledger_leaf_hash: leafHash(leafData(record)).toString('hex'), kms_audit_record: record },
  };
}

function windowOf(fromRaw: unknown, toRaw: unknown): { from: Date; to: Date } {
  const parse = (v: unknown, field: 'from' | 'to') => {
    if (typeof v !== 'string' || Number.isNaN(Date.parse(v))) throw new ExportWindowError(field, 'must be an ISO-8601 time');
    return new Date(v);
  };
  const from = parse(fromRaw, 'from');
  const to = parse(toRaw, 'to');
  if (to <= from) throw new ExportWindowError('to', 'must be after from');
  return { from, to };
}

/**
 * The audit records of a window [from, to) as OCSF JSON lines, in ledger order, with a manifest:
 * the extract's SHA-256, the leaf range (contiguous), the signed audit checkpoint covering it and
 * inclusion proofs of its ends, and the neighbouring leaves' times (so nothing of the window was left out).
 */
export class OcsfAuditExport {
  constructor(
    private readonly dataSource: DataSource,
    private readonly ledger: LedgerStore,
  ) {}

  async export(query: { from?: unknown; to?: unknown; format?: unknown }): Promise<{ extract: Buffer; manifest: OcsfExportManifest }> {
    if (query.format !== undefined && query.format !== 'ocsf') throw new ExportWindowError('format', 'only "ocsf" is supported');
    const { from, to } = windowOf(query.from, query.to);
    const repo = this.dataSource.getRepository(AuditLogEntity);
    const rows = await repo
      .createQueryBuilder('a')
      .where('a.time >= :from AND a.time < :to', { from, to })
      .orderBy('a.leaf_index', 'ASC')
      .limit(MAX_EXPORT_RECORDS + 1)
      .getMany();
    if (rows.length > MAX_EXPORT_RECORDS) throw new ExportWindowError('to', `the window holds more than ${MAX_EXPORT_RECORDS} records; export a shorter one`);
    const lines = rows.map((r) => `${canonicalJson(ocsfEventOf(auditLeafOfRow(r), Number(r.leafIndex)))}\n`);
    const extract = Buffer.from(lines.join(''), 'utf8');
    const manifest: OcsfExportManifest = {
      format: 'ocsf-jsonl',
      ocsfVersion: OCSF_VERSION,
      window: { from: from.toISOString(), to: to.toISOString() },
      count: rows.length,
      sha256: createHash('sha256').update(extract).digest('hex'),
      leaves: null,
      checkpoint: null,
      proofs: [],
      boundary: { before: null, after: null },
    };
    if (rows.length === 0) return { extract, manifest };
    const first = Number(rows[0].leafIndex);
    const last = Number(rows[rows.length - 1].leafIndex);
    manifest.leaves = { first, last };
    const checkpoint = await this.ledger.checkpointIfGrown('audit');
    if (checkpoint.treeSize <= last) throw new Error('the audit ledger checkpoint does not cover the window yet');
    manifest.checkpoint = checkpoint.note;
    manifest.proofs = [];
    for (const i of [first, last]) {
      const { path } = await this.ledger.inclusionPath('audit', i, checkpoint.treeSize);
      manifest.proofs.push({ leafIndex: i, treeSize: checkpoint.treeSize, path: path.map((h) => h.toString('hex')) });
    }
    const neighbour = async (leafIndex: number) => {
      if (leafIndex < 0 || leafIndex >= checkpoint.treeSize) return null;
      const row = await repo.findOne({ where: { leafIndex: String(leafIndex) } });
      return row ? { leafIndex, time: row.time.toISOString() } : null;
    };
    manifest.boundary = { before: await neighbour(first - 1), after: await neighbour(last + 1) };
    return { extract, manifest };
  }
}

/**
 * Check an extract against its manifest, offline: the SHA-256, every line's leaf hash recomputed from
 * its record, contiguous leaf indexes from first to last, each time inside the window, the checkpoint's
 * signature (the ledger's attestation key) and the inclusion of the first and last leaves under it, and
 * the neighbours outside the window. Returns the problems found (none: verified).
 */
export function verifyOcsfExport(extract: Buffer, manifest: OcsfExportManifest, attestationPublicKeyPem: string): string[] {
  const problems: string[] = [];
  if (createHash('sha256').update(extract).digest('hex') !== manifest.sha256) problems.push('the extract\'s SHA-256 differs from the manifest');
  const text = extract.toString('utf8');
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  if (lines.length !== manifest.count) problems.push(`the extract has ${lines.length} lines, the manifest says ${manifest.count}`);
  const from = Date.parse(manifest.window.from);
  const to = Date.parse(manifest.window.to);
  const leafHashes: Buffer[] = [];
  lines.forEach((line, i) => {
    let event: { time: number; unmapped: { kms_ledger_leaf_index: number; kms_ledger_leaf_hash: string; kms_audit_record: AuditLeafRecord } };
    try {
      event = JSON.parse(line) as typeof event;
    } catch {
      problems.push(`line ${i + 1} is not JSON`);
      return;
    }
    const hash = leafHash(leafData(event.unmapped.kms_audit_record));
    leafHashes.push(hash);
    if (hash.toString('hex') !== event.unmapped.kms_ledger_leaf_hash) problems.push(`line ${i + 1}: its record does not hash to its leaf hash`);
    if (manifest.leaves && event.unmapped.kms_ledger_leaf_index !== manifest.leaves.first + i) problems.push(`line ${i + 1}: leaf ${event.unmapped.kms_ledger_leaf_index} where ${manifest.leaves.first + i} was expected (a record is missing or added)`);
    const t = Date.parse(event.unmapped.kms_audit_record.time);
    if (t < from || t >= to || event.time !== t) problems.push(`line ${i + 1}: time outside the window or not the record's`);
  });
  if (!manifest.leaves || !manifest.checkpoint) return lines.length === 0 ? problems : [...problems, 'no checkpoint covers the extract'];
  const note = verifyCheckpointNote(manifest.checkpoint, attestationPublicKeyPem);
  if (!note.valid) return [...problems, `checkpoint: ${note.reason}`];
  const ends = [leafHashes[0], leafHashes[leafHashes.length - 1]];
  manifest.proofs.forEach((p, i) => {
    const ok = p.treeSize === note.checkpoint.treeSize && verifyInclusion(ends[i], p.leafIndex, p.treeSize, p.path.map((h) => Buffer.from(h, 'hex')), note.checkpoint.rootHash);
    if (!ok) problems.push(`leaf ${p.leafIndex} is not included under the checkpoint`);
  });
  if (manifest.boundary.before && Date.parse(manifest.boundary.before.time) >= from) problems.push('the leaf before the extract is inside the window');
  if (manifest.boundary.after && Date.parse(manifest.boundary.after.time) < to) problems.push('the leaf after the extract is inside the window');
  return problems;
}
