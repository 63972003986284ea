import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { canonicalJson, checkStepUpAssertion, eventSealHash, provesHsmCustodyOfEscrowedKey, provesHsmCustodyOfImport, provesHsmOrigin, statementDisagreement, verifyEscrowEvidence, verifySignedStatement } from '@kms/evidence';
import { approvalStreamId, foldKey, KEY_EVENT_TYPES, keyStreamId, parseKeyEvent, personFactorsStreamId } from '@kms/domain';
import { verifyCheckpointNote, type Checkpoint } from './checkpoint-note';
import { type AuditLeafRecord, type EventLeafRecord, type LeafRecord, recordLeafHash } from './leaf-record';
import { verifyInclusion } from './merkle-tree';
import {
  BUNDLE_FILES,
  type BundleManifest,
  type BundleProofs,
  EVIDENCE_BUNDLE_FORMAT,
  type RecordProof,
  SEAL_CHECK_VALID,
  type SealChainEntry,
  type SealChainFile,
  sha256Hex,
} from './evidence-bundle';

/** One finding of the verifier: a passed check, or a failure naming the file at fault. */
export interface BundleFinding {
  ok: boolean;
  file: string;
  message: string;
  /** A passed check the auditor should still read (a bundle without seals, events not yet projected). */
  warning?: boolean;
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
  warn(file: string, message: string): void {
    this.list.push({ ok: true, file, message, warning: true });
  }
  failures(): number {
    return this.list.filter((x) => !x.ok).length;
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
    const state = foldKey(keyEvents.map((e) => parseKeyEvent(e)));
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
    else if (s.imported === true) {
      if (provesHsmCustodyOfImport(s)) f.pass(path, `signed origin statement: imported (brought by the customer) into ${s.origin.module.manufacturer} ${s.origin.module.model} serial ${s.origin.module.serialNumber}, sensitive and not extractable`);
      else f.fail(path, 'the attributes of the imported version do not show it sensitive and not extractable in the HSM');
    } else if (s.origin.madeForEscrow === true) {
      if (provesHsmCustodyOfEscrowedKey(s)) f.pass(path, `signed origin statement: made for break-glass escrow from the RNG of ${s.origin.module.manufacturer} ${s.origin.module.model} serial ${s.origin.module.serialNumber} (split into custodians' shares), held sensitive and not extractable`);
      else f.fail(path, 'the attributes of the escrowed version do not show it sensitive and not extractable in the HSM');
    } else if (!provesHsmOrigin(s.origin)) f.fail(path, 'the attributes do not prove generation on the HSM (local, never extractable, sensitive)');
    else f.pass(path, `signed origin statement: generated on ${s.origin.module.manufacturer} ${s.origin.module.model} serial ${s.origin.module.serialNumber}`);
  }
}

const HEX64 = /^[0-9a-f]{64}$/;
const DECIMAL = /^\d+$/;

function isSealChainEntry(e: unknown): e is SealChainEntry {
  if (!isObject(e)) return false;
  const link = (v: unknown) => v === null || (typeof v === 'string' && HEX64.test(v));
  return (
    Number.isInteger(e['streamVersion']) &&
    typeof e['globalPosition'] === 'string' &&
    DECIMAL.test(e['globalPosition']) &&
    typeof e['id'] === 'string' &&
    typeof e['type'] === 'string' &&
    link(e['prev']) &&
    link(e['hash']) &&
    typeof e['sealCheck'] === 'string' &&
    (e['scope'] === undefined || e['scope'] === 'stream')
  );
}

function isSealChainFile(v: unknown): v is SealChainFile {
  return (
    isObject(v) &&
    typeof v['streamId'] === 'string' &&
    typeof v['ledgeredThrough'] === 'string' &&
    DECIMAL.test(v['ledgeredThrough']) &&
    Array.isArray(v['events']) &&
    v['events'].every(isSealChainEntry)
  );
}

