import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { canonicalJson, provesHsmOrigin, statementDisagreement, verifySignedStatement } from '@kms/evidence';
import { foldKey, KEY_EVENT_TYPES, type KeyEvent, keyStreamId } from '@kms/domain';
import { verifyCheckpointNote, type Checkpoint } from './checkpoint-note';
import { type AuditLeafRecord, type EventLeafRecord, type LeafRecord, recordLeafHash } from './leaf-record';
import { verifyInclusion } from './merkle-tree';
import { BUNDLE_FILES, type BundleManifest, type BundleProofs, EVIDENCE_BUNDLE_FORMAT, type RecordProof, sha256Hex } from './evidence-bundle';

/** One finding of the verifier: a passed check, or a failure naming the file at fault. */
export interface BundleFinding {
  ok: boolean;
  file: string;
  message: string;
}

export interface BundleVerification {
  ok: boolean;
  findings: BundleFinding[];
  /** Files with at least one failure, in the order found. */
  failedFiles: string[];
}

type Json = Record<string, unknown>;

class Findings {
  readonly list: BundleFinding[] = [];
  pass(file: string, message: string): void {
    this.list.push({ ok: true, file, message });
  }
  fail(file: string, message: string): false {
    this.list.push({ ok: false, file, message });
    return false;
  }
  result(): BundleVerification {
    const failed = [...new Set(this.list.filter((f) => !f.ok).map((f) => f.file))];
    return { ok: failed.length === 0, findings: this.list, failedFiles: failed };
  }
}

function parseJson(files: Map<string, Buffer>, path: string, f: Findings): unknown {
  const bytes = files.get(path);
  if (!bytes) {
    f.fail(path, 'missing');
    return undefined;
  }
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    f.fail(path, 'is not valid JSON');
    return undefined;
  }
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkManifest(files: Map<string, Buffer>, key: KeyObject, f: Findings): BundleManifest | undefined {
  const bytes = files.get(BUNDLE_FILES.manifest);
  const sig = files.get(BUNDLE_FILES.manifestSignature);
  if (!bytes) return void f.fail(BUNDLE_FILES.manifest, 'missing');
  if (!sig) return void f.fail(BUNDLE_FILES.manifestSignature, 'missing');
  let signed = false;
  try {
    signed = verify('sha256', bytes, { key, dsaEncoding: 'der' }, Buffer.from(sig.toString('utf8').trim(), 'base64'));
  } catch {
    signed = false;
  }
  if (!signed) return void f.fail(BUNDLE_FILES.manifest, 'the manifest signature (manifest.sig) does not verify with the attestation public key');
  f.pass(BUNDLE_FILES.manifest, 'signed by the attestation key');
  const manifest = parseJson(files, BUNDLE_FILES.manifest, f);
  if (!isObject(manifest) || manifest['format'] !== EVIDENCE_BUNDLE_FORMAT || !Array.isArray(manifest['files'])) {
    return void f.fail(BUNDLE_FILES.manifest, `is not a ${EVIDENCE_BUNDLE_FORMAT} manifest`);
  }
  const m = manifest as unknown as BundleManifest;
  const fingerprint = sha256Hex(key.export({ format: 'der', type: 'spki' }));
  if (m.attestationKeyFingerprint !== fingerprint) f.fail(BUNDLE_FILES.manifest, `names attestation key ${m.attestationKeyFingerprint}, the given key is ${fingerprint}`);
  const listed = new Set<string>();
  for (const entry of m.files) {
    listed.add(entry.path);
    const content = files.get(entry.path);
    if (!content) f.fail(entry.path, 'listed in the manifest but missing from the bundle');
    else if (sha256Hex(content) !== entry.sha256 || content.length !== entry.bytes) f.fail(entry.path, 'SHA-256 does not match the manifest: the file was altered');
    else f.pass(entry.path, `SHA-256 ${entry.sha256.slice(0, 16)}… matches the manifest`);
  }
  for (const path of files.keys()) {
    if (path !== BUNDLE_FILES.manifest && path !== BUNDLE_FILES.manifestSignature && !listed.has(path)) f.fail(path, 'not listed in the manifest');
  }
  return m;
}

