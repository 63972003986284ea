import {
  type Checkpoint,
  consistencyProofRanges,
  inclusionProofRanges,
  type LeafRange,
  leafHash,
  type LedgerLog,
  LEDGER_LOGS,
  type NoteSigner,
  rangeHash,
  rangeNodes,
  rootHash,
  signCheckpoint,
  verifyCheckpointNote,
} from '@kms/ledger';
import type { DataSource, Repository } from 'typeorm';
import { LedgerCheckpointEntity } from '../read-model/ledger-checkpoint.entity';
import { LedgerLeafEntity } from '../read-model/ledger-leaf.entity';
import { readLedgerNodes } from './ledger-nodes';

export interface StoredCheckpoint extends Checkpoint {
  log: LedgerLog;
  /** The signed note, as published. */
  note: string;
}

export interface InclusionAnswer {
  log: LedgerLog;
  recordId: string;
  leafIndex: number;
  treeSize: number;
  leafHash: string;
  path: string[];
  checkpoint: string;
}

/** Where copies of each signed checkpoint go besides the database (Kafka, a witness). Optional. */
export interface CheckpointPublisher {
  publish(checkpoint: StoredCheckpoint): Promise<void>;
}

function toCheckpoint(r: LedgerCheckpointEntity, origin: string): StoredCheckpoint {
  const log = r.log as LedgerLog;
  return { log, origin: `${origin}/${log}`, treeSize: Number(r.treeSize), rootHash: r.rootHash, time: r.signedAt.toISOString(), note: r.note };
}

export class LedgerError extends Error {
  override readonly name = 'LedgerError';
  constructor(
    readonly code: 'LEAF_NOT_FOUND' | 'CHECKPOINT_NOT_FOUND' | 'INVALID_RANGE',
    message: string,
  ) {
    super(message);
  }
}

/**
 * The append-only Merkle ledger in PostgreSQL (ledger_leaves, ledger_nodes, ledger_checkpoints through
 * TypeORM): signed checkpoints, inclusion and consistency proofs. Roots and proofs read the O(log n)
 * stored perfect subtrees they need (ledger-nodes.ts), never every leaf; leafHashes (all of them,
 * cached in memory since leaves are only appended) is for readers that want the whole log.
 */
export class LedgerStore {
  private readonly cache = new Map<LedgerLog, Buffer[]>();
  /** Tree size of the last checkpoint the publisher accepted, per log (in memory: after a restart the latest is sent again). */
  private readonly published = new Map<LedgerLog, number>();

  private readonly leaves: Repository<LedgerLeafEntity>;
  private readonly checkpoints: Repository<LedgerCheckpointEntity>;

  constructor(
    private readonly dataSource: DataSource,
    /** Origin prefix: logs are `${origin}/events` and `${origin}/audit`. */
    readonly origin: string,
    private readonly signer: NoteSigner,
    private readonly clock: { now(): Date },
    private readonly publisher?: CheckpointPublisher,
  ) {
    this.leaves = dataSource.getRepository(LedgerLeafEntity);
    this.checkpoints = dataSource.getRepository(LedgerCheckpointEntity);
  }

  /** Leaf hashes 0..size-1 of a log. */
  async leafHashes(log: LedgerLog, size?: number): Promise<Buffer[]> {
    const cached = this.cache.get(log) ?? [];
    // Raw rows: hydrating 10,000 entities to take two columns doubled the time to sign a checkpoint.
    const rows = await this.leaves
      .createQueryBuilder('l')
      .select('l.leafIndex', 'leafIndex')
      .addSelect('l.leafHash', 'leafHash')
      .where('l.log = :log', { log })
      .andWhere('l.leafIndex >= :from', { from: cached.length })
      .orderBy('l.leafIndex')
      .getRawMany<Pick<LedgerLeafEntity, 'leafIndex' | 'leafHash'>>();
    for (const r of rows) {
      if (Number(r.leafIndex) !== cached.length) throw new Error(`ledger ${log} has a gap at leaf ${cached.length}`);
      cached.push(r.leafHash);
    }
    this.cache.set(log, cached);
    if (size !== undefined && size > cached.length) throw new LedgerError('INVALID_RANGE', `the ${log} log has ${cached.length} leaves, not ${size}`);
    return size === undefined ? cached : cached.slice(0, size);
  }

