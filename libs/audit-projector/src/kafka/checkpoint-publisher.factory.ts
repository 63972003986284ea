import type { CheckpointsConfig } from '@kms/config';
import { KafkaCheckpointPublisher } from './kafka-checkpoint-publisher';

/** Where signed checkpoints go in Kafka: the configuration's `checkpoints` section. */
export type CheckpointKafkaSettings = CheckpointsConfig;

/** The Kafka checkpoint publisher the configuration asks for: one when KAFKA_BROKERS is set, else undefined. */
export function checkpointPublisherFor(s: CheckpointKafkaSettings): KafkaCheckpointPublisher | undefined {
  if (s.brokers.length === 0) return undefined;
  return new KafkaCheckpointPublisher({ brokers: s.brokers, topic: s.topic, topics: s.topics, clientId: s.clientId });
}
