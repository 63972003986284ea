import { noticeToJson, type Notice, type NoticePublisher, toCloudEvent } from '@kms/notices';
import { Kafka as CloudEventsKafka } from 'cloudevents';
import type { logLevel } from 'kafkajs';
import type { KafkaTopicSettings } from './kafka-settings';
import type { CreatedTopic } from './kafka-topic-provisioner';
import { LazyKafkaProducer } from './lazy-kafka-producer';

export interface KafkaNoticePublisherOptions {
  brokers: string[];
  topic: string;
  clientId?: string;
  /** How the topic is created before the first publish (KMS_KAFKA_CREATE_TOPICS and friends). */
  topics?: KafkaTopicSettings;
  onTopicCreated?: (t: CreatedTopic) => void;
  /** How long one send may wait for the acks of every in-sync replica. Default 10 s. */
  ackTimeoutMs?: number;
  /** kafkajs log level; default ERROR. */
  logLevel?: logLevel;
}

/**
 * Publishes notices to Kafka as CloudEvents in structured mode (one JSON value, content-type
 * `application/cloudevents+json`), keyed by the notice subject (key id) so a key's notices land on
 * one partition in order. `publish` resolves only after acks=all, from an idempotent producer with
 * one request in flight.
 * A failed send drops the producer and the next call reconnects, so a broker that was down and came
 * back (or a new leader) is found again.
 */
export class KafkaNoticePublisher implements NoticePublisher {
  readonly description: string;
  private readonly producer: LazyKafkaProducer;

  constructor(private readonly options: KafkaNoticePublisherOptions) {
    this.description = `kafka ${options.topic}`;
    this.producer = new LazyKafkaProducer({
      brokers: options.brokers,
      clientId: options.clientId ?? 'open-kms-notices',
      ...(options.topics ? { topics: options.topics } : {}),
      ...(options.onTopicCreated ? { onTopicCreated: options.onTopicCreated } : {}),
      ...(options.ackTimeoutMs !== undefined ? { ackTimeoutMs: options.ackTimeoutMs } : {}),
      ...(options.logLevel !== undefined ? { logLevel: options.logLevel } : {}),
    });
  }

  async publish(notice: Notice): Promise<void> {
    const message = CloudEventsKafka.structured(toCloudEvent(notice));
    await this.producer.send(this.options.topic, [{ key: notice.subject, value: noticeToJson(notice), headers: { ...message.headers } }]);
  }

  /** Create the topic now (when allowed) instead of before the first publish. */
  ensureTopic(): Promise<void> {
    return this.producer.ensureTopics([this.options.topic]);
  }

  close(): Promise<void> {
    return this.producer.close();
  }
}
