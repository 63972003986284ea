import { type ReceivedMessage, noticePublisherContract } from '@kms/notices/testing';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { KafkaMockProcess } from '../testing/kafka-mock.process';
import { KafkaNoticePublisher } from './kafka-notice-publisher';

let mock: KafkaMockProcess;

beforeAll(async () => {
  mock = await KafkaMockProcess.start({ topics: [], brokers: 3 });
});

afterAll(async () => {
  await mock.stop();
});

/** Consume a topic from the beginning with kafkajs (its own consumer group) until `count` messages arrived. */
async function consume(topic: string, count: number, timeoutMs = 20_000): Promise<ReceivedMessage[]> {
  const kafka = new Kafka({ clientId: 'contract-reader', brokers: mock.bootstrap.split(','), logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `reader-${randomUUID()}` });
  const got: Array<ReceivedMessage & { partition: number; offset: bigint }> = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${got.length} of ${count} messages within ${timeoutMs} ms`)), timeoutMs);
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          got.push({
            key: message.key?.toString('utf8') ?? '',
            cloudEvent: JSON.parse(message.value?.toString('utf8') ?? 'null') as Record<string, unknown>,
            partition,
            offset: BigInt(message.offset),
          });
          if (got.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  // Kafka orders within a partition; a key lives on one partition.
  return got.sort((a, b) => a.partition - b.partition || (a.offset < b.offset ? -1 : 1)).map(({ key, cloudEvent }) => ({ key, cloudEvent }));
}

noticePublisherContract('Kafka (librdkafka mock cluster, 3 brokers)', async () => {
  const topic = `contract-${randomUUID()}`;
  const publisher = new KafkaNoticePublisher({ brokers: mock.bootstrap.split(','), topic, idempotent: false, logLevel: logLevel.NOTHING });
  return {
    publisher,
    received: (count) => consume(topic, count),
    cleanup: () => publisher.close(),
  };
});
