import { Kafka, logLevel, type Message, Partitioners, type Producer } from 'kafkajs';
import { DEFAULT_KAFKA_TOPIC_SETTINGS, type KafkaTopicSettings } from './kafka-settings';
import { type CreatedTopic, KafkaTopicProvisioner } from './kafka-topic-provisioner';

export interface LazyKafkaProducerOptions {
  brokers: string[];
  clientId: string;
  /** Topic creation before the first send; default: create (6 partitions, replication min(3, brokers)). */
  topics?: KafkaTopicSettings;
  /** Told about each topic this producer created. */
  onTopicCreated?: (t: CreatedTopic) => void;
  /** How long one send may wait for the acks of every in-sync replica. Default 10 s. */
  ackTimeoutMs?: number;
  /** kafkajs log level; default ERROR. */
  logLevel?: logLevel;
}

/**
 * The one kafkajs producer lifecycle the KMS's publishers share: the topic is created (when allowed)
 * before the first send, then an idempotent producer sends with acks=all and one request in flight
 * (per-key order, and a retried request is never written twice). After a failed send the producer
 * is dropped so the next send reconnects and finds a broker that came back or a new leader. Errors
 * go back to the caller, whose outbox or checkpoint decides when to retry.
 */
export class LazyKafkaProducer {
  private readonly kafka: Kafka;
  private readonly topics: KafkaTopicProvisioner;
  private producer: Promise<Producer> | null = null;
  private closed = false;

  constructor(private readonly options: LazyKafkaProducerOptions) {
    if (options.brokers.length === 0) throw new Error(`${options.clientId}: at least one Kafka broker is needed`);
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: options.brokers,
      connectionTimeout: 3000,
      logLevel: options.logLevel ?? logLevel.ERROR,
      // Few client retries: callers retry with their own backoff and report the lag.
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    this.topics = new KafkaTopicProvisioner(this.kafka, options.topics ?? DEFAULT_KAFKA_TOPIC_SETTINGS, options.onTopicCreated);
  }

  /** Create the topics now (when allowed) rather than on the first send; rejects while the cluster is unreachable. */
  ensureTopics(topics: string[]): Promise<void> {
    return this.topics.ensure(topics);
  }

  /** Send messages to a topic; resolves after every in-sync replica acknowledged. */
  async send(topic: string, messages: Message[]): Promise<void> {
    if (this.closed) throw new Error(`${this.options.clientId}: the Kafka producer is closed`);
    await this.topics.ensure([topic]);
    const producer = await this.connected();
    try {
      await producer.send({ topic, acks: -1, timeout: this.options.ackTimeoutMs ?? 10_000, messages });
    } catch (e) {
      await this.reset();
      throw e;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.reset();
  }

  private connected(): Promise<Producer> {
    if (!this.producer) {
      const producer = this.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        // Topics are created above with their settings (or by operators), never by a first send.
        allowAutoTopicCreation: false,
        // Java-compatible murmur2: partners' Java/librdkafka clients agree on key -> partition.
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      const ready = producer.connect().then(() => producer);
      this.producer = ready;
      ready.catch(() => {
        if (this.producer === ready) this.producer = null;
      });
    }
    return this.producer;
  }

  private async reset(): Promise<void> {
    const current = this.producer;
    this.producer = null;
    if (current) await current.then((p) => p.disconnect()).catch(() => undefined);
  }
}
