import { createHash, randomUUID } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { KmsError } from '@kms/domain';
import type { ClientBase, Pool } from 'pg';
import { inTransaction, insertAuditRecord } from '../changes/postgres-change-store';
import { readStoredAuditRows, STORED_AUDIT_COLUMNS, type StoredAuditRowText, TAKE_AUDIT_APPEND_LOCK, toStoredAuditRow } from './audit-chain';
import { type AuditPartition, listAuditPartitions } from './audit-partitions';
import type { AuditSealer, StoredAuditRow } from './audit-seal';

type Queryable = Pick<ClientBase, 'query'> | Pick<Pool, 'query'>;

/**
 * Policy floor for keeping audit records, in days. docs/policy.md names no retention for the audit
 * trail itself; its one retention figure is T-1, retired key versions kept 365 days for forensic
 * checks, and those checks read the audit trail, so the trail is kept at least that long.
 */
export const MIN_AUDIT_RETENTION_DAYS = 365;
/** KMS_AUDIT_RETENTION_DAYS when unset. */
export const DEFAULT_AUDIT_RETENTION_DAYS = 365;

/** Operation of the sealed record written in the same transaction as a partition drop: the trail's new anchor. */
export const AUDIT_PARTITION_DROPPED = 'AuditPartitionDropped';
/** Operation of the sealed record written when the trail is archived. */
export const AUDIT_TRAIL_ARCHIVED = 'AuditTrailArchived';
const RETENTION_ACTOR = 'system:audit-retention';

const DAY_MS = 86_400_000;
const ARCHIVE_BATCH = 5_000;

/** A signed ledger checkpoint of the audit log and the last audit position its leaves cover. */
export interface AuditCheckpointCoverage {
  treeSize: number;
  /** The signed note, as published. */
  note: string;
  throughPosition: bigint;
}

/** One row of audit_archives. */
export interface AuditArchive {
  throughPosition: bigint;
  anchorSealHash: string;
  checkpointSize: number;
  location: string;
  sha256: string;
}

/** The newest archive (undefined: the trail was never archived). */
export async function latestAuditArchive(db: Queryable): Promise<AuditArchive | undefined> {
  const { rows } = await db.query<{ through_position: string; anchor_seal_hash: string; checkpoint_size: string; location: string; sha256: string }>(
    'SELECT through_position::text, anchor_seal_hash, checkpoint_size::text, location, sha256 FROM audit_archives ORDER BY through_position DESC LIMIT 1',
  );
  const r = rows[0];
  return r && { throughPosition: BigInt(r.through_position), anchorSealHash: r.anchor_seal_hash, checkpointSize: Number(r.checkpoint_size), location: r.location, sha256: r.sha256 };
}

/**
 * Archive the audit trail up to what `checkpoint` covers: every stored row after the previous
 * archive, seals checked and chained, as JSON lines (the first line the signed checkpoint) in a new
 * file under `directory`, fsynced; then, in one transaction, its SHA-256 and the last row's seal hash
 * in audit_archives and an `AuditTrailArchived` record in the trail. This is what "archived" means for
 * retention: a partition is dropped only when an archive reaches past its last row. Copying the file
 * off the machine is the operator's (as with backups). Returns undefined when nothing new is covered.
 */
