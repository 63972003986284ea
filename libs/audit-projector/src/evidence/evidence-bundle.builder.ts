import type { AttestationSigner } from '@kms/application';
import { escrowCeremonyStreamTarget, type KeyRecord, keyStreamId } from '@kms/domain';
import { EventIntegrityError, type SealedHistory } from '@kms/event-store';
import { buildKeyOriginStatement, escrowEvidenceFiles, SEAL_METADATA_KEY, signKeyOriginStatement, STREAM_SEAL_SCOPE } from '@kms/evidence';
import {
  assembleEvidenceBundle,
  type AuditLeafRecord,
  type BundleContent,
  type EventLeafRecord,
  type LedgerLog,
  type RecordProof,
  SEAL_CHECK_VALID,
  type SealChainFile,
  writeTar,
} from '@kms/ledger';
import type { DataSource } from 'typeorm';
import type { LedgerStore } from '../ledger/ledger-store';
import { ApprovalEntity } from '../read-model/approval.entity';
import { KeyEntity } from '../read-model/key.entity';
import { LedgerLeafEntity } from '../read-model/ledger-leaf.entity';

export class EvidenceNotFoundError extends Error {
  override readonly name = 'EvidenceNotFoundError';
}

const HEX_SHA256 = /^[0-9a-f]{64}$/;

/** A seal field as evidence may show it: a SHA-256 in hex, or null (absent or not a hash). */
function hexOrNull(v: unknown): string | null {
  return typeof v === 'string' && HEX_SHA256.test(v) ? v : null;
}

/**
 * Builds a key's evidence bundle (docs/audit-and-evidence.md): canonical record, its events and
 * approvals, audit records in a window, origin statements, inclusion proofs against freshly signed
 * checkpoints, and a signed manifest; returned as a deterministic tar archive.
 */
export class EvidenceBundleBuilder {
  constructor(
    private readonly dataSource: DataSource,
    private readonly ledger: LedgerStore,
    private readonly signer: AttestationSigner,
    private readonly clock: { now(): Date },
    /** The source store as stored and its sealer: the bundle then carries the key's seal chain (seals/events.json). */
    private readonly seals?: SealedHistory,
  ) {}

  async build(keyId: string, window: { from?: Date; to?: Date } = {}): Promise<{ tar: Buffer; fileName: string }> {
    const key = await this.dataSource.getRepository(KeyEntity).findOne({ select: { record: true }, where: { keyId } });
    const record: KeyRecord | undefined = key?.record;
    if (!record) throw new EvidenceNotFoundError(`key ${keyId} is not in the read model`);
    const now = this.clock.now();
    const from = window.from ?? new Date(record.createdAt);
    const to = window.to ?? new Date(now.getTime() + 1);

    // Sign checkpoints covering everything projected so far, so every bundled record has a proof.
    const eventsCp = await this.ledger.checkpointIfGrown('events');
    const auditCp = await this.ledger.checkpointIfGrown('audit');

    const approvals = await this.dataSource
      .getRepository(ApprovalEntity)
      .find({ select: { approvalId: true, record: true }, where: { targetId: keyId }, order: { requestedAt: 'ASC', approvalId: 'ASC' } });
    // The enrolment of every security key that signed an approval: it ties the key to the person.
    const credentialIds = [...new Set(approvals.flatMap((r) => (r.record.status === 'None' || !r.record.approval.stepUp ? [] : [r.record.approval.stepUp.credentialId])))];
    const eventLeaves = [...(await this.leaves('events', keyId, eventsCp.treeSize)), ...(await this.enrolmentLeaves(credentialIds, eventsCp.treeSize))].sort((a, b) => a.leafIndex - b.leafIndex);
    const auditLeaves = (await this.leaves('audit', keyId, auditCp.treeSize)).filter((l) => {
      const t = Date.parse((l.record as AuditLeafRecord).time);
      return t >= from.getTime() && t < to.getTime();
    });
    // Read after the ledger, so every ledgered event is in it; what the projector refused is too.
    const sealChain = await this.sealChain(keyId, eventsCp.treeSize);
    const proofs = {
      events: await this.proofs('events', eventLeaves, eventsCp.treeSize),
      audit: await this.proofs('audit', auditLeaves, auditCp.treeSize),
    };

    const attestationKeyFingerprint = await this.signer.keyFingerprint();
    const originStatements: BundleContent['originStatements'] = [];
    for (const v of record.versions) {
      if (!v.origin) continue;
      const statement = buildKeyOriginStatement({
        keyId,
        version: v.version,
        algorithm: v.algorithm,
        protectionLevel: v.protectionLevel,
        createdAt: v.createdAt,
        issuedAt: now,
        ...(v.publicKeyFingerprint && HEX_SHA256.test(v.publicKeyFingerprint) ? { keyFingerprint: v.publicKeyFingerprint } : {}),
        origin: v.origin,
        // Imported material says so in the statement, as the key record does (the verifier checks they agree).
        ...(v.imported ? { imported: true } : {}),
        attestationKeyFingerprint,
      });
      originStatements.push({ version: v.version, signed: await signKeyOriginStatement(statement, this.signer) });
    }

    const files = await assembleEvidenceBundle(
      {
        keyRecord: record,
        events: eventLeaves.map((l) => l.record as EventLeafRecord),
        auditRecords: auditLeaves.map((l) => l.record as AuditLeafRecord),
        approvals: approvals.map((r) => r.record),
        proofs,
        eventsCheckpoint: eventsCp.note,
        auditCheckpoint: auditCp.note,
        attestationKeyPem: await this.signer.publicKeyPem(),
        originStatements,
        ...(sealChain ? { sealChain } : {}),
        // Break-glass keys: the escrow documents, rebuilt from the ledgered ceremony events bundled above.
        escrowFiles: escrowEvidenceFiles(
          eventLeaves.map((l) => l.record as EventLeafRecord).filter((e) => escrowCeremonyStreamTarget(e.streamId)?.keyId === keyId),
        ),
      },
      { keyId, generatedAt: now.toISOString(), window: { from: from.toISOString(), to: to.toISOString() }, origin: this.ledger.origin, attestationKeyFingerprint },
      this.signer,
    );
    const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    return { tar: writeTar(files, now), fileName: `evidence-${keyId}-${stamp}.tar` };
  }

