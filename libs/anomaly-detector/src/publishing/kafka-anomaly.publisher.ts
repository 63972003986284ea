import type { AnomalyFinding } from '@kms/anomaly-rules';
import { type KafkaTopicSettings, LazyKafkaProducer } from '@kms/notices-kafka';
import { logLevel } from 'kafkajs';
import { ANOMALY_TOPIC, anomalyCloudEventJson, type AnomalyPublisher } from './anomaly-publisher.port';

/** Options of the Kafka publisher. */
export interface KafkaAnomalyPublisherOptions {
  /** Topic (default `kms.anomalies.v1`). */
  topic?: string;
  /** How the topic is created before the first send (default: created, replication min(3, brokers)). */
  topics?: KafkaTopicSettings;
}

/**
 * Publishes anomaly notices to Kafka (acks from all in-sync replicas, idempotent producer, the topic
 * created first when allowed); a failed send drops the producer so the next one reconnects.
 */
export class KafkaAnomalyPublisher implements AnomalyPublisher {
  readonly description: string;
  private readonly producer: LazyKafkaProducer;
  readonly topic: string;

  /** `options` may be a topic name (the former second argument) or the options object. */
  constructor(brokers: string[], options: string | KafkaAnomalyPublisherOptions = {}) {
    const o: KafkaAnomalyPublisherOptions = typeof options === 'string' ? { topic: options } : options;
    this.topic = o.topic ?? ANOMALY_TOPIC;
    this.description = `kafka ${this.topic}`;
    this.producer = new LazyKafkaProducer({ brokers, clientId: 'kms-anomaly-detector', ...(o.topics ? { topics: o.topics } : {}), logLevel: logLevel.NOTHING });
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
