import type { Pool } from 'pg';
import type { ScheduledKey } from '../planner/scheduled-key.projection';

/**
 * Version of what a snapshot holds (the fold of key events into `ScheduledKey`). A snapshot of
 * another version is ignored and the follower replays from the start, so a change to the fold can
 * never be masked by a stale snapshot: bump it whenever `evolveScheduledKey` or the domain's
 * `evolve` changes what they produce.
 */
export const FOLLOWER_SNAPSHOT_FORMAT = 2;

/** The follower's checkpoint: the global position applied last and every key's view at that position. */
export interface FollowerSnapshot {
  position: bigint;
  keys: ScheduledKey[];
}

/** Where the follower keeps its checkpoint. */
export interface FollowerSnapshotStore {
  load(): Promise<FollowerSnapshot | undefined>;
  /** Never moves the stored position backwards. */
  save(snapshot: FollowerSnapshot): Promise<void>;
}

/** The checkpoint table, idempotent. */
export const FOLLOWER_SNAPSHOT_TABLE_SQL = `
  CREATE TABLE IF NOT EXISTS rotation_scheduler_checkpoints (
    name       text        PRIMARY KEY,
    format     integer     NOT NULL,
    "position" bigint      NOT NULL,
    keys       jsonb       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now())`;

/** Checkpoint in PostgreSQL, next to the event store it follows; one row per scheduler name. */
export class PostgresFollowerSnapshotStore implements FollowerSnapshotStore {
  constructor(
    private readonly pool: Pool,
    private readonly name = 'rotation-scheduler',
  ) {}

  /** Create the table if missing (idempotent; tests, the apps run followerSnapshotMigrations). */
  async ensureSchema(): Promise<void> {
    await this.pool.query(FOLLOWER_SNAPSHOT_TABLE_SQL);
  }

  async load(): Promise<FollowerSnapshot | undefined> {
    const { rows } = await this.pool.query<{ format: number; position: string; keys: ScheduledKey[] }>(
      'SELECT format, "position"::text AS position, keys FROM rotation_scheduler_checkpoints WHERE name = $1',
      [this.name],
    );
    const row = rows[0];
    if (!row || row.format !== FOLLOWER_SNAPSHOT_FORMAT) return undefined;
    return { position: BigInt(row.position), keys: row.keys };
  }

  async save(snapshot: FollowerSnapshot): Promise<void> {
    await this.pool.query(
      `INSERT INTO rotation_scheduler_checkpoints (name, format, "position", keys) VALUES ($1, $2, $3, $4::jsonb)
       ON CONFLICT (name) DO UPDATE SET format = EXCLUDED.format, "position" = EXCLUDED."position", keys = EXCLUDED.keys, updated_at = now()
       WHERE rotation_scheduler_checkpoints."position" <= EXCLUDED."position" OR rotation_scheduler_checkpoints.format <> EXCLUDED.format`,
      [this.name, FOLLOWER_SNAPSHOT_FORMAT, snapshot.position.toString(), JSON.stringify(snapshot.keys)],
    );
  }
}