function checkCheckpoint(files: Map<string, Buffer>, path: string, origin: string, pem: string, f: Findings): Checkpoint | undefined {
  const note = files.get(path);
  if (!note) return void f.fail(path, 'missing');
  const v = verifyCheckpointNote(note.toString('utf8'), pem, origin);
  if (!v.valid) return void f.fail(path, v.reason);
  f.pass(path, `signed checkpoint of ${origin}: tree size ${v.checkpoint.treeSize}, time ${v.checkpoint.time}`);
  return v.checkpoint;
}

function checkInclusions(
  records: LeafRecord[],
  recordFile: string,
  proofs: RecordProof[],
  checkpoint: Checkpoint | undefined,
  f: Findings,
): void {
  if (!checkpoint) return;
  const byId = new Map(proofs.map((p) => [p.recordId, p]));
  let verified = 0;
  for (const r of records) {
    const id = r.kind === 'event' ? r.eventId : r.id;
    const p = byId.get(id);
    if (!p) {
      f.fail(BUNDLE_FILES.proofs, `no inclusion proof for ${r.kind} ${id}`);
      continue;
    }
    if (p.treeSize !== checkpoint.treeSize) {
      f.fail(BUNDLE_FILES.proofs, `proof for ${id} is against tree size ${p.treeSize}, the checkpoint has ${checkpoint.treeSize}`);
      continue;
    }
    let ok = false;
    try {
      ok = verifyInclusion(recordLeafHash(r), p.leafIndex, p.treeSize, p.path.map((h) => Buffer.from(h, 'hex')), checkpoint.rootHash);
    } catch {
      ok = false;
    }
    if (!ok) f.fail(recordFile, `${r.kind} ${id} is not included in the signed checkpoint at leaf ${p.leafIndex} (record or proof altered)`);
    else verified++;
  }
  if (verified === records.length) f.pass(recordFile, `${verified} record(s) proven included in the signed ledger`);
}

function checkKeyRecord(files: Map<string, Buffer>, events: EventLeafRecord[], keyId: string, f: Findings): unknown {
  const record = parseJson(files, BUNDLE_FILES.keyRecord, f);
  if (record === undefined) return undefined;
  const stream = keyStreamId(keyId);
  const keyEvents = events
    .filter((e) => e.streamId === stream && (KEY_EVENT_TYPES as readonly string[]).includes(e.type))
    .sort((a, b) => a.streamVersion - b.streamVersion);
  for (let i = 0; i < keyEvents.length; i++) {
    if (keyEvents[i].streamVersion !== i) return f.fail(BUNDLE_FILES.events, `key stream is not complete: version ${i} is missing`);
  }
  let folded: unknown;
  try {
    const state = foldKey(keyEvents.map((e) => ({ type: e.type, data: e.data, metadata: e.metadata }) as unknown as KeyEvent));
    folded = state.status === 'NotCreated' ? undefined : state.key;
  } catch (e) {
    return f.fail(BUNDLE_FILES.events, `the key events do not fold: ${(e as Error).message}`);
  }
  if (folded === undefined) return f.fail(BUNDLE_FILES.events, 'holds no KeyCreated event for the key');
  if (canonicalJson(folded) !== canonicalJson(record)) return f.fail(BUNDLE_FILES.keyRecord, 'differs from the record the events reproduce');
  f.pass(BUNDLE_FILES.keyRecord, `reproduced exactly by folding ${keyEvents.length} key event(s)`);
  return record;
}

