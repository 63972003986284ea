import { noticePublisherContract } from '../testing/notice-publisher.contract';
import { InMemoryNoticePublisher } from './in-memory-notice-publisher';

noticePublisherContract('in-memory', async () => {
  const publisher = new InMemoryNoticePublisher();
  return {
    publisher,
    received: async (count) => {
      if (publisher.messages.length < count) throw new Error(`expected ${count} messages, got ${publisher.messages.length}`);
      return publisher.messages.map((m) => ({ key: m.key, cloudEvent: JSON.parse(m.value) as Record<string, unknown> }));
    },
    cleanup: async () => undefined,
  };
});