/**
 * The key's stream as the source store holds it (seals/events.json) against the ledgered events:
 * every seal checked valid by the exporter, versions 0..n, every `prev` the previous `hash`, every
 * ledgered key event recomputing to the hash at its version, and every stored event in the ledger
 * (a stored event the ledger lacks is one the projector refused: a forged row). MACs need the seal
 * key, so they are the exporter's signed `sealCheck`; the hashes are recomputed here.
 */
function checkSealChain(files: Map<string, Buffer>, manifest: BundleManifest, events: EventLeafRecord[], f: Findings): void {
  const path = BUNDLE_FILES.sealChain;
  if (!manifest.files.some((e) => e.path === path)) {
    return f.warn(path, 'absent: the bundle predates seals (or its source store does not seal); the source store\'s seal chain was not checked');
  }
  const chain = parseJson(files, path, f);
  if (chain === undefined) return;
  if (!isSealChainFile(chain)) return void f.fail(path, 'does not have the documented shape {streamId, ledgeredThrough, events[{streamVersion, globalPosition, id, type, prev, hash, sealCheck, scope?}]}');
  const stream = keyStreamId(manifest.keyId);
  if (chain.streamId !== stream) return void f.fail(path, `is the chain of stream ${chain.streamId}, the bundle is about ${stream}`);
  const before = f.failures();
  const at = (e: SealChainEntry) => `version ${e.streamVersion} (position ${e.globalPosition})`;

  // The chain as stored.
  let expected = 0;
  let prev: string | null = null;
  for (const e of chain.events) {
    if (e.streamVersion !== expected) {
      const missing = `version(s) ${expected}..${e.streamVersion - 1} missing from the stream`;
      if (e.streamVersion < expected) f.fail(path, `${at(e)} is out of order (expected version ${expected})`);
      else f.fail(path, expected === 0 ? `${at(e)} is the first stored event: ${missing}` : `${at(e)} follows version ${expected - 1}: ${missing}`);
    }
    if (e.sealCheck !== SEAL_CHECK_VALID) f.fail(path, `${at(e)}: the seal check in the source store failed: ${e.sealCheck}`);
    if (e.prev !== prev) f.fail(path, `${at(e)}: prev ${String(e.prev)} is not the hash of the event before it (${String(prev)})`);
    prev = e.hash;
    expected = e.streamVersion + 1;
  }

  // Ledgered events against the chain: the ledger holds what was sealed, and nothing the store lacks.
  const byVersion = new Map(chain.events.map((e) => [e.streamVersion, e]));
  const ledgered = events.filter((e) => e.streamId === stream);
  for (const leaf of ledgered) {
    const e = byVersion.get(leaf.streamVersion);
    if (!e) {
      f.fail(path, `version ${leaf.streamVersion} (position ${leaf.position}) is in the ledger but not in the source store (removed from the store)`);
      continue;
    }
    if (e.id !== leaf.eventId || e.globalPosition !== leaf.position || e.type !== leaf.type) {
      f.fail(path, `${at(e)}: the store holds event ${e.id} (${e.type}), the ledger event ${leaf.eventId} (${leaf.type}) at position ${leaf.position}`);
      continue;
    }
    // A stream-scoped seal (EventStoreDB) does not cover the position: hashed without it, as it was sealed.
    const globalPosition = e.scope === 'stream' ? null : leaf.position;
    const hash = eventSealHash({ streamId: leaf.streamId, streamVersion: leaf.streamVersion, globalPosition, id: leaf.eventId, type: leaf.type, data: leaf.data, metadata: leaf.metadata }, e.prev);
    if (hash !== e.hash) f.fail(path, `${at(e)}: the ledgered event does not hash to the sealed hash at its version (it differs from what was sealed)`);
  }
  const inLedger = new Set(ledgered.map((l) => l.streamVersion));
  for (const e of chain.events) {
    if (inLedger.has(e.streamVersion)) continue;
    if (e.sealCheck === SEAL_CHECK_VALID && BigInt(e.globalPosition) > BigInt(chain.ledgeredThrough)) {
      f.warn(path, `${at(e)} is sealed but not yet in the ledger (projected through position ${chain.ledgeredThrough}): export again once the projector has caught up`);
    } else {
      f.fail(path, `${at(e)} is in the source store but not in the ledger${e.sealCheck === SEAL_CHECK_VALID ? '' : ' (the projector refused it)'}`);
    }
  }
  if (f.failures() === before) {
    f.pass(path, `seal chain of ${chain.events.length} stored event(s) intact and every seal valid; ${ledgered.length} ledgered key event(s) recompute to their sealed hashes`);
  }
}

