import { noticeToJson } from '../notice/notice-cloud-event';
import type { Notice } from '../notice/notice.model';
import type { NoticePublisher } from '../ports/notice-publisher.port';

/** A message as the in-memory "topic" holds it: key and structured CloudEvents JSON. */
export interface InMemoryNoticeMessage {
  key: string;
  value: string;
}

/**
 * Publisher that appends to an array: tests, and a stand-in for a broker that can be taken down
 * (`available = false` makes publish reject like an unreachable broker).
 */
export class InMemoryNoticePublisher implements NoticePublisher {
  readonly description = 'in-memory';
  readonly messages: InMemoryNoticeMessage[] = [];
  available = true;
  private closed = false;

  async publish(notice: Notice): Promise<void> {
    if (this.closed) throw new Error('publisher is closed');
    if (!this.available) throw new Error('broker unavailable');
    this.messages.push({ key: notice.subject, value: noticeToJson(notice) });
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
