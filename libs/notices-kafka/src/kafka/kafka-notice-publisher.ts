import { noticeToJson, type Notice, type NoticePublisher, toCloudEvent } from '@kms/notices';
import { Kafka as CloudEventsKafka } from 'cloudevents';
import type { logLevel } from 'kafkajs';
import { LazyKafkaProducer } from './lazy-kafka-producer';

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
  private readonly producer: LazyKafkaProducer;

  constructor(private readonly options: KafkaNoticePublisherOptions) {
    this.description = `kafka ${options.topic}`;
    this.producer = new LazyKafkaProducer({
      brokers: options.brokers,
      clientId: options.clientId ?? 'open-kms-notices',
      idempotent: options.idempotent ?? false,
      ...(options.ackTimeoutMs !== undefined ? { ackTimeoutMs: options.ackTimeoutMs } : {}),
      ...(options.logLevel !== undefined ? { logLevel: options.logLevel } : {}),
    });
  }

  async publish(notice: Notice): Promise<void> {
    const message = CloudEventsKafka.structured(toCloudEvent(notice));
    await this.producer.send(this.options.topic, [{ key: notice.subject, value: noticeToJson(notice), headers: { ...message.headers } }]);
  }

  close(): Promise<void> {
    return this.producer.close();
  }
}
