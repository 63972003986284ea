import { z } from 'zod';
import { envVar } from './env-schema';
import { kafkaTopicFields, kafkaTopicSettings, type KafkaTopicSettings } from './kafka.config';

/** Notice settings (rotation notices and dependents' confirmations through Kafka). */
export interface NoticesConfig {
  /** KAFKA_BROKERS (comma-separated host:port). Empty: standalone, notices are only recorded. */
  brokers: string[];
  /** KMS_NOTICES_TOPIC, default kms.key-lifecycle.v1. */
  topic: string;
  /** KMS_NOTICES_SOURCE: CloudEvents source, default /open-kms. */
  source: string;
  /** KMS_NOTICES_CONFIRM_WITHIN_HOURS: dependents' deadline after a rotation, default 24. */
  confirmWithinMs: number;
  /** KMS_KAFKA_CREATE_TOPICS, KMS_KAFKA_TOPIC_PARTITIONS, KMS_KAFKA_REPLICATION_FACTOR, KMS_KAFKA_MIN_INSYNC_REPLICAS. */
  topics: KafkaTopicSettings;
  /** KMS_NOTICES_MAX_LAG_SECONDS: readiness fails when a notice waited longer, default 900. */
  maxLagSeconds: number;
  /** KAFKA_CLIENT_ID, default open-kms-notices. */
  clientId: string;
  /** KMS_CONFIRMATIONS_TOPIC: where dependents confirm new versions, default kms.key-confirmations.v1. */
  confirmationsTopic: string;
}

// The same names as DEFAULT_NOTICE_TOPIC (@kms/notices) and DEFAULT_CONFIRMATION_TOPIC (@kms/notices-kafka),
// which cannot be imported here (those libs depend on this one); notices.config.spec.ts pins them.
export const noticesSchema = z
  .object({
    KAFKA_BROKERS: envVar.brokers(),
    KMS_NOTICES_TOPIC: envVar.topic('kms.key-lifecycle.v1'),
    KMS_CONFIRMATIONS_TOPIC: envVar.topic('kms.key-confirmations.v1'),
    KMS_NOTICES_SOURCE: envVar.text('/open-kms'),
    KMS_NOTICES_CONFIRM_WITHIN_HOURS: envVar.positiveNumber(24),
    KMS_NOTICES_MAX_LAG_SECONDS: envVar.positiveNumber(900),
    KAFKA_CLIENT_ID: envVar.text('open-kms-notices'),
    ...kafkaTopicFields,
  })
  .transform(
    (v, ctx): NoticesConfig => ({
      brokers: v.KAFKA_BROKERS,
      topic: v.KMS_NOTICES_TOPIC,
      source: v.KMS_NOTICES_SOURCE,
      confirmWithinMs: v.KMS_NOTICES_CONFIRM_WITHIN_HOURS * 3_600_000,
      topics: kafkaTopicSettings(v, ctx),
      maxLagSeconds: v.KMS_NOTICES_MAX_LAG_SECONDS,
      clientId: v.KAFKA_CLIENT_ID,
      confirmationsTopic: v.KMS_CONFIRMATIONS_TOPIC,
    }),
  );
