import { type KafkaTopicSettings, LazyKafkaProducer } from '@kms/notices-kafka';
import type { logLevel } from 'kafkajs';
import type { CheckpointPublisher, StoredCheckpoint } from '../ledger/ledger-store';

/** Default topic of signed ledger checkpoints. */
export const DEFAULT_CHECKPOINT_TOPIC = 'kms.ledger-checkpoints.v1';
/** `format` of each message value. */
export const CHECKPOINT_MESSAGE_FORMAT = 'kms.ledger-checkpoint.v1';

/** The value of one checkpoint message (JSON, UTF-8). `note` is the signed note exactly as stored and served. */
export interface CheckpointMessage {
  format: typeof CHECKPOINT_MESSAGE_FORMAT;
  /** `<origin>/<log>`, also the message key. */
  origin: string;
  log: string;
  treeSize: number;
  /** Base64, as in the note body. */
  rootHash: string;
  time: string;
  note: string;
}

export interface KafkaCheckpointPublisherOptions {
  brokers: string[];
  /** Default kms.ledger-checkpoints.v1. */
  topic?: string;
  clientId?: string;
  /** How the topic is created before the first send (default: created, replication min(3, brokers)). */
  topics?: KafkaTopicSettings;
  /** How long one send may wait for the acks of every in-sync replica. Default 10 s. */
  ackTimeoutMs?: number;
  logLevel?: logLevel;
}

export function checkpointMessage(checkpoint: StoredCheckpoint): CheckpointMessage {
  return {
    format: CHECKPOINT_MESSAGE_FORMAT,
    origin: checkpoint.origin,
    log: checkpoint.log,
    treeSize: checkpoint.treeSize,
    rootHash: checkpoint.rootHash.toString('base64'),
    time: checkpoint.time,
    note: checkpoint.note,
  };
}

/**
 * Sends a copy of every signed checkpoint to Kafka, so copies exist outside the database: value =
 * JSON {@link CheckpointMessage} (the signed note plus metadata), key = the log origin (one log stays
 * on one partition, in tree-size order), acks = all from an idempotent producer, one request in flight. A failed send drops the
 * producer and the next call reconnects; the error reaches the caller (the projection runner reports it).
 */
export class KafkaCheckpointPublisher implements CheckpointPublisher {
  readonly topic: string;
  private readonly producer: LazyKafkaProducer;

  constructor(options: KafkaCheckpointPublisherOptions) {
    this.topic = options.topic ?? DEFAULT_CHECKPOINT_TOPIC;
    this.producer = new LazyKafkaProducer({
      brokers: options.brokers,
      clientId: options.clientId ?? 'open-kms-audit-projector',
      ...(options.topics ? { topics: options.topics } : {}),
      ...(options.ackTimeoutMs !== undefined ? { ackTimeoutMs: options.ackTimeoutMs } : {}),
      ...(options.logLevel !== undefined ? { logLevel: options.logLevel } : {}),
    });
  }

  publish(checkpoint: StoredCheckpoint): Promise<void> {
    return this.producer.send(this.topic, [
      {
        key: checkpoint.origin,
        value: JSON.stringify(checkpointMessage(checkpoint)),
        headers: { 'content-type': 'application/json', format: CHECKPOINT_MESSAGE_FORMAT },
      },
    ]);
  }

  close(): Promise<void> {
    return this.producer.close();
  }
}
