import { noticeToObject } from '../notice/notice-cloud-event';
import type { Notice } from '../notice/notice.model';
import type { NoticeStore, RecordedNotice } from '../ports/notice-store.port';

/** NoticeStore in process memory, for tests. */
export class InMemoryNoticeStore implements NoticeStore {
  private readonly notices = new Map<string, RecordedNotice>();
  private readonly checkpoints = new Map<string, bigint>();

  async loadCheckpoint(relay: string): Promise<bigint> {
    return this.checkpoints.get(relay) ?? 0n;
  }

  async record(notice: Notice): Promise<void> {
    if (this.notices.has(notice.id)) return;
    this.notices.set(notice.id, {
      id: notice.id,
      position: notice.position,
      type: notice.type,
      subject: notice.subject,
      cloudEvent: noticeToObject(notice),
      publishedAt: null,
    });
  }

  async commit(relay: string, position: bigint, published?: { id: string; at: Date }): Promise<void> {
    // Refused whole, as the PostgreSQL store's CHECK refuses the transaction.
    if (position < 0n) throw new RangeError('a checkpoint position is never negative');
    if (published) {
      const n = this.notices.get(published.id);
      if (n && !n.publishedAt) n.publishedAt = published.at;
    }
    const current = this.checkpoints.get(relay) ?? 0n;
    if (position > current) this.checkpoints.set(relay, position);
  }

  async list(after: bigint, limit: number): Promise<RecordedNotice[]> {
    return [...this.notices.values()]
      .filter((n) => n.position > after)
      .sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : 0))
      .slice(0, limit)
      .map((n) => ({ ...n }));
  }
}
