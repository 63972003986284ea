import { z } from 'zod';
import { envVar, failOn } from './env-schema';

/** How the KMS's Kafka topics are created (shared by notices, confirmations, checkpoints and anomalies). */
export interface KafkaTopicSettings {
  /**
   * KMS_KAFKA_CREATE_TOPICS (true|false), default true: create a missing topic with an admin client
   * before using it. false where operators create topics (the KMS then needs no CreateTopics right,
   * and a missing topic shows as a failing publish instead of being auto-created).
   */
  create: boolean;
  /** KMS_KAFKA_TOPIC_PARTITIONS, default 6. Order is per message key, so any count works. */
  partitions: number;
  /** KMS_KAFKA_REPLICATION_FACTOR; null (default) = min(3, brokers in the cluster). */
  replicationFactor: number | null;
  /** KMS_KAFKA_MIN_INSYNC_REPLICAS; null (default) = replication factor − 1, at least 1 (2 of 3). */
  minInsyncReplicas: number | null;
}

export const DEFAULT_KAFKA_TOPIC_SETTINGS: KafkaTopicSettings = { create: true, partitions: 6, replicationFactor: null, minInsyncReplicas: null };

/** The topic creation variables, as fields of a section's schema (several sections share them). */
export const kafkaTopicFields = {
  KMS_KAFKA_IDEMPOTENT: z
    .string()
    .optional()
    // The switch existed only for librdkafka's mock cluster; a real cluster always gets the idempotent producer.
    .refine((v) => v === undefined || v === 'true', 'is no longer read: the producer is always idempotent (acks=all); unset it'),
  KMS_KAFKA_CREATE_TOPICS: z
    .string()
    .optional()
    .transform((v) => v || 'true')
    .refine((v) => v === 'true' || v === 'false', { error: (i) => `must be true or false, got "${String(i.input)}"` }),
  KMS_KAFKA_TOPIC_PARTITIONS: envVar.integer(DEFAULT_KAFKA_TOPIC_SETTINGS.partitions, 1, 10_000),
  KMS_KAFKA_REPLICATION_FACTOR: envVar.integer(null, 1, 32_767),
  KMS_KAFKA_MIN_INSYNC_REPLICAS: envVar.integer(null, 1, 32_767),
};

type TopicFields = { [K in Exclude<keyof typeof kafkaTopicFields, 'KMS_KAFKA_IDEMPOTENT'>]: z.output<(typeof kafkaTopicFields)[K]> };

/** The topic settings from parsed fields; refuses more in-sync replicas than replicas. */
export function kafkaTopicSettings(v: TopicFields, ctx: z.core.$RefinementCtx<unknown>): KafkaTopicSettings {
  const { KMS_KAFKA_REPLICATION_FACTOR: replicationFactor, KMS_KAFKA_MIN_INSYNC_REPLICAS: minInsyncReplicas } = v;
  if (replicationFactor !== null && minInsyncReplicas !== null && minInsyncReplicas > replicationFactor) {
    return failOn(
      ctx,
      'KMS_KAFKA_MIN_INSYNC_REPLICAS',
      `must not exceed KMS_KAFKA_REPLICATION_FACTOR (${replicationFactor}), got ${minInsyncReplicas}: no write could ever be acknowledged`,
    );
  }
  return { create: v.KMS_KAFKA_CREATE_TOPICS === 'true', partitions: v.KMS_KAFKA_TOPIC_PARTITIONS, replicationFactor, minInsyncReplicas };
}