  /**
   * The key's stream read from the source store as stored, each event's seal checked here (MACs need
   * the seal key, which the offline verifier does not have): 'valid' or the problem, never its data.
   */
  private async sealChain(keyId: string, eventsTreeSize: number): Promise<SealChainFile | undefined> {
    if (!this.seals) return undefined;
    const { stored: source, sealer } = this.seals;
    const streamId = keyStreamId(keyId);
    const last = eventsTreeSize === 0 ? null : await this.dataSource.getRepository(LedgerLeafEntity).findOne({ select: { sourcePosition: true }, where: { log: 'events', leafIndex: String(eventsTreeSize - 1) } });
    const stored = await source.readStoredStream(streamId);
    let prev: string | null = null;
    const events = stored.map((e) => {
      const seal = (e.metadata[SEAL_METADATA_KEY] ?? {}) as { prev?: unknown; hash?: unknown; scope?: unknown };
      let sealCheck = SEAL_CHECK_VALID;
      try {
        sealer.check(e, prev);
      } catch (error) {
        if (!(error instanceof EventIntegrityError)) throw error;
        sealCheck = error.problem;
      }
      prev = hexOrNull(seal.hash);
      // The verifier hashes a stream-scoped seal without the position; a marker a forger set is caught by sealCheck.
      const scope = seal.scope === STREAM_SEAL_SCOPE ? { scope: STREAM_SEAL_SCOPE as typeof STREAM_SEAL_SCOPE } : {};
      return { streamVersion: e.streamVersion, globalPosition: e.globalPosition.toString(), id: e.id, type: e.type, prev: hexOrNull(seal.prev), hash: prev, sealCheck, ...scope };
    });
    return { streamId, ledgeredThrough: last?.sourcePosition ?? '0', events };
  }

  private async leaves(log: LedgerLog, keyId: string, treeSize: number): Promise<Array<{ leafIndex: number; recordId: string; record: unknown }>> {
    const rows = await this.dataSource
      .getRepository(LedgerLeafEntity)
      .createQueryBuilder('l')
      .select(['l.log', 'l.leafIndex', 'l.recordId', 'l.leafData'])
      .where('l.subjectKeyId = :keyId', { keyId })
      .andWhere('l.log = :log', { log })
      .andWhere('l.leafIndex < :treeSize', { treeSize })
      .orderBy('l.leafIndex')
      .getMany();
    return rows.map((r) => ({ leafIndex: Number(r.leafIndex), recordId: r.recordId, record: JSON.parse(r.leafData.toString('utf8')) as unknown }));
  }

  /**
   * The ledgered WebAuthnCredentialEnrolled events of these credentials (person-factors streams have
   * no subject key, so they are found by the credential id in the leaf; a scan of the events log's
   * unattributed leaves, done once per export).
   */
  private async enrolmentLeaves(credentialIds: string[], treeSize: number): Promise<Array<{ leafIndex: number; recordId: string; record: unknown }>> {
    const found: Array<{ leafIndex: number; recordId: string; record: unknown }> = [];
    for (const credentialId of credentialIds) {
      const rows = await this.dataSource
        .getRepository(LedgerLeafEntity)
        .createQueryBuilder('l')
        .select(['l.log', 'l.leafIndex', 'l.recordId', 'l.leafData'])
        .where("l.log = 'events'")
        .andWhere('l.subjectKeyId IS NULL')
        .andWhere('l.leafIndex < :treeSize', { treeSize })
        .andWhere("position(convert_to(:credentialId, 'UTF8') in l.leafData) > 0", { credentialId })
        .orderBy('l.leafIndex')
        .getMany();
      for (const r of rows) {
        const record = JSON.parse(r.leafData.toString('utf8')) as EventLeafRecord;
        if (record.type === 'WebAuthnCredentialEnrolled' && record.data['credentialId'] === credentialId) found.push({ leafIndex: Number(r.leafIndex), recordId: r.recordId, record });
      }
    }
    return found;
  }

  private async proofs(log: LedgerLog, leaves: Array<{ leafIndex: number; recordId: string }>, treeSize: number): Promise<RecordProof[]> {
    const out: RecordProof[] = [];
    for (const l of leaves) {
      const { path } = await this.ledger.inclusionPath(log, l.leafIndex, treeSize);
      out.push({ log, recordId: l.recordId, leafIndex: l.leafIndex, treeSize, path: path.map((h) => h.toString('hex')) });
    }
    return out;
  }
}