  async latestCheckpoint(log: LedgerLog): Promise<StoredCheckpoint | undefined> {
    const row = await this.checkpoints.createQueryBuilder('c').where('c.log = :log', { log }).orderBy('c.treeSize', 'DESC').limit(1).getOne();
    return row ? toCheckpoint(row, this.origin) : undefined;
  }

  async checkpointAt(log: LedgerLog, treeSize: number): Promise<StoredCheckpoint> {
    const row = await this.checkpoints.findOneBy({ log, treeSize: String(treeSize) });
    if (!row) throw new LedgerError('CHECKPOINT_NOT_FOUND', `no signed checkpoint of the ${log} log at tree size ${treeSize}`);
    return toCheckpoint(row, this.origin);
  }

  /** Sign a checkpoint of the current tree when it grew since the last one (or none exists). */
  async checkpointIfGrown(log: LedgerLog): Promise<StoredCheckpoint> {
    const size = await this.size(log);
    const latest = await this.latestCheckpoint(log);
    if (latest && latest.treeSize >= size) {
      // A checkpoint whose publication failed (Kafka down) is sent again on the next round, so no signed tree size is skipped.
      if (this.publisher && (this.published.get(log) ?? -1) < latest.treeSize) await this.publish(latest);
      return latest;
    }
    const [root] = await this.rangeHashes(log, [[0, size]]);
    const checkpoint: Checkpoint = { origin: `${this.origin}/${log}`, treeSize: size, rootHash: root as Buffer, time: this.clock.now().toISOString() };
    const note = await signCheckpoint(checkpoint, this.signer);
    // Another instance may have signed the same size meanwhile: the first stored note stays.
    await this.checkpoints
      .createQueryBuilder()
      .insert()
      .values({ log, treeSize: String(checkpoint.treeSize), rootHash: checkpoint.rootHash, signedAt: new Date(checkpoint.time), note })
      .orIgnore()
      .updateEntity(false)
      .execute();
    const stored = await this.checkpointAt(log, checkpoint.treeSize);
    if (this.publisher) await this.publish(stored);
    return stored;
  }

  private async publish(checkpoint: StoredCheckpoint): Promise<void> {
    await this.publisher?.publish(checkpoint);
    this.published.set(checkpoint.log, Math.max(this.published.get(checkpoint.log) ?? -1, checkpoint.treeSize));
  }

  /** Inclusion proof of a record (event id or audit record id) against a checkpointed tree size (default: latest). */
  async inclusion(log: LedgerLog, recordId: string, treeSize?: number): Promise<InclusionAnswer> {
    const leaf = await this.leaves.findOne({ select: { leafIndex: true }, where: { log, recordId } });
    if (!leaf) throw new LedgerError('LEAF_NOT_FOUND', `no ${log} record ${recordId} in the ledger`);
    const leafIndex = Number(leaf.leafIndex);
    const checkpoint = treeSize === undefined ? await this.latestCheckpoint(log) : await this.checkpointAt(log, treeSize);
    if (!checkpoint || checkpoint.treeSize <= leafIndex) {
      throw new LedgerError('CHECKPOINT_NOT_FOUND', `no signed checkpoint of the ${log} log covers leaf ${leafIndex} yet`);
    }
    const proof = await this.inclusionPath(log, leafIndex, checkpoint.treeSize);
    return {
      log,
      recordId,
      leafIndex,
      treeSize: checkpoint.treeSize,
      leafHash: proof.leafHash.toString('hex'),
      path: proof.path.map((h) => h.toString('hex')),
      checkpoint: checkpoint.note,
    };
  }

