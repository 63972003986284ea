import type { AnomalyFinding } from '@kms/anomaly-rules';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { ANOMALY_TOPIC, anomalyCloudEventJson, type AnomalyPublisher } from './anomaly-publisher.port';

/** Options of the Kafka publisher. */
export interface KafkaAnomalyPublisherOptions {
  /** Topic (default `kms.anomalies.v1`). */
  topic?: string;
  /**
   * Idempotent producer (default true: broker-side retries do not duplicate). `false` only for
   * librdkafka's mock cluster, whose controller id 0 breaks kafkajs' InitProducerId.
   */
  idempotent?: boolean;
}

/** Publishes anomaly notices to Kafka (acks from all in-sync replicas, idempotent producer by default). */
export class KafkaAnomalyPublisher implements AnomalyPublisher {
  readonly description: string;
  private readonly producer: Producer;
  private readonly topic: string;
  /** Whether the producer is idempotent (true unless turned off for the mock cluster). */
  readonly idempotent: boolean;
  private connected: Promise<void> | undefined;

  /** `options` may be a topic name (the former second argument) or the options object. */
  constructor(brokers: string[], options: string | KafkaAnomalyPublisherOptions = {}) {
    const o: KafkaAnomalyPublisherOptions = typeof options === 'string' ? { topic: options } : options;
    this.topic = o.topic ?? ANOMALY_TOPIC;
    this.idempotent = o.idempotent ?? true;
    this.description = `kafka ${this.topic}`;
    this.producer = new Kafka({ clientId: 'kms-anomaly-detector', brokers, logLevel: logLevel.NOTHING }).producer({ idempotent: this.idempotent, maxInFlightRequests: 1 });
  }

  async publish(finding: AnomalyFinding, source: string): Promise<void> {
    this.connected ??= this.producer.connect();
    await this.connected;
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: [{ key: finding.identityId ?? finding.keyId ?? finding.id, value: anomalyCloudEventJson(finding, source, new Date(finding.window.start)) }],
    });
  }

  async close(): Promise<void> {
    if (this.connected) await this.producer.disconnect();
  }
}