export async function archiveAuditTrail(
  pool: Pool,
  sealer: AuditSealer,
  options: { checkpoint: AuditCheckpointCoverage; directory: string; now: Date },
): Promise<AuditArchive | undefined> {
  const { checkpoint } = options;
  const previous = await latestAuditArchive(pool);
  const from = previous?.throughPosition ?? 0n;
  if (checkpoint.throughPosition <= from) return undefined;
  // Named by range and time: a run retried after a failed commit writes a new file, never over one.
  const stamp = options.now.toISOString().replace(/[-:.]/g, '');
  const location = join(options.directory, `audit-${(from + 1n).toString()}-${checkpoint.throughPosition.toString()}-${stamp}.jsonl`);
  const file = await open(location, 'wx', 0o600);
  const digest = createHash('sha256');
  const write = async (line: string) => {
    digest.update(line);
    await file.write(line);
  };
  let last: StoredAuditRow | undefined;
  try {
    await write(`${JSON.stringify({ checkpoint: { treeSize: checkpoint.treeSize, note: checkpoint.note }, afterPosition: from.toString(), throughPosition: checkpoint.throughPosition.toString() })}\n`);
    let after = from;
    let prev: string | null | undefined;
    for (;;) {
      const { anchor, rows } = await readStoredAuditRows(pool, after, ARCHIVE_BATCH);
      if (prev === undefined) prev = anchor ? sealer.check(anchor).hash : await retainedTrailAnchor(pool, sealer, rows[0]);
      const inRange = rows.filter((r) => r.position <= checkpoint.throughPosition);
      const { valid, error } = sealer.checkChain(inRange, prev);
      if (error) throw error;
      for (const r of valid) await write(`${JSON.stringify({ ...r, position: r.position.toString() })}\n`);
      last = valid[valid.length - 1] ?? last;
      if (last) prev = last.seal_hash;
      if (inRange.length < rows.length || rows.length < ARCHIVE_BATCH) break;
      after = (last as StoredAuditRow).position;
    }
    await file.sync();
  } finally {
    await file.close();
  }
  if (!last || last.position !== checkpoint.throughPosition || !last.seal_hash) {
    throw new KmsError('INTEGRITY_VIOLATION', `the audit trail has no record at position ${checkpoint.throughPosition}, which the checkpoint covers`, 'checkpoint');
  }
  const archive: AuditArchive = { throughPosition: last.position, anchorSealHash: last.seal_hash, checkpointSize: checkpoint.treeSize, location, sha256: digest.digest('hex') };
  await inTransaction(pool, async (client) => {
    await client.query(
      'INSERT INTO audit_archives (through_position, anchor_seal_hash, checkpoint_size, checkpoint_note, location, sha256, archived_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [archive.throughPosition.toString(), archive.anchorSealHash, archive.checkpointSize, checkpoint.note, location, archive.sha256, options.now],
    );
    await insertAuditRecord(
      client,
      {
        id: randomUUID(),
        time: options.now,
        requestId: randomUUID(),
        operation: AUDIT_TRAIL_ARCHIVED,
        actor: RETENTION_ACTOR,
        outcome: 'SUCCESS',
        details: { throughPosition: archive.throughPosition.toString(), checkpointSize: archive.checkpointSize, sha256: archive.sha256, location },
      },
      sealer,
    );
  });
  return archive;
}

/**
 * The hash the oldest stored record follows when older partitions were dropped by retention: the
 * `anchorSealHash` of the newest sealed AuditPartitionDropped record that removed rows (a partial
 * index finds it), when `first` is the record right
 * after the rows that drop removed and chains to it. Null otherwise (then `first` must be the first
 * record of the trail, and a record claiming a predecessor is refused as removed history). The drop
 * record is sealed under the KMS key like any other, so a gap no retention drop vouches for still fails.
 */
export async function retainedTrailAnchor(db: Queryable, sealer: AuditSealer, first: StoredAuditRow | undefined): Promise<string | null> {
  if (!first || first.seal_prev === null) return null;
  const { rows } = await db.query<StoredAuditRowText>(
    // The operation as a literal: the partial index's predicate must be provable when planning.
    `SELECT ${STORED_AUDIT_COLUMNS} FROM audit_records WHERE operation = '${AUDIT_PARTITION_DROPPED}' AND details ? 'anchorSealHash' ORDER BY audit_records."position" DESC LIMIT 1`,
  );
  const found = rows[0];
  if (!found) return null;
  const drop = toStoredAuditRow(found);
  sealer.check(drop);
  const details = drop.details as Record<string, unknown> | null;
  const anchor = details?.['anchorSealHash'];
  const through = details?.['lastPosition'];
  if (typeof anchor !== 'string' || typeof through !== 'string') return null;
  return anchor === first.seal_prev && BigInt(through) < first.position ? anchor : null;
}

/** Why a partition was not dropped, or that it was. */
export interface AuditPartitionDecision {
  partition: string;
  dropped: boolean;
  /** Rows the partition held (absent: its age alone decided, nothing was counted). */
  rows?: number;
  reason?: string;
}

