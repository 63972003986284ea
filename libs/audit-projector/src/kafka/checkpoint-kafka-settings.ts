import { ConfigError } from '@kms/config';
import { DEFAULT_CHECKPOINT_TOPIC, KafkaCheckpointPublisher } from './kafka-checkpoint-publisher';

/** Where signed checkpoints go in Kafka, from the environment. */
export interface CheckpointKafkaSettings {
  /** KAFKA_BROKERS (comma-separated host:port). Empty: checkpoints are only stored and served over HTTP. */
  brokers: string[];
  /** KMS_CHECKPOINTS_TOPIC, default kms.ledger-checkpoints.v1. */
  topic: string;
  /** KMS_KAFKA_IDEMPOTENT (true|false), default true; false only for librdkafka's mock cluster. */
  idempotentProducer: boolean;
  /** KAFKA_CLIENT_ID, default open-kms-audit-projector. */
  clientId: string;
}

/** Build and validate the settings; throws ConfigError naming the bad variable. */
export function loadCheckpointKafkaSettings(env: Record<string, string | undefined> = process.env): CheckpointKafkaSettings {
  const brokers = (env['KAFKA_BROKERS'] ?? '')
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b !== '');
  for (const b of brokers) {
    if (!/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/.test(b)) throw new ConfigError('KAFKA_BROKERS', `"${b}" is not host:port`);
  }
  const topic = env['KMS_CHECKPOINTS_TOPIC'] || DEFAULT_CHECKPOINT_TOPIC;
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic)) throw new ConfigError('KMS_CHECKPOINTS_TOPIC', `"${topic}" is not a valid Kafka topic name`);
  const idempotent = env['KMS_KAFKA_IDEMPOTENT'] ?? 'true';
  if (idempotent !== 'true' && idempotent !== 'false') throw new ConfigError('KMS_KAFKA_IDEMPOTENT', `must be true or false, got "${idempotent}"`);
  return { brokers, topic, idempotentProducer: idempotent === 'true', clientId: env['KAFKA_CLIENT_ID'] || 'open-kms-audit-projector' };
}

/** The Kafka checkpoint publisher the environment asks for: one when KAFKA_BROKERS is set, else undefined. */
export function checkpointPublisherFromEnv(env: Record<string, string | undefined> = process.env): KafkaCheckpointPublisher | undefined {
  const s = loadCheckpointKafkaSettings(env);
  if (s.brokers.length === 0) return undefined;
  return new KafkaCheckpointPublisher({ brokers: s.brokers, topic: s.topic, idempotent: s.idempotentProducer, clientId: s.clientId });
}
