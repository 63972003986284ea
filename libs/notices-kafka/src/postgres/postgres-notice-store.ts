import { type Notice, noticeToJson, type NoticeStore, type RecordedNotice } from '@kms/notices';
import type { Pool } from 'pg';

interface NoticeRow {
  position: string;
  notice_id: string;
  type: string;
  subject: string;
  cloud_event: Record<string, unknown>;
  published_at: Date | null;
}

/** NoticeStore on the kms_notices / kms_notice_checkpoints tables (noticeMigrations). The pool belongs to the caller. */
export class PostgresNoticeStore implements NoticeStore {
  constructor(private readonly pool: Pool) {}

  async loadCheckpoint(relay: string): Promise<bigint> {
    const { rows } = await this.pool.query<{ position: string }>('SELECT position FROM kms_notice_checkpoints WHERE relay = $1', [relay]);
    return BigInt(rows[0]?.position ?? '0');
  }

  async record(notice: Notice): Promise<void> {
    await this.pool.query(
      `INSERT INTO kms_notices (position, notice_id, type, subject, tenant, urgent, cloud_event)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
      [notice.position.toString(), notice.id, notice.type, notice.subject, notice.data.tenant, notice.urgent, noticeToJson(notice)],
    );
  }

  async commit(relay: string, position: bigint, published?: { id: string; at: Date }): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      if (published) {
        await client.query('UPDATE kms_notices SET published_at = $2 WHERE notice_id = $1 AND published_at IS NULL', [published.id, published.at]);
      }
      // GREATEST: a checkpoint never moves backwards, even if two relays overlap during a handover.
      await client.query(
        `INSERT INTO kms_notice_checkpoints (relay, position) VALUES ($1, $2)
         ON CONFLICT (relay) DO UPDATE SET position = GREATEST(kms_notice_checkpoints.position, EXCLUDED.position), updated_at = now()`,
        [relay, position.toString()],
      );
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }

  async list(after: bigint, limit: number): Promise<RecordedNotice[]> {
    const { rows } = await this.pool.query<NoticeRow>(
      `SELECT position::text AS position, notice_id, type, subject, cloud_event, published_at
       FROM kms_notices WHERE position > $1 ORDER BY position LIMIT $2`,
      [after.toString(), limit],
    );
    return rows.map((r) => ({
      id: r.notice_id,
      position: BigInt(r.position),
      type: r.type,
      subject: r.subject,
      cloudEvent: r.cloud_event,
      publishedAt: r.published_at,
    }));
  }
}
