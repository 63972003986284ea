import { noticeToJson, type Notice, type NoticePublisher, toCloudEvent } from '@kms/notices';
import { Kafka as CloudEventsKafka } from 'cloudevents';
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';

export interface KafkaNoticePublisherOptions {
  brokers: string[];
  topic: string;
  clientId?: string;
  /**
   * Idempotent producer (exactly one copy per send even across retries). Use it on real clusters.
   * librdkafka 2.0.2's mock cluster reports controller id 0, which makes kafkajs' InitProducerId
   * fail, so the tests run without it; ordering then rests on maxInFlightRequests = 1.
   */
  idempotent?: boolean;
  /** How long one send may wait for the acks of every in-sync replica. Default 10 s. */
  ackTimeoutMs?: number;
  /** kafkajs log level; default ERROR. */
  logLevel?: logLevel;
}

/**
 * Publishes notices to Kafka as CloudEvents in structured mode (one JSON value, content-type
 * `application/cloudevents+json`), keyed by the notice subject (key id) so a key's notices land on
 * one partition in order. `publish` resolves only after acks=-1, with one request in flight.
 * A failed send drops the producer and the next call reconnects, so a broker that was down and came
 * back (or a new leader) is found again.
 */
export class KafkaNoticePublisher implements NoticePublisher {
  readonly description: string;
  private readonly kafka: Kafka;
  private producer: Promise<Producer> | null = null;
  private closed = false;

  constructor(private readonly options: KafkaNoticePublisherOptions) {
    this.description = `kafka ${options.topic}`;
    this.kafka = new Kafka({
      clientId: options.clientId ?? 'open-kms-notices',
      brokers: options.brokers,
      connectionTimeout: 3000,
      logLevel: options.logLevel ?? logLevel.ERROR,
      // Few client retries: the relay retries forever with its own backoff and reports the lag.
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
    });
  }

  async publish(notice: Notice): Promise<void> {
    if (this.closed) throw new Error('publisher is closed');
    const producer = await this.connected();
    const message = CloudEventsKafka.structured(toCloudEvent(notice));
    try {
      await producer.send({
        topic: this.options.topic,
        acks: -1,
        timeout: this.options.ackTimeoutMs ?? 10_000,
        messages: [{ key: notice.subject, value: noticeToJson(notice), headers: { ...message.headers } }],
      });
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
        idempotent: this.options.idempotent ?? false,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: true,
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
