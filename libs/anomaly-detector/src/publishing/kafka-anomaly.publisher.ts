import type { AnomalyFinding } from '@kms/anomaly-rules';
import { LazyKafkaProducer } from '@kms/notices-kafka';
import { logLevel } from 'kafkajs';
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

/**
 * Publishes anomaly notices to Kafka (acks from all in-sync replicas, idempotent producer by
 * default); a failed send drops the producer so the next one reconnects.
 */
export class KafkaAnomalyPublisher implements AnomalyPublisher {
  readonly description: string;
  private readonly producer: LazyKafkaProducer;
  private readonly topic: string;
  /** Whether the producer is idempotent (true unless turned off for the mock cluster). */
  readonly idempotent: boolean;

  /** `options` may be a topic name (the former second argument) or the options object. */
  constructor(brokers: string[], options: string | KafkaAnomalyPublisherOptions = {}) {
    const o: KafkaAnomalyPublisherOptions = typeof options === 'string' ? { topic: options } : options;
    this.topic = o.topic ?? ANOMALY_TOPIC;
    this.idempotent = o.idempotent ?? true;
    this.description = `kafka ${this.topic}`;
    this.producer = new LazyKafkaProducer({ brokers, clientId: 'kms-anomaly-detector', idempotent: this.idempotent, logLevel: logLevel.NOTHING });
  }

  publish(finding: AnomalyFinding, source: string): Promise<void> {
    return this.producer.send(this.topic, [
      { key: finding.identityId ?? finding.keyId ?? finding.id, value: anomalyCloudEventJson(finding, source, new Date(finding.window.start)) },
    ]);
  }

  close(): Promise<void> {
    return this.producer.close();
  }
}
