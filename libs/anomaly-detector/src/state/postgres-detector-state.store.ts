import type { SubjectState } from '@kms/anomaly-rules';
import type { Pool } from 'pg';
import type { DetectorCheckpoint, DetectorStateStore } from './detector-state.store';

/**
 * The detector's tables, idempotent. facts_position 0 for a checkpoint written before it existed:
 * every lifecycle fact is checked again once against the committed records (findings already
 * recorded collide on their ids).
 */
export const DETECTOR_STATE_TABLES_SQL = `
  CREATE TABLE IF NOT EXISTS anomaly_detector_checkpoints (
    name text PRIMARY KEY, audit_position bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
  ALTER TABLE anomaly_detector_checkpoints ADD COLUMN IF NOT EXISTS facts_position bigint NOT NULL DEFAULT 0;
  CREATE TABLE IF NOT EXISTS anomaly_detector_subjects (
    detector text NOT NULL, subject text NOT NULL, state jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (detector, subject));`;

/**
 * Baselines and checkpoint in PostgreSQL (not Redis) so they are durable and committed together:
 * a crash between them would otherwise double-count or skip a batch.
 */
export class PostgresDetectorStateStore implements DetectorStateStore {
  constructor(
    private readonly pool: Pool,
    private readonly name = 'default',
  ) {}

  /** Create the two tables if they are missing, and add columns of later versions (idempotent; tests, the apps run detectorStateMigrations). */
  async ensureSchema(): Promise<void> {
    await this.pool.query(DETECTOR_STATE_TABLES_SQL);
  }

  async loadCheckpoint(): Promise<DetectorCheckpoint> {
    const { rows } = await this.pool.query<{ a: string; f: string }>(
      'SELECT audit_position::text AS a, facts_position::text AS f FROM anomaly_detector_checkpoints WHERE name = $1',
      [this.name],
    );
    return { audit: BigInt(rows[0]?.a ?? '0'), facts: BigInt(rows[0]?.f ?? '0') };
  }

  async loadSubjects(): Promise<Map<string, SubjectState>> {
    const { rows } = await this.pool.query<{ subject: string; state: SubjectState }>('SELECT subject, state FROM anomaly_detector_subjects WHERE detector = $1', [this.name]);
    return new Map(rows.map((r) => [r.subject, r.state]));
  }

  async commit(checkpoint: DetectorCheckpoint, updates: ReadonlyMap<string, SubjectState>): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      if (updates.size > 0) {
        await client.query(
          `INSERT INTO anomaly_detector_subjects (detector, subject, state)
             SELECT $1, s.subject, s.state FROM jsonb_to_recordset($2::jsonb) AS s(subject text, state jsonb)
           ON CONFLICT (detector, subject) DO UPDATE SET state = EXCLUDED.state, updated_at = now()`,
          [this.name, JSON.stringify([...updates].map(([subject, state]) => ({ subject, state })))],
        );
      }
      await client.query(
        `INSERT INTO anomaly_detector_checkpoints (name, audit_position, facts_position) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET audit_position = EXCLUDED.audit_position, facts_position = EXCLUDED.facts_position, updated_at = now()`,
        [this.name, checkpoint.audit.toString(), checkpoint.facts.toString()],
      );
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }
}
