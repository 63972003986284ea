import { ConfigError } from '@kms/config';
import { DEFAULT_NOTICE_TOPIC } from '@kms/notices';
import { DEFAULT_CONFIRMATION_TOPIC } from './confirmation-consumer';

/** Notice settings, from the environment. */
export interface NoticeSettings {
  /** KAFKA_BROKERS (comma-separated host:port). Empty: standalone, notices are only recorded. */
  brokers: string[];
  /** KMS_NOTICES_TOPIC, default kms.key-lifecycle.v1. */
  topic: string;
  /** KMS_NOTICES_SOURCE: CloudEvents source, default /open-kms. */
  source: string;
  /** KMS_NOTICES_CONFIRM_WITHIN_HOURS: dependents' deadline after a rotation, default 24. */
  confirmWithinMs: number;
  /** KMS_KAFKA_IDEMPOTENT (true|false), default true; false only for librdkafka's mock cluster. */
  idempotentProducer: boolean;
  /** KMS_NOTICES_MAX_LAG_SECONDS: readiness fails when a notice waited longer, default 900. */
  maxLagSeconds: number;
  /** KAFKA_CLIENT_ID, default open-kms-notices. */
  clientId: string;
  /** KMS_CONFIRMATIONS_TOPIC: where dependents confirm new versions, default kms.key-confirmations.v1. */
  confirmationsTopic: string;
}

function positiveNumber(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(name, `must be a positive number, got "${raw}"`);
  return n;
}

/** Build and validate the notice settings; throws ConfigError naming the bad variable. */
export function loadNoticeSettings(env: Record<string, string | undefined> = process.env): NoticeSettings {
  const brokers = (env['KAFKA_BROKERS'] ?? '')
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b !== '');
  for (const b of brokers) {
    if (!/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/.test(b)) throw new ConfigError('KAFKA_BROKERS', `"${b}" is not host:port`);
  }
  const topic = env['KMS_NOTICES_TOPIC'] || DEFAULT_NOTICE_TOPIC;
  // Kafka's own rule for topic names.
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic)) throw new ConfigError('KMS_NOTICES_TOPIC', `"${topic}" is not a valid Kafka topic name`);
  const confirmationsTopic = env['KMS_CONFIRMATIONS_TOPIC'] || DEFAULT_CONFIRMATION_TOPIC;
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(confirmationsTopic)) throw new ConfigError('KMS_CONFIRMATIONS_TOPIC', `"${confirmationsTopic}" is not a valid Kafka topic name`);
  const idempotent = env['KMS_KAFKA_IDEMPOTENT'] ?? 'true';
  if (idempotent !== 'true' && idempotent !== 'false') throw new ConfigError('KMS_KAFKA_IDEMPOTENT', `must be true or false, got "${idempotent}"`);
  return {
    brokers,
    topic,
    source: env['KMS_NOTICES_SOURCE'] || '/open-kms',
    confirmWithinMs: positiveNumber(env, 'KMS_NOTICES_CONFIRM_WITHIN_HOURS', 24) * 3_600_000,
    idempotentProducer: idempotent === 'true',
    maxLagSeconds: positiveNumber(env, 'KMS_NOTICES_MAX_LAG_SECONDS', 900),
    clientId: env['KAFKA_CLIENT_ID'] || 'open-kms-notices',
    confirmationsTopic,
  };
}