/** Approval states in which a second person granted the request. */
const GRANTED_STATUSES = ['Approved', 'Executed', 'ExecutionFailed'];

/**
 * Each granted approval of approvals.json (docs/audit-and-evidence.md): the grant is in the ledgered
 * events and says the same (approver, step-up); a step-up assertion re-verifies with only what it
 * carries (checkStepUpAssertion) and its public key is the one whose fingerprint the approver's
 * ledgered enrolment event holds. A grant without a step-up (gRPC ApproveRequest) is a warning.
 */
function checkApprovals(files: Map<string, Buffer>, events: EventLeafRecord[], f: Findings): void {
  const path = BUNDLE_FILES.approvals;
  const approvals = parseJson(files, path, f);
  if (approvals === undefined) return;
  if (!Array.isArray(approvals)) return void f.fail(path, 'is not a list of approval records');
  for (const state of approvals) {
    const a = isObject(state) && isObject(state['approval']) ? state['approval'] : undefined;
    if (!a || typeof a['approvalId'] !== 'string') {
      f.fail(path, 'holds an entry that is not an approval record {status, approval{approvalId, …}}');
      continue;
    }
    const id = a['approvalId'];
    if (!GRANTED_STATUSES.includes(String(state['status']))) continue;
    const what = `approval ${id} (${String(a['operation'])}, ticket ${String(a['changeTicket'])})`;
    const granted = events.find((e) => e.type === 'ApprovalGranted' && e.streamId === approvalStreamId(id) && e.data['approvalId'] === id);
    if (!granted) {
      f.fail(path, `${what} is ${String(state['status'])} but its ApprovalGranted event is not in ${BUNDLE_FILES.events}`);
      continue;
    }
    if (granted.data['approver'] !== a['approver'] || canonicalJson(granted.data['stepUp'] ?? null) !== canonicalJson(a['stepUp'] ?? null)) {
      f.fail(path, `${what}: the approver or step-up differs from the ledgered ApprovalGranted event (${granted.eventId})`);
      continue;
    }
    const stepUp = a['stepUp'];
    if (stepUp === undefined) {
      f.warn(path, `${what} was granted by ${String(a['approver'])} without a step-up FIDO2 assertion (ApproveRequest over gRPC): no hardware-token signature of this decision to check`);
      continue;
    }
    const check = checkStepUpAssertion(stepUp, { approvalId: id, changeTicket: String(a['changeTicket']), approver: String(a['approver']) });
    for (const p of check.problems) f.fail(path, `${what}: step-up assertion: ${p}`);
    if (check.problems.length > 0) continue;
    for (const n of check.notes) f.warn(path, `${what}: ${n}`);
    const s = stepUp as { credentialId: string; publicKey: string };
    f.pass(
      path,
      `${what}: the step-up assertion of credential ${s.credentialId} (${String(check.algorithm)}) verifies: approver ${String(a['approver'])}'s key signed this approval and ticket (challenge recomputed from the binding, user verified, rpIdHash of ${String(check.rpId)}, origin ${String(check.origin)})`,
    );
    checkEnrolment(s, String(a['approver']), what, events, f);
  }
}

