import { type ReceivedMessage, noticePublisherContract, sampleRotationNotice } from '@kms/notices/testing';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { KafkaTestCluster } from '../testing/kafka-cluster.process';
import { KafkaNoticePublisher } from './kafka-notice-publisher';

let kafka: KafkaTestCluster;

beforeAll(async () => {
  kafka = await KafkaTestCluster.start({ name: 'notice-publisher' });
}, 180_000);

afterAll(async () => {
  await kafka?.destroy();
});

/** Consume a topic from the beginning with kafkajs (its own consumer group) until `count` messages arrived. */
async function consume(topic: string, count: number, timeoutMs = 20_000): Promise<ReceivedMessage[]> {
  const client = new Kafka({ clientId: 'contract-reader', brokers: kafka.brokers, logLevel: logLevel.NOTHING });
  const consumer = client.consumer({ groupId: `reader-${randomUUID()}` });
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

noticePublisherContract('Kafka (Apache Kafka broker, idempotent producer, topic created by the publisher)', async () => {
  const topic = `contract-${randomUUID()}`;
  const publisher = new KafkaNoticePublisher({ brokers: kafka.brokers, topic, logLevel: logLevel.NOTHING });
  return {
    publisher,
    received: (count) => consume(topic, count),
    cleanup: () => publisher.close(),
  };
});

describe('KafkaNoticePublisher topic creation', () => {
  const notice = (subject: string): Parameters<KafkaNoticePublisher['publish']>[0] => sampleRotationNotice({ subject });

  it('creates a missing topic with the configured partitions and min.insync.replicas before the first publish', async () => {
    const topic = `created-${randomUUID()}`;
    const publisher = new KafkaNoticePublisher({ brokers: kafka.brokers, topic, logLevel: logLevel.NOTHING, topics: { create: true, partitions: 4, replicationFactor: null, minInsyncReplicas: 1 } });
    try {
      await publisher.publish(notice(randomUUID()));
    } finally {
      await publisher.close();
    }
    expect(await kafka.describeTopic(topic)).toEqual({ partitions: 4, replicationFactor: 1, minInsyncReplicas: 1 });
  });

  it('leaves an existing topic as operators made it', async () => {
    const topic = `existing-${randomUUID()}`;
    await kafka.createTopics([{ name: topic, partitions: 2 }]);
    const publisher = new KafkaNoticePublisher({ brokers: kafka.brokers, topic, logLevel: logLevel.NOTHING, topics: { create: true, partitions: 6, replicationFactor: null, minInsyncReplicas: null } });
    try {
      await publisher.publish(notice(randomUUID()));
    } finally {
      await publisher.close();
    }
    expect((await kafka.describeTopic(topic)).partitions).toBe(2);
  });

  it('with creation turned off, a missing topic fails the publish and is not created by the producer', async () => {
    const topic = `missing-${randomUUID()}`;
    const publisher = new KafkaNoticePublisher({ brokers: kafka.brokers, topic, logLevel: logLevel.NOTHING, ackTimeoutMs: 2000, topics: { create: false, partitions: 6, replicationFactor: null, minInsyncReplicas: null } });
    try {
      await expect(publisher.publish(notice(randomUUID()))).rejects.toThrow(/does not host this topic-partition|unknown topic/i);
    } finally {
      await publisher.close();
    }
    // Still unknown to the cluster: the failed send did not auto-create it.
    await expect(kafka.describeTopic(topic)).rejects.toThrow(/does not host this topic-partition/);
  });

  it('names the setting to change when the cluster cannot give the replication asked for', async () => {
    const publisher = new KafkaNoticePublisher({ brokers: kafka.brokers, topic: `too-wide-${randomUUID()}`, logLevel: logLevel.NOTHING, topics: { create: true, partitions: 1, replicationFactor: 3, minInsyncReplicas: 2 } });
    try {
      await expect(publisher.ensureTopic()).rejects.toThrow(/replication factor 3, min.insync.replicas 2\) failed: .*KMS_KAFKA_CREATE_TOPICS=false/);
    } finally {
      await publisher.close();
    }
  });
});
