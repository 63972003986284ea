import { randomUUID } from 'node:crypto';
import { status as grpcStatus } from '@grpc/grpc-js';
import { KmsCallError, type KmsClient } from '@kms/contracts';
import { isUuid } from '@kms/domain';
import { Logger } from '@nestjs/common';
import { type Consumer, Kafka, type KafkaMessage, logLevel as kafkaLogLevel } from 'kafkajs';
import type { KafkaTopicSettings } from './kafka-settings';
import { KafkaTopicProvisioner } from './kafka-topic-provisioner';

/** Default topic dependents confirm on; configurable (KMS_CONFIRMATIONS_TOPIC). */
export const DEFAULT_CONFIRMATION_TOPIC = 'kms.key-confirmations.v1';
/** Consumer group of the KMS on that topic. */
export const CONFIRMATION_CONSUMER_GROUP = 'open-kms-confirmations';

/** A confirmation read off the topic: the same request as gRPC ConfirmKeyVersion, with the dependent's token. */
export interface ConfirmationMessage {
  keyId: string;
  version: number;
  /** The dependent's own access token (IssueToken), from the `authorization: Bearer …` header. */
  token: string;
  /** The message's `request-id` header, or a fresh one: it names the audit record. */
  requestId: string;
}

/** The key service refused the confirmation for good (bad input, unknown caller, not a dependent, ...). */
export class ConfirmationRefused extends Error {
  override readonly name = 'ConfirmationRefused';
  constructor(
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
  }
}

/** Where confirmations go: the key service, which authenticates the token, checks and audits. */
export interface ConfirmationSink {
  /** Resolves when recorded; rejects with ConfirmationRefused for a permanent refusal, anything else is retried. */
  confirm(m: ConfirmationMessage): Promise<void>;
}

/** Refusals that a retry cannot change: the message is dropped (the key service audited it). */
const PERMANENT: ReadonlySet<number> = new Set([
  grpcStatus.INVALID_ARGUMENT,
  grpcStatus.UNAUTHENTICATED,
  grpcStatus.PERMISSION_DENIED,
  grpcStatus.NOT_FOUND,
  grpcStatus.FAILED_PRECONDITION,
]);