/**
 * Drop the monthly audit partitions retention allows, oldest first, each only when (a) its whole
 * month ended more than `retentionDays` before `now`, (b) an archive (archiveAuditTrail) reaches
 * past its last row, and (c) every row before its last is in it (dropping it leaves the trail a
 * contiguous suffix, whose first record then chains to the anchor the drop records). Each drop runs
 * in one transaction under the audit append lock with its sealed `AuditPartitionDropped` record, so
 * a drop is never unaudited and the record fails the drop when it cannot be written. Stops at the
 * first partition it may not drop. Needs the owner role (DROP TABLE); the services' role cannot.
 */
export async function dropExpiredAuditPartitions(
  pool: Pool,
  sealer: AuditSealer,
  options: { now: Date; retentionDays: number },
): Promise<AuditPartitionDecision[]> {
  const { retentionDays } = options;
  if (!Number.isInteger(retentionDays) || retentionDays < MIN_AUDIT_RETENTION_DAYS || retentionDays > 36_500) {
    throw new KmsError('INVALID_ARGUMENT', `retentionDays must be a whole number of days from ${MIN_AUDIT_RETENTION_DAYS} (policy floor) to 36500`, 'retentionDays');
  }
  const cutoff = new Date(options.now.getTime() - retentionDays * DAY_MS);
  const decisions: AuditPartitionDecision[] = [];
  for (const partition of await listAuditPartitions(pool)) {
    const decision = await dropIfEligible(pool, sealer, partition, cutoff, options.now);
    decisions.push(decision);
    if (!decision.dropped) break;
  }
  return decisions;
}

async function dropIfEligible(pool: Pool, sealer: AuditSealer, partition: AuditPartition, cutoff: Date, now: Date): Promise<AuditPartitionDecision> {
  const refused = (rows: number | undefined, reason: string): AuditPartitionDecision => ({ partition: partition.name, dropped: false, ...(rows !== undefined ? { rows } : {}), reason });
  if (partition.to > cutoff) return refused(undefined, `its month ends ${partition.to.toISOString()}, within the retention period (records before ${cutoff.toISOString()} may go)`);
  // A refusal returns from inside the transaction: it wrote nothing, so its commit changes nothing.
  return inTransaction(pool, async (client) => {
    // Under the writers' lock: no record is appended while the trail's start moves.
    await client.query(TAKE_AUDIT_APPEND_LOCK);
    const stats = await client.query<{ rows: string; first: string | null; last: string | null }>(
      `SELECT count(*)::text AS rows, min("position")::text AS first, max("position")::text AS last FROM ONLY "${partition.name}"`,
    );
    const { rows: countText = '0', first = null, last = null } = stats.rows[0] ?? {};
    const rows = Number(countText);
    const archive = await latestAuditArchive(client);
    let anchorSealHash = '';
    if (last !== null && first !== null) {
      if (!archive || archive.throughPosition < BigInt(last)) {
        return refused(rows, `its last record (position ${last}) is not covered by an archived ledger checkpoint (archived through ${archive?.throughPosition.toString() ?? 'nothing'})`);
      }
      const older = await client.query(`SELECT 1 FROM audit_records WHERE "position" < $1 AND tableoid <> '"${partition.name}"'::regclass LIMIT 1`, [last]);
      if (older.rowCount !== 0) return refused(rows, 'records older than its last one are in another partition (the default one, dated late): the trail would have a hole');
      const lastRow = await client.query<StoredAuditRowText>(`SELECT ${STORED_AUDIT_COLUMNS} FROM ONLY "${partition.name}" WHERE "position" = $1`, [last]);
      const stored = toStoredAuditRow(lastRow.rows[0] as StoredAuditRowText);
      anchorSealHash = sealer.check(stored).hash;
    }
    await insertAuditRecord(
      client,
      {
        id: randomUUID(),
        time: now,
        requestId: randomUUID(),
        operation: AUDIT_PARTITION_DROPPED,
        actor: RETENTION_ACTOR,
        outcome: 'SUCCESS',
        details: {
          partition: partition.name,
          from: partition.from.toISOString(),
          to: partition.to.toISOString(),
          rows,
          ...(first !== null && last !== null ? { firstPosition: first, lastPosition: last, anchorSealHash } : {}),
          ...(archive ? { archiveThroughPosition: archive.throughPosition.toString(), archiveSha256: archive.sha256 } : {}),
        },
      },
      sealer,
    );
    await client.query(`DROP TABLE "${partition.name}"`);
    return { partition: partition.name, dropped: true, rows };
  });
}
