import {
  type Checkpoint,
  consistencyProof,
  inclusionProof,
  leafHash,
  type LedgerLog,
  LEDGER_LOGS,
  type NoteSigner,
  rootHash,
  signCheckpoint,
  verifyCheckpointNote,
} from '@kms/ledger';
import type { Pool } from 'pg';

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

interface CheckpointRow {
  log: LedgerLog;
  tree_size: string;
  root_hash: Buffer;
  signed_at: Date;
  note: string;
}

function toCheckpoint(r: CheckpointRow, origin: string): StoredCheckpoint {
  return { log: r.log, origin: `${origin}/${r.log}`, treeSize: Number(r.tree_size), rootHash: r.root_hash, time: r.signed_at.toISOString(), note: r.note };
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
 * The append-only Merkle ledger in PostgreSQL: leaf hashes (cached in memory, since leaves are only
 * appended), signed checkpoints, inclusion and consistency proofs.
 */
export class LedgerStore {
  private readonly cache = new Map<LedgerLog, Buffer[]>();
  /** Tree size of the last checkpoint the publisher accepted, per log (in memory: after a restart the latest is sent again). */
  private readonly published = new Map<LedgerLog, number>();

  constructor(
    private readonly pool: Pool,
    /** Origin prefix: logs are `${origin}/events` and `${origin}/audit`. */
    readonly origin: string,
    private readonly signer: NoteSigner,
    private readonly clock: { now(): Date },
    private readonly publisher?: CheckpointPublisher,
  ) {}

  /** Leaf hashes 0..size-1 of a log. */
  async leafHashes(log: LedgerLog, size?: number): Promise<Buffer[]> {
    const cached = this.cache.get(log) ?? [];
    const { rows } = await this.pool.query<{ leaf_index: string; leaf_hash: Buffer }>(
      'SELECT leaf_index::text AS leaf_index, leaf_hash FROM ledger_leaves WHERE log = $1 AND leaf_index >= $2 ORDER BY ledger_leaves.leaf_index',
      [log, cached.length],
    );
    for (const r of rows) {
      if (Number(r.leaf_index) !== cached.length) throw new Error(`ledger ${log} has a gap at leaf ${cached.length}`);
      cached.push(r.leaf_hash);
    }
    this.cache.set(log, cached);
    if (size !== undefined && size > cached.length) throw new LedgerError('INVALID_RANGE', `the ${log} log has ${cached.length} leaves, not ${size}`);
    return size === undefined ? cached : cached.slice(0, size);
  }

  async latestCheckpoint(log: LedgerLog): Promise<StoredCheckpoint | undefined> {
    const { rows } = await this.pool.query<CheckpointRow>(
      'SELECT log, tree_size::text AS tree_size, root_hash, signed_at, note FROM ledger_checkpoints WHERE log = $1 ORDER BY ledger_checkpoints.tree_size DESC LIMIT 1',
      [log],
    );
    return rows[0] ? toCheckpoint(rows[0], this.origin) : undefined;
  }

  async checkpointAt(log: LedgerLog, treeSize: number): Promise<StoredCheckpoint> {
    const { rows } = await this.pool.query<CheckpointRow>(
      'SELECT log, tree_size::text AS tree_size, root_hash, signed_at, note FROM ledger_checkpoints WHERE log = $1 AND tree_size = $2',
      [log, treeSize],
    );
    if (!rows[0]) throw new LedgerError('CHECKPOINT_NOT_FOUND', `no signed checkpoint of the ${log} log at tree size ${treeSize}`);
    return toCheckpoint(rows[0], this.origin);
  }

  /** Sign a checkpoint of the current tree when it grew since the last one (or none exists). */
  async checkpointIfGrown(log: LedgerLog): Promise<StoredCheckpoint> {
    const hashes = await this.leafHashes(log);
    const latest = await this.latestCheckpoint(log);
    if (latest && latest.treeSize >= hashes.length) {
      // A checkpoint whose publication failed (Kafka down) is sent again on the next round, so no signed tree size is skipped.
      if (this.publisher && (this.published.get(log) ?? -1) < latest.treeSize) await this.publish(latest);
      return latest;
    }
    const checkpoint: Checkpoint = { origin: `${this.origin}/${log}`, treeSize: hashes.length, rootHash: rootHash(hashes), time: this.clock.now().toISOString() };
    const note = await signCheckpoint(checkpoint, this.signer);
    await this.pool.query(
      'INSERT INTO ledger_checkpoints (log, tree_size, root_hash, signed_at, note) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (log, tree_size) DO NOTHING',
      [log, checkpoint.treeSize, checkpoint.rootHash, checkpoint.time, note],
    );
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
    const { rows } = await this.pool.query<{ leaf_index: string }>('SELECT leaf_index::text AS leaf_index FROM ledger_leaves WHERE log = $1 AND record_id = $2', [
      log,
      recordId,
    ]);
    if (!rows[0]) throw new LedgerError('LEAF_NOT_FOUND', `no ${log} record ${recordId} in the ledger`);
    const leafIndex = Number(rows[0].leaf_index);
    const checkpoint = treeSize === undefined ? await this.latestCheckpoint(log) : await this.checkpointAt(log, treeSize);
    if (!checkpoint || checkpoint.treeSize <= leafIndex) {
      throw new LedgerError('CHECKPOINT_NOT_FOUND', `no signed checkpoint of the ${log} log covers leaf ${leafIndex} yet`);
    }
    const hashes = await this.leafHashes(log, checkpoint.treeSize);
    return {
      log,
      recordId,
      leafIndex,
      treeSize: checkpoint.treeSize,
      leafHash: hashes[leafIndex].toString('hex'),
      path: inclusionProof(hashes, leafIndex, checkpoint.treeSize).map((h) => h.toString('hex')),
      checkpoint: checkpoint.note,
    };
  }

  /** Consistency proof between two signed checkpoints of a log. */
  async consistency(log: LedgerLog, from: number, to: number): Promise<{ from: StoredCheckpoint; to: StoredCheckpoint; path: string[] }> {
    if (!(from <= to)) throw new LedgerError('INVALID_RANGE', `from (${from}) must not exceed to (${to})`);
    const [a, b] = [await this.checkpointAt(log, from), await this.checkpointAt(log, to)];
    const hashes = await this.leafHashes(log, to);
    return { from: a, to: b, path: consistencyProof(hashes, from, to).map((h) => h.toString('hex')) };
  }

  /**
   * Re-read every leaf and checkpoint from the database and check them: contiguous indexes, each hash
   * matches its data, and each signed checkpoint matches the recomputed root. Returns problems found.
   */
  async audit(attestationPublicKeyPem: string, logs: readonly LedgerLog[] = LEDGER_LOGS): Promise<string[]> {
    const problems: string[] = [];
    for (const log of logs) {
      const { rows } = await this.pool.query<{ leaf_index: string; leaf_hash: Buffer; leaf_data: Buffer }>(
        'SELECT leaf_index::text AS leaf_index, leaf_hash, leaf_data FROM ledger_leaves WHERE log = $1 ORDER BY ledger_leaves.leaf_index',
        [log],
      );
      const hashes: Buffer[] = [];
      rows.forEach((r, i) => {
        if (Number(r.leaf_index) !== i) problems.push(`${log}: leaf ${i} is missing (next stored leaf is ${r.leaf_index})`);
        if (!leafHash(r.leaf_data).equals(r.leaf_hash)) problems.push(`${log}: leaf ${r.leaf_index} data does not match its hash`);
        hashes.push(leafHash(r.leaf_data));
      });
      const cps = await this.pool.query<CheckpointRow>(
        'SELECT log, tree_size::text AS tree_size, root_hash, signed_at, note FROM ledger_checkpoints WHERE log = $1 ORDER BY ledger_checkpoints.tree_size',
        [log],
      );
      for (const row of cps.rows) {
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
