import type { NoticePublisher } from '../ports/notice-publisher.port';
import { sampleRotationNotice } from './notice.fixtures';

/** A message as a consumer of the transport reads it. */
export interface ReceivedMessage {
  key: string;
  /** The structured-mode CloudEvents JSON object. */
  cloudEvent: Record<string, unknown>;
}

/** One publisher under test, fresh per test (its own topic), and how a consumer reads what it sent. */
export interface NoticePublisherHarness {
  publisher: NoticePublisher;
  /** Every message on the target so far, in per-key order; waits until at least `count` arrived. */
  received(count: number): Promise<ReceivedMessage[]>;
  cleanup(): Promise<void>;
}

/**
 * The behaviour every NoticePublisher adapter must show (STYLE.md 4). Call it at the top level of the
 * adapter's spec: `noticePublisherContract('Kafka', async () => harness)`.
 */
export function noticePublisherContract(name: string, factory: () => Promise<NoticePublisherHarness>): void {
  describe(`NoticePublisher contract: ${name}`, () => {
    let h: NoticePublisherHarness;

    beforeEach(async () => {
      h = await factory();
    });

    afterEach(async () => {
      await h.cleanup();
    });

    it('delivers a notice as a CloudEvents 1.0 event keyed by its subject', async () => {
      const notice = sampleRotationNotice({ urgent: true, data: { reason: 'COMPROMISE', urgent: true } });
      await h.publisher.publish(notice);
      const [message] = await h.received(1);
      expect(message?.key).toBe(notice.subject);
      expect(message?.cloudEvent).toMatchObject({
        specversion: '1.0',
        id: notice.id,
        type: 'kms.key.rotated.v1',
        source: notice.source,
        subject: notice.subject,
        datacontenttype: 'application/json',
        kmsurgent: true,
        kmstenant: 'acme',
        kmsposition: notice.position.toString(),
        data: { keyId: notice.subject, version: 2, reason: 'COMPROMISE', confirmBy: notice.data.confirmBy },
      });
    });

    it('keeps the publish order of each key', async () => {
      const keys = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222', '33333333-3333-4333-8333-333333333333'];
      const sent = Array.from({ length: 15 }, (_, i) => sampleRotationNotice({ subject: keys[i % 3], data: { version: i + 1 } }));
      for (const n of sent) await h.publisher.publish(n);
      const got = await h.received(sent.length);
      for (const key of keys) {
        const expected = sent.filter((n) => n.subject === key).map((n) => n.id);
        expect(got.filter((m) => m.key === key).map((m) => m.cloudEvent['id'])).toEqual(expected);
      }
    });

    it('delivers a notice published twice twice, with the same id (consumers deduplicate)', async () => {
      const notice = sampleRotationNotice();
      await h.publisher.publish(notice);
      await h.publisher.publish(notice);
      const got = await h.received(2);
      expect(got.map((m) => m.cloudEvent['id'])).toEqual([notice.id, notice.id]);
    });

    it('rejects publishing once closed', async () => {
      await h.publisher.close();
      await expect(h.publisher.publish(sampleRotationNotice())).rejects.toThrow();
    });
  });
}
