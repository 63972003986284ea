import type { Kafka } from 'kafkajs';
import type { KafkaTopicSettings } from './kafka-settings';

/** What a created topic got, for logs and tests. */
export interface CreatedTopic {
  topic: string;
  partitions: number;
  replicationFactor: number;
  minInsyncReplicas: number;
}

/**
 * Creates the KMS's topics with an admin client when the settings allow it: partitions, replication
 * factor and min.insync.replicas from configuration (replication defaults to min(3, brokers) and
 * min.insync.replicas to one less, so one broker may be down and acks=all writes still go through).
 * A topic that exists is left exactly as it is: operators own it. Success is remembered per topic;
 * a failure is not, so the next call tries again.
 */
export class KafkaTopicProvisioner {
  private readonly ready = new Map<string, Promise<void>>();

  constructor(
    private readonly kafka: Kafka,
    private readonly settings: KafkaTopicSettings,
    private readonly onCreated: (t: CreatedTopic) => void = () => undefined,
  ) {}

  /** Resolve once every topic exists (at once when creation is turned off). */
  async ensure(topics: string[]): Promise<void> {
    if (!this.settings.create) return;
    await Promise.all(topics.map((t) => this.ensureOne(t)));
  }

  private ensureOne(topic: string): Promise<void> {
    let pending = this.ready.get(topic);
    if (!pending) {
      const attempt = this.create(topic);
      pending = attempt;
      this.ready.set(topic, attempt);
      attempt.catch(() => {
        if (this.ready.get(topic) === attempt) this.ready.delete(topic);
      });
    }
    return pending;
  }

  private async create(topic: string): Promise<void> {
    const admin = this.kafka.admin({ retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 1000 } });
    await admin.connect();
    try {
      if ((await admin.listTopics()).includes(topic)) return;
      const brokers = (await admin.describeCluster()).brokers.length;
      const replicationFactor = this.settings.replicationFactor ?? Math.max(1, Math.min(3, brokers));
      const minInsyncReplicas = this.settings.minInsyncReplicas ?? Math.max(1, replicationFactor - 1);
      const partitions = this.settings.partitions;
      try {
        // false = another KMS instance created it meanwhile: fine.
        const created = await admin.createTopics({
          waitForLeaders: true,
          topics: [{ topic, numPartitions: partitions, replicationFactor, configEntries: [{ name: 'min.insync.replicas', value: String(minInsyncReplicas) }] }],
        });
        if (created) this.onCreated({ topic, partitions, replicationFactor, minInsyncReplicas });
      } catch (e) {
        const reason = e instanceof Error ? e.message : String(e);
        throw new Error(
          `creating topic ${topic} (${partitions} partitions, replication factor ${replicationFactor}, min.insync.replicas ${minInsyncReplicas}) failed: ${reason}; ` +
            'set KMS_KAFKA_CREATE_TOPICS=false where operators create the topics',
          { cause: e },
        );
      }
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }
}
