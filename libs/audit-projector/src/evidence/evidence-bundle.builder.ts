import type { AttestationSigner } from '@kms/application';
import type { KeyRecord } from '@kms/domain';
import { buildKeyOriginStatement, signKeyOriginStatement } from '@kms/evidence';
import {
  assembleEvidenceBundle,
  type AuditLeafRecord,
  type BundleContent,
  type EventLeafRecord,
  type LedgerLog,
  type RecordProof,
  writeTar,
  inclusionProof,
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

    const eventLeaves = await this.leaves('events', keyId, eventsCp.treeSize);
    const auditLeaves = (await this.leaves('audit', keyId, auditCp.treeSize)).filter((l) => {
      const t = Date.parse((l.record as AuditLeafRecord).time);
      return t >= from.getTime() && t < to.getTime();
    });
    const proofs = {
      events: await this.proofs('events', eventLeaves, eventsCp.treeSize),
      audit: await this.proofs('audit', auditLeaves, auditCp.treeSize),
    };
    const approvals = await this.dataSource
      .getRepository(ApprovalEntity)
      .find({ select: { approvalId: true, record: true }, where: { targetId: keyId }, order: { requestedAt: 'ASC', approvalId: 'ASC' } });

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
      },
      { keyId, generatedAt: now.toISOString(), window: { from: from.toISOString(), to: to.toISOString() }, origin: this.ledger.origin, attestationKeyFingerprint },
      this.signer,
    );
    const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    return { tar: writeTar(files, now), fileName: `evidence-${keyId}-${stamp}.tar` };
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

  private async proofs(log: LedgerLog, leaves: Array<{ leafIndex: number; recordId: string }>, treeSize: number): Promise<RecordProof[]> {
    const hashes = await this.ledger.leafHashes(log, treeSize);
    return leaves.map((l) => ({
      log,
      recordId: l.recordId,
      leafIndex: l.leafIndex,
      treeSize,
      path: inclusionProof(hashes, l.leafIndex, treeSize).map((h) => h.toString('hex')),
    }));
  }
}