  /** Number of leaves of a log (the next leaf index): one index probe. */
  async size(log: LedgerLog): Promise<number> {
    const rows = (await this.dataSource.query('SELECT leaf_index::text AS i FROM ledger_leaves WHERE log = $1 ORDER BY leaf_index DESC LIMIT 1', [log])) as Array<{ i: string }>;
    return rows[0] ? Number(rows[0].i) + 1 : 0;
  }

  /** Inclusion proof (RFC 9162) of leaf `leafIndex` in the tree of the first `treeSize` leaves, from stored subtrees. */
  async inclusionPath(log: LedgerLog, leafIndex: number, treeSize: number): Promise<{ leafHash: Buffer; path: Buffer[] }> {
    const ranges = inclusionProofRanges(leafIndex, treeSize);
    const [leaf, ...path] = await this.rangeHashes(log, [[leafIndex, leafIndex + 1], ...ranges]);
    return { leafHash: leaf as Buffer, path };
  }

  /** The hashes of leaf ranges (as proofs and roots name them), reading every stored subtree they need in one round. */
  private async rangeHashes(log: LedgerLog, ranges: readonly LeafRange[]): Promise<Buffer[]> {
    const perRange = ranges.map(([start, end]) => rangeNodes(start, end));
    const found = await readLedgerNodes(this.dataSource, log, perRange.flat());
    return perRange.map((nodes) => rangeHash(nodes.map((n) => found.get(`${n.level}/${n.index}`) as Buffer)));
  }

  /** Consistency proof between two signed checkpoints of a log. */
  async consistency(log: LedgerLog, from: number, to: number): Promise<{ from: StoredCheckpoint; to: StoredCheckpoint; path: string[] }> {
    if (!(from <= to)) throw new LedgerError('INVALID_RANGE', `from (${from}) must not exceed to (${to})`);
    const [a, b] = [await this.checkpointAt(log, from), await this.checkpointAt(log, to)];
    const path = await this.rangeHashes(log, consistencyProofRanges(from, to));
    return { from: a, to: b, path: path.map((h) => h.toString('hex')) };
  }

  /**
   * Re-read every leaf and checkpoint from the database and check them: contiguous indexes, each hash
   * matches its data, and each signed checkpoint matches the recomputed root. Returns problems found.
   */
  async audit(attestationPublicKeyPem: string, logs: readonly LedgerLog[] = LEDGER_LOGS): Promise<string[]> {
    const problems: string[] = [];
    for (const log of logs) {
      const rows = await this.leaves.find({ select: { leafIndex: true, leafHash: true, leafData: true }, where: { log }, order: { leafIndex: 'ASC' } });
      const hashes: Buffer[] = [];
      rows.forEach((r, i) => {
        if (Number(r.leafIndex) !== i) problems.push(`${log}: leaf ${i} is missing (next stored leaf is ${r.leafIndex})`);
        if (!leafHash(r.leafData).equals(r.leafHash)) problems.push(`${log}: leaf ${r.leafIndex} data does not match its hash`);
        hashes.push(leafHash(r.leafData));
      });
      const cps = await this.checkpoints.find({ where: { log }, order: { treeSize: 'ASC' } });
      for (const row of cps) {
        const cp = toCheckpoint(row, this.origin);
        const v = verifyCheckpointNote(cp.note, attestationPublicKeyPem, cp.origin);
        if (!v.valid) problems.push(`${log}: checkpoint ${cp.treeSize}: ${v.reason}`);
        else if (v.checkpoint.treeSize !== cp.treeSize || !v.checkpoint.rootHash.equals(cp.rootHash)) problems.push(`${log}: checkpoint ${cp.treeSize} row differs from its signed note`);
        if (cp.treeSize > hashes.length) problems.push(`${log}: checkpoint ${cp.treeSize} is beyond the ${hashes.length} stored leaves (truncated)`);
        else if (!rootHash(hashes.slice(0, cp.treeSize)).equals(v.valid ? v.checkpoint.rootHash : cp.rootHash)) {
          problems.push(`${log}: leaves 0..${cp.treeSize - 1} no longer hash to the signed root of checkpoint ${cp.treeSize}`);
        }
      }
    }
    return problems;
  }
}