function checkOriginStatements(files: Map<string, Buffer>, keyId: string, keyRecord: unknown, pem: string, f: Findings): void {
  const versions = isObject(keyRecord) && Array.isArray(keyRecord['versions']) ? (keyRecord['versions'] as Json[]) : [];
  for (const v of versions) {
    const path = `origin-statements/v${String(v['version'])}.json`;
    const hsm = isObject(v['origin']);
    const file = files.get(path);
    if (!file) {
      if (hsm) f.fail(path, `missing: version ${String(v['version'])} is an HSM version and needs its origin statement`);
      continue;
    }
    const signed = parseJson(files, path, f);
    if (!isObject(signed)) continue;
    const result = verifySignedStatement(signed['statement'], String(signed['signature']), pem);
    if (!result.valid) {
      f.fail(path, result.reason);
      continue;
    }
    const s = result.statement;
    const disagreement = statementDisagreement(s, { ...v, version: v['version'], keyId });
    if (disagreement !== undefined) f.fail(path, `does not match version ${String(v['version'])} of the key record: ${disagreement}`);
    else if (!provesHsmOrigin(s.origin)) f.fail(path, 'the attributes do not prove generation on the HSM (local, never extractable, sensitive)');
    else f.pass(path, `signed origin statement: generated on ${s.origin.module.manufacturer} ${s.origin.module.model} serial ${s.origin.module.serialNumber}`);
  }
}

/**
 * Verify an evidence bundle offline with only the attestation public key: manifest signature and
 * hashes, signed checkpoints, inclusion of every record, origin statements, and that the events
 * reproduce the canonical key record.
 */
export function verifyEvidenceBundle(files: Map<string, Buffer>, attestationPublicKeyPem: string): BundleVerification {
  const f = new Findings();
  let key: KeyObject;
  try {
    key = createPublicKey(attestationPublicKeyPem);
  } catch {
    f.fail('attestation public key', 'is not a PEM public key');
    return f.result();
  }
  const manifest = checkManifest(files, key, f);
  if (!manifest) return f.result();
  const eventsCp = checkCheckpoint(files, BUNDLE_FILES.eventsCheckpoint, `${manifest.origin}/events`, attestationPublicKeyPem, f);
  const auditCp = checkCheckpoint(files, BUNDLE_FILES.auditCheckpoint, `${manifest.origin}/audit`, attestationPublicKeyPem, f);
  const events = parseJson(files, BUNDLE_FILES.events, f);
  const audit = parseJson(files, BUNDLE_FILES.auditRecords, f);
  const proofs = parseJson(files, BUNDLE_FILES.proofs, f);
  if (!Array.isArray(events) || !Array.isArray(audit) || !isObject(proofs) || !Array.isArray(proofs['events']) || !Array.isArray(proofs['audit'])) {
    f.fail(BUNDLE_FILES.proofs, 'events, audit records or proofs do not have the documented shape');
    return f.result();
  }
  const p = proofs as unknown as BundleProofs;
  checkInclusions(events as EventLeafRecord[], BUNDLE_FILES.events, p.events, eventsCp, f);
  checkInclusions(audit as AuditLeafRecord[], BUNDLE_FILES.auditRecords, p.audit, auditCp, f);
  const from = Date.parse(manifest.window.from);
  const to = Date.parse(manifest.window.to);
  const outside = (audit as AuditLeafRecord[]).filter((r) => r.keyId !== manifest.keyId || Date.parse(r.time) < from || Date.parse(r.time) >= to);
  if (outside.length > 0) f.fail(BUNDLE_FILES.auditRecords, `${outside.length} record(s) are about another key or outside the window`);
  const keyRecord = checkKeyRecord(files, events as EventLeafRecord[], manifest.keyId, f);
  checkOriginStatements(files, manifest.keyId, keyRecord, attestationPublicKeyPem, f);
  return f.result();
}

/** A readable report: one line per finding, then the verdict. */
export function formatBundleReport(v: BundleVerification): string {
  const lines = v.findings.map((x) => `${x.ok ? 'OK  ' : 'FAIL'} ${x.file}: ${x.message}`);
  lines.push(v.ok ? 'VERIFIED: every check passed' : `NOT VERIFIED: failing file(s): ${v.failedFiles.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

/** SHA-256 hex of text, for reports. */
export function digestOf(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
