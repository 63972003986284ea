import type { CheckpointStore } from '@kms/event-store';
import type { Pool } from 'pg';

/** CheckpointStore on kms_notification_checkpoints (notificationMigrations). The pool belongs to the caller. */
export class PostgresNotificationCheckpoints implements CheckpointStore {
  constructor(private readonly pool: Pool) {}

  async loadCheckpoint(name: string): Promise<bigint> {
    const { rows } = await this.pool.query<{ position: string }>('SELECT position FROM kms_notification_checkpoints WHERE relay = $1', [name]);
    return BigInt(rows[0]?.position ?? '0');
  }

  async commit(name: string, position: bigint): Promise<void> {
    // GREATEST: a checkpoint never moves backwards, even if two relays overlap during a handover.
    await this.pool.query(
      `INSERT INTO kms_notification_checkpoints (relay, position) VALUES ($1, $2)
       ON CONFLICT (relay) DO UPDATE SET position = GREATEST(kms_notification_checkpoints.position, EXCLUDED.position), updated_at = now()`,
      [name, position.toString()],
    );
  }
}
