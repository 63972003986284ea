import { z } from 'zod';
import { envVar } from './env-schema';
import { kafkaTopicFields, kafkaTopicSettings, type KafkaTopicSettings } from './kafka.config';

/** The audit projector's own settings. */
export interface AuditProjectorConfig {
  /** KMS_LEDGER_ORIGIN: origin prefix of the ledger's checkpoints, default "open-kms/audit-ledger". */
  ledgerOrigin: string;
}

/** Where signed checkpoints go in Kafka. */
export interface CheckpointsConfig {
  /** KAFKA_BROKERS (comma-separated host:port). Empty: checkpoints are only stored and served over HTTP. */
  brokers: string[];
  /** KMS_CHECKPOINTS_TOPIC, default kms.ledger-checkpoints.v1. */
  topic: string;
  /** How the topic is created (KMS_KAFKA_CREATE_TOPICS and friends, shared with the notices). */
  topics: KafkaTopicSettings;
  /** KAFKA_CLIENT_ID, default open-kms-audit-projector. */
  clientId: string;
}

// Same as DEFAULT_LEDGER_ORIGIN (@kms/audit-projector), which depends on this lib.
export const auditProjectorSchema = z
  .object({
    KMS_LEDGER_ORIGIN: z
      .string()
      .optional()
      .transform((v) => v ?? 'open-kms/audit-ledger')
      .refine((v) => /^[A-Za-z0-9._\-/]{1,200}$/.test(v), 'must be letters, digits, ".", "_", "-" and "/" only'),
  })
  .transform((v): AuditProjectorConfig => ({ ledgerOrigin: v.KMS_LEDGER_ORIGIN }));

// Same topic as DEFAULT_CHECKPOINT_TOPIC (@kms/audit-projector).
export const checkpointsSchema = z
  .object({
    KAFKA_BROKERS: envVar.brokers(),
    KMS_CHECKPOINTS_TOPIC: envVar.topic('kms.ledger-checkpoints.v1'),
    KAFKA_CLIENT_ID: envVar.text('open-kms-audit-projector'),
    ...kafkaTopicFields,
  })
  .transform(
    (v, ctx): CheckpointsConfig => ({
      brokers: v.KAFKA_BROKERS,
      topic: v.KMS_CHECKPOINTS_TOPIC,
      topics: kafkaTopicSettings(v, ctx),
      clientId: v.KAFKA_CLIENT_ID,
    }),
  );
