import { resolve } from 'node:path';
import { z } from 'zod';
import { Secret } from './config-error';
import { envVar, failOn } from './env-schema';
import { kafkaTopicFields, kafkaTopicSettings, type KafkaTopicSettings } from './kafka.config';
import type { WorkloadCredentialSource } from './rotation-scheduler.config';

/** The detector's runtime settings, beside the rules file. */
export interface AnomalyDetectorConfig {
  /** KMS_ANOMALY_RULES_FILE: JSON rules file; defaults apply when unset. */
  rulesFile: string | null;
  /** KMS_ANOMALY_KMS_ADDRESS: key service gRPC address for containment; unset: the local key service. */
  kmsAddress: string | null;
  /**
   * KMS_ANOMALY_CLIENT_ID / KMS_ANOMALY_CLIENT_SECRET (secret), or KMS_ANOMALY_CREDENTIAL_FILE (a 0600 JSON file
   * {client_id, client_secret}, as the provision step writes it): the detector's workload credential.
   * null: findings are recorded, nothing is contained.
   */
  credential: WorkloadCredentialSource | null;
  /** KMS_ANOMALY_KAFKA_BROKERS: comma-separated; no broker, no Kafka notices. */
  kafkaBrokers: string[];
  /** How kms.anomalies.v1 is created (KMS_KAFKA_CREATE_TOPICS and friends, shared with the notices). */
  kafkaTopics: KafkaTopicSettings;
  /** KMS_ANOMALY_POLL_MS (default 500) and KMS_ANOMALY_BATCH (default 1000). */
  pollMs: number;
  batchSize: number;
  /** KMS_ANOMALY_RULES_WATCH_MS (default 2000): how often the rules file's mtime is checked; 0 = SIGHUP only. */
  rulesWatchMs: number;
}

export function anomalyDetectorSchema(cwd: string) {
  return z
    .object({
      KMS_ANOMALY_RULES_FILE: envVar.text(null),
      KMS_ANOMALY_KMS_ADDRESS: envVar.text(null),
      KMS_ANOMALY_CLIENT_ID: envVar.text(null),
      KMS_ANOMALY_CLIENT_SECRET: envVar.text(null),
      KMS_ANOMALY_CREDENTIAL_FILE: envVar.text(null),
      KMS_ANOMALY_KAFKA_BROKERS: envVar.brokers(),
      KMS_ANOMALY_POLL_MS: envVar.atLeast(500, 10),
      KMS_ANOMALY_BATCH: envVar.atLeast(1000, 1),
      KMS_ANOMALY_RULES_WATCH_MS: envVar.atLeast(2000, 0),
      ...kafkaTopicFields,
    })
    .transform((v, ctx): AnomalyDetectorConfig => {
      const { KMS_ANOMALY_CLIENT_ID: id, KMS_ANOMALY_CLIENT_SECRET: secret, KMS_ANOMALY_CREDENTIAL_FILE: file } = v;
      let credential: WorkloadCredentialSource | null = null;
      if (file && (id || secret)) {
        return failOn(ctx, 'KMS_ANOMALY_CREDENTIAL_FILE', 'set either KMS_ANOMALY_CREDENTIAL_FILE or KMS_ANOMALY_CLIENT_ID/KMS_ANOMALY_CLIENT_SECRET, not both');
      }
      if ((id === null) !== (secret === null)) return failOn(ctx, id ? 'KMS_ANOMALY_CLIENT_SECRET' : 'KMS_ANOMALY_CLIENT_ID', 'set both the client id and secret, or neither');
      if (file) credential = { kind: 'file', path: resolve(cwd, file) };
      else if (id && secret) credential = { kind: 'env', value: { clientId: id, clientSecret: new Secret(secret) } };
      return {
        rulesFile: v.KMS_ANOMALY_RULES_FILE,
        kmsAddress: v.KMS_ANOMALY_KMS_ADDRESS,
        credential,
        kafkaBrokers: v.KMS_ANOMALY_KAFKA_BROKERS,
        kafkaTopics: kafkaTopicSettings(v, ctx),
        pollMs: v.KMS_ANOMALY_POLL_MS,
        batchSize: v.KMS_ANOMALY_BATCH,
        rulesWatchMs: v.KMS_ANOMALY_RULES_WATCH_MS,
      };
    });
}