/** The approver's ledgered enrolment of the signing key: same person, and the fingerprint of the bundled public key. */
function checkEnrolment(stepUp: { credentialId: string; publicKey: string }, approver: string, what: string, events: EventLeafRecord[], f: Findings): void {
  const path = BUNDLE_FILES.approvals;
  const enrolments = events.filter((e) => e.type === 'WebAuthnCredentialEnrolled' && e.data['credentialId'] === stepUp.credentialId);
  if (enrolments.length === 0) {
    return f.warn(path, `${what}: the enrolment of credential ${stepUp.credentialId} is not in ${BUNDLE_FILES.events}; nothing in this bundle ties that key to ${approver}`);
  }
  const fingerprint = sha256Hex(Buffer.from(stepUp.publicKey, 'base64url'));
  for (const e of enrolments) {
    if (e.streamId !== personFactorsStreamId(approver) || e.data['identityId'] !== approver) {
      return void f.fail(path, `${what}: credential ${stepUp.credentialId} was enrolled by ${String(e.data['identityId'])} (event ${e.eventId}), not by the approver ${approver}`);
    }
    if (e.data['publicKeyFingerprint'] !== fingerprint) {
      return void f.fail(path, `${what}: the step-up's public key (SHA-256 ${fingerprint}) is not the key enrolled as credential ${stepUp.credentialId} (fingerprint ${String(e.data['publicKeyFingerprint'])}, event ${e.eventId})`);
    }
  }
  f.pass(path, `${what}: credential ${stepUp.credentialId} was enrolled by ${approver} with this public key (fingerprint ${fingerprint.slice(0, 16)}…, event ${enrolments[0]?.eventId ?? ''}, in the signed ledger)`);
}

/**
 * Verify an evidence bundle offline with only the attestation public key: manifest signature and
 * hashes, signed checkpoints, inclusion of every record, origin statements, that the events
 * reproduce the canonical key record, that the key's stream in the source store (its seal chain)
 * is intact and entirely in the ledger, and that each approval's step-up assertion re-verifies.
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
  checkSealChain(files, manifest, events as EventLeafRecord[], f);
  checkApprovals(files, events as EventLeafRecord[], f);
  checkOriginStatements(files, manifest.keyId, keyRecord, attestationPublicKeyPem, f);
  checkEscrow(files, f);
  return f.result();
}

/** Where a bundle's escrow documents are (docs/break-glass.md). */
export const ESCROW_EVIDENCE_DIR = 'escrow/';

/**
 * A break-glass key's escrow documents: every signature (attestation key, custodians' counter-
 * signatures and declarations) and the package and key fingerprints across sealing, destruction and
 * reconstruction (verifyEscrowEvidence), each problem naming its file. Their bytes are also in the
 * signed manifest, like every file.
 */
function checkEscrow(files: Map<string, Buffer>, f: Findings): void {
  const escrow = new Map([...files].filter(([path]) => path.startsWith(ESCROW_EVIDENCE_DIR)));
  if (escrow.size === 0) return;
  const v = verifyEscrowEvidence(escrow);
  for (const p of v.problems) f.fail(p.file, p.problem);
  if (v.valid) f.pass(ESCROW_EVIDENCE_DIR, `${v.ceremonies} sealing ceremony transcript(s), ${v.declarations} destruction declaration(s) and ${v.reconstructions} reconstruction transcript(s): every signature and fingerprint checks`);
}

/** A readable report: one line per finding, then the verdict. */
export function formatBundleReport(v: BundleVerification): string {
  const lines = v.findings.map((x) => `${x.ok ? (x.warning ? 'WARN' : 'OK  ') : 'FAIL'} ${x.file}: ${x.message}`);
  lines.push(v.ok ? 'VERIFIED: every check passed' : `NOT VERIFIED: failing file(s): ${v.failedFiles.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

/** SHA-256 hex of text, for reports. */
export function digestOf(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
