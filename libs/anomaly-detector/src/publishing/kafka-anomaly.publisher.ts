import type { AnomalyFinding } from '@kms/anomaly-rules';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { ANOMALY_TOPIC, anomalyCloudEventJson, type AnomalyPublisher } from './anomaly-publisher.port';

/** Publishes anomaly notices to Kafka (acks from all in-sync replicas, idempotent producer). */
export class KafkaAnomalyPublisher implements AnomalyPublisher {
  readonly description: string;
  private readonly producer: Producer;
  private connected: Promise<void> | undefined;

  constructor(
    brokers: string[],
    private readonly topic = ANOMALY_TOPIC,
  ) {
    this.description = `kafka ${topic}`;
    this.producer = new Kafka({ clientId: 'kms-anomaly-detector', brokers, logLevel: logLevel.NOTHING }).producer({ idempotent: true, maxInFlightRequests: 1 });
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
