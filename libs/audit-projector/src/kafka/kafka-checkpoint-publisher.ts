import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
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
  /** Idempotent producer; true on real clusters, false only for librdkafka's mock cluster (see KafkaNoticePublisher). */
  idempotent?: boolean;
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
 * on one partition, in tree-size order), acks = -1, one request in flight. A failed send drops the
 * producer and the next call reconnects; the error reaches the caller (the projection runner reports it).
 */
export class KafkaCheckpointPublisher implements CheckpointPublisher {
  readonly topic: string;
  private readonly kafka: Kafka;
  private producer: Promise<Producer> | null = null;
  private closed = false;

  constructor(private readonly options: KafkaCheckpointPublisherOptions) {
    if (options.brokers.length === 0) throw new Error('KafkaCheckpointPublisher needs at least one broker');
    this.topic = options.topic ?? DEFAULT_CHECKPOINT_TOPIC;
    this.kafka = new Kafka({
      clientId: options.clientId ?? 'open-kms-audit-projector',
      brokers: options.brokers,
      connectionTimeout: 3000,
      logLevel: options.logLevel ?? logLevel.ERROR,
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
    });
  }

  async publish(checkpoint: StoredCheckpoint): Promise<void> {
    if (this.closed) throw new Error('checkpoint publisher is closed');
    const producer = await this.connected();
    try {
      await producer.send({
        topic: this.topic,
        acks: -1,
        timeout: this.options.ackTimeoutMs ?? 10_000,
        messages: [
          {
            key: checkpoint.origin,
            value: JSON.stringify(checkpointMessage(checkpoint)),
            headers: { 'content-type': 'application/json', format: CHECKPOINT_MESSAGE_FORMAT },
          },
        ],
      });
    } catch (e) {
      await this.reset();
      throw e;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.reset();
  }

  private connected(): Promise<Producer> {
    if (!this.producer) {
      const producer = this.kafka.producer({
        idempotent: this.options.idempotent ?? true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: true,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      const ready = producer.connect().then(() => producer);
      this.producer = ready;
      ready.catch(() => {
        if (this.producer === ready) this.producer = null;
      });
    }
    return this.producer;
  }

  private async reset(): Promise<void> {
    const current = this.producer;
    this.producer = null;
    if (current) await current.then((p) => p.disconnect()).catch(() => undefined);
  }
}
