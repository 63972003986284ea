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
import type { Pool } from 'pg';
import type { LedgerStore } from '../ledger/ledger-store';

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
    private readonly pool: Pool,
    private readonly ledger: LedgerStore,
    private readonly signer: AttestationSigner,
    private readonly clock: { now(): Date },
  ) {}

  async build(keyId: string, window: { from?: Date; to?: Date } = {}): Promise<{ tar: Buffer; fileName: string }> {
    const keyRows = await this.pool.query<{ record: KeyRecord }>('SELECT record FROM rm_keys WHERE key_id = $1', [keyId]);
    const record = keyRows.rows[0]?.record;
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
    const approvals = await this.pool.query<{ record: unknown }>('SELECT record FROM rm_approvals WHERE target_id = $1 ORDER BY requested_at, approval_id', [keyId]);

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
        approvals: approvals.rows.map((r) => r.record),
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
    const { rows } = await this.pool.query<{ leaf_index: string; record_id: string; leaf_data: Buffer }>(
      `SELECT leaf_index::text AS leaf_index, record_id, leaf_data FROM ledger_leaves
        WHERE subject_key_id = $1 AND log = $2 AND leaf_index < $3 ORDER BY ledger_leaves.leaf_index`,
      [keyId, log, treeSize],
    );
    return rows.map((r) => ({ leafIndex: Number(r.leaf_index), recordId: r.record_id, record: JSON.parse(r.leaf_data.toString('utf8')) as unknown }));
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
