import type { Notice } from '../notice/notice.model';

/**
 * Sends notices to consumers. `publish` resolves only once the transport acknowledged the notice
 * durably (Kafka: acks from every in-sync replica), and rejects otherwise; the relay retries.
 * Notices with the same subject must reach consumers in the order they were published.
 * In-memory and Kafka adapters pass `noticePublisherContract`.
 */
export interface NoticePublisher {
  /** Human-readable target for logs and health (e.g. `kafka kms.key-lifecycle.v1`). */
  readonly description: string;
  publish(notice: Notice): Promise<void>;
  close(): Promise<void>;
}