/** ConfirmationSink over the key service's gRPC API: exactly what a dependent calling ConfirmKeyVersion gets. */
export function grpcConfirmationSink(client: KmsClient, deadlineMs = 10_000): ConfirmationSink {
  return {
    async confirm(m) {
      try {
        await client.call('ConfirmKeyVersion', { key_id: m.keyId, key_version: m.version }, { token: m.token, requestId: m.requestId, deadlineMs });
      } catch (e) {
        if (e instanceof KmsCallError && PERMANENT.has(e.code)) throw new ConfirmationRefused(e.errorCode ?? String(e.code), e.details);
        throw e;
      }
    },
  };
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function header(message: KafkaMessage, name: string): string | undefined {
  const v = message.headers?.[name];
  const first = Array.isArray(v) ? v[0] : v;
  return first === undefined ? undefined : first.toString('utf8');
}

/**
 * Parse one message of the confirmations topic. Value: JSON `{"keyId": "<uuid>", "version": <n>}`;
 * headers: `authorization: Bearer <token>` (required), `request-id` (optional). Throws
 * ConfirmationRefused naming the field that is wrong; never echoes the token.
 */
export function parseConfirmation(message: KafkaMessage): ConfirmationMessage {
  let body: unknown;
  try {
    body = JSON.parse(message.value?.toString('utf8') ?? '');
  } catch {
    throw new ConfirmationRefused('INVALID_ARGUMENT', 'value: must be JSON {"keyId": "<uuid>", "version": <n>}');
  }
  const b = (body ?? {}) as { keyId?: unknown; version?: unknown };
  if (typeof b.keyId !== 'string' || !isUuid(b.keyId)) throw new ConfirmationRefused('INVALID_ARGUMENT', 'keyId: must be a key id (UUID)');
  if (typeof b.version !== 'number' || !Number.isInteger(b.version) || b.version < 1) {
    throw new ConfirmationRefused('INVALID_ARGUMENT', 'version: must be a whole number, at least 1');
  }
  const auth = header(message, 'authorization');
  const token = auth?.match(/^Bearer ([A-Za-z0-9._~+/=-]+)$/)?.[1];
  if (!token) throw new ConfirmationRefused('UNAUTHENTICATED', 'authorization: header "Bearer <access token>" is required');
  const requestId = header(message, 'request-id');
  return { keyId: b.keyId, version: b.version, token, requestId: requestId && REQUEST_ID.test(requestId) ? requestId : randomUUID() };
}

export interface ConfirmationConsumerOptions {
  brokers: string[];
  topic?: string;
  groupId?: string;
  clientId?: string;
  logLevel?: number;
  /** Create the topic before subscribing (KMS_KAFKA_CREATE_TOPICS and friends); absent: it must exist. */
  topics?: KafkaTopicSettings;
  /**
   * How long the group waits for a silent member before giving its partitions to the others
   * (default 30 s; the broker allows 6 s to 300 s). Heartbeats go every third of it, at most 3 s.
   */
  sessionTimeoutMs?: number;
}

/** Counters for metrics and tests. */
export interface ConfirmationStats {
  confirmed: number;
  refused: number;
  /** Sends to the key service that failed and will be retried. */
  retried: number;
  lastRefusal: string | null;
}

/**
 * Reads dependents' confirmations from a Kafka topic and records each through the key service as the
 * dependent itself (its token), so the topic path has the same checks and audit as gRPC
 * ConfirmKeyVersion. Offsets are committed only after the key service answered: a confirmation is
 * never lost, and replays are harmless (confirming a version again records no second event). A
 * refused message is logged by its coordinates and error code, counted, and skipped.
 *
 * Several KMS instances share the consumer group: when one dies or a member joins, the group
 * rebalances and the partitions' uncommitted messages are delivered again to their new owner.
 */
export class KafkaConfirmationConsumer {
  private readonly logger = new Logger('confirmations');
  private readonly consumer: Consumer;
  private readonly provisioner: KafkaTopicProvisioner | undefined;
  private stopped = false;
  private wake: (() => void) | null = null;
  private readonly counters: ConfirmationStats = { confirmed: 0, refused: 0, retried: 0, lastRefusal: null };
  readonly topic: string;

  constructor(
    private readonly sink: ConfirmationSink,
    options: ConfirmationConsumerOptions,
  ) {
    this.topic = options.topic ?? DEFAULT_CONFIRMATION_TOPIC;
    const kafka = new Kafka({
      clientId: options.clientId ?? 'open-kms-confirmations',
      brokers: options.brokers,
      logLevel: options.logLevel ?? kafkaLogLevel.WARN,
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 10_000 },
    });
    const sessionTimeout = options.sessionTimeoutMs ?? 30_000;
    this.consumer = kafka.consumer({
      groupId: options.groupId ?? CONFIRMATION_CONSUMER_GROUP,
      sessionTimeout,
      heartbeatInterval: Math.min(3000, Math.floor(sessionTimeout / 3)),
      // The topic is created with its settings (or by operators), never by a subscription.
      allowAutoTopicCreation: false,
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 10_000 },
    });
    this.provisioner = options.topics ? new KafkaTopicProvisioner(kafka, options.topics, (t) => this.logger.log(`created topic ${t.topic}: ${t.partitions} partitions, replication factor ${t.replicationFactor}, min.insync.replicas ${t.minInsyncReplicas}`)) : undefined;
  }

  /**
   * Create the topic (retrying while the cluster is unreachable), join the group and consume in the
   * background; kafkajs reconnects by itself while a broker is away. Resolves once consuming.
   */
  async start(): Promise<void> {
    for (let delay = 500; this.provisioner; delay = Math.min(2 * delay, 10_000)) {
      try {
        await this.provisioner.ensure([this.topic]);
        break;
      } catch (e) {
        if (this.stopped) return;
        this.logger.warn(`confirmations topic ${this.topic} not ready, retrying in ${delay} ms: ${e instanceof Error ? e.message : String(e)}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          this.wake = () => (clearTimeout(timer), resolve());
        });
        if (this.stopped) return;
      }
    }
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await this.consumer.run({
      // kafkajs commits only offsets whose eachMessage resolved (after each batch and before a rebalance).
      autoCommit: true,
      eachMessage: async ({ partition, message }) => this.handle(partition, message),
    });
  }

  stats(): ConfirmationStats {
    return { ...this.counters };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.consumer.disconnect();
  }

  private async handle(partition: number, message: KafkaMessage): Promise<void> {
    const where = `${this.topic}[${partition}]@${message.offset}`;
    try {
      await this.sink.confirm(parseConfirmation(message));
      this.counters.confirmed++;
    } catch (e) {
      if (e instanceof ConfirmationRefused) {
        this.counters.refused++;
        this.counters.lastRefusal = `${where}: ${e.errorCode}`;
        this.logger.warn(`confirmation ${where} refused: ${e.errorCode}: ${e.message}`);
        return;
      }
      // Not committed: kafkajs re-delivers it after its retry back-off.
      this.counters.retried++;
      this.logger.warn(`confirmation ${where} not recorded yet, will retry: ${e instanceof Error ? e.message : String(e)}`);
      throw e;
    }
  }
}
