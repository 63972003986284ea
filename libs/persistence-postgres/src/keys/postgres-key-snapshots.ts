import type { KeyFilter, KeySnapshot, KeySnapshotBuildProgress, KeySnapshotStore, ListPage } from '@kms/application';
import type { ExistingKeyState } from '@kms/domain';
import type { Pool, PoolClient } from 'pg';
import { inTransaction } from '../changes/postgres-change-store';

type SnapshotRow = { version: number; state: ExistingKeyState };

/**
 * KeySnapshotStore on the key_snapshots table (see keySnapshotMigrations). Replicas write it at once:
 * a row is only replaced by a newer stream version of its key and the checkpoint only moves forward,
 * both in one statement each; rows are written in key order so two writers never deadlock.
 */
export class PostgresKeySnapshots implements KeySnapshotStore {
  constructor(private readonly pool: Pool) {}

  async checkpoint(): Promise<bigint | undefined> {
    const { rows } = await this.pool.query<{ position: string }>('SELECT position FROM key_snapshot_checkpoint');
    return rows[0] ? BigInt(rows[0].position) : undefined;
  }

  async getMany(keyIds: readonly string[]): Promise<Map<string, KeySnapshot>> {
    const out = new Map<string, KeySnapshot>();
    if (keyIds.length === 0) return out;
    const { rows } = await this.pool.query<SnapshotRow>('SELECT version, state FROM key_snapshots WHERE key_id = ANY($1::text[])', [keyIds]);
    for (const r of rows) out.set(r.state.key.keyId, { version: r.version, state: r.state });
    return out;
  }

  async save(rows: readonly KeySnapshot[], position?: bigint): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      await upsertRows(client, rows);
      if (position !== undefined) await moveCheckpoint(client, position);
    });
  }

  async buildProgress(): Promise<KeySnapshotBuildProgress | undefined> {
    const { rows } = await this.pool.query<{ through: string; after: string }>('SELECT through::text AS through, after_stream_id AS after FROM key_snapshot_build');
    const row = rows[0];
    return row ? { through: BigInt(row.through), afterStreamId: row.after } : undefined;
  }

  async saveBuild(rows: readonly KeySnapshot[], state: { progress: KeySnapshotBuildProgress } | { done: bigint }): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      await upsertRows(client, rows);
      if ('done' in state) {
        await moveCheckpoint(client, state.done);
        await client.query('DELETE FROM key_snapshot_build');
      } else {
        await client.query(
          `INSERT INTO key_snapshot_build (id, through, after_stream_id) VALUES (true, $1, $2)
           ON CONFLICT (id) DO UPDATE SET through = EXCLUDED.through, after_stream_id = EXCLUDED.after_stream_id`,
          [state.progress.through.toString(), state.progress.afterStreamId],
        );
      }
    });
  }

  async list(filter: KeyFilter, page?: ListPage): Promise<KeySnapshot[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.tenant !== undefined) where.push(`tenant = $${params.push(filter.tenant)}`);
    if (filter.purpose !== undefined) where.push(`purpose = $${params.push(filter.purpose)}`);
    if (filter.labels && Object.keys(filter.labels).length > 0) where.push(`labels @> $${params.push(JSON.stringify(filter.labels))}::jsonb`);
    const window = page ? ` OFFSET $${params.push(page.offset)} LIMIT $${params.push(page.limit)}` : '';
    const { rows } = await this.pool.query<SnapshotRow>(
      `SELECT version, state FROM key_snapshots ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, key_id${window}`,
      params,
    );
    return rows.map((r) => ({ version: r.version, state: r.state }));
  }
}

/** Write rows, each only over an older version of its key, in key order (two writers never deadlock). */
async function upsertRows(client: PoolClient, rows: readonly KeySnapshot[]): Promise<void> {
  const newest = new Map<string, KeySnapshot>();
  for (const r of rows) {
    const seen = newest.get(r.state.key.keyId);
    if (!seen || seen.version < r.version) newest.set(r.state.key.keyId, r);
  }
  if (newest.size === 0) return;
  const ordered = [...newest.values()].sort((a, b) => (a.state.key.keyId < b.state.key.keyId ? -1 : 1));
  const records = ordered.map(({ state, version }) => ({ key_id: state.key.keyId, tenant: state.key.tenant, purpose: state.key.purpose, labels: state.key.labels, created_at: state.key.createdAt, version, state }));
  await client.query(
    `INSERT INTO key_snapshots (key_id, tenant, purpose, labels, created_at, version, state)
     SELECT r.key_id, r.tenant, r.purpose, r.labels, r.created_at, r.version, r.state
       FROM jsonb_to_recordset($1::jsonb) AS r(key_id text, tenant text, purpose text, labels jsonb, created_at timestamptz, version integer, state jsonb)
     ON CONFLICT (key_id) DO UPDATE SET tenant = EXCLUDED.tenant, purpose = EXCLUDED.purpose, labels = EXCLUDED.labels,
       created_at = EXCLUDED.created_at, version = EXCLUDED.version, state = EXCLUDED.state
     WHERE key_snapshots.version < EXCLUDED.version`,
    [JSON.stringify(records)],
  );
}

/** Move the checkpoint to `position` unless it is already further. */
async function moveCheckpoint(client: PoolClient, position: bigint): Promise<void> {
  await client.query(
    `INSERT INTO key_snapshot_checkpoint (id, position) VALUES (true, $1)
     ON CONFLICT (id) DO UPDATE SET position = EXCLUDED.position WHERE key_snapshot_checkpoint.position < EXCLUDED.position`,
    [position.toString()],
  );
}
