import { Kafka, logLevel, type Message, Partitioners, type Producer } from 'kafkajs';

export interface LazyKafkaProducerOptions {
  brokers: string[];
  clientId: string;
  /**
   * Idempotent producer (one copy per send across retries): use it on real clusters. librdkafka
   * 2.0.2's mock cluster reports controller id 0, which breaks kafkajs' InitProducerId, so tests turn
   * it off; ordering then rests on maxInFlightRequests = 1.
   */
  idempotent: boolean;
  /** How long one send may wait for the acks of every in-sync replica. Default 10 s. */
  ackTimeoutMs?: number;
  /** kafkajs log level; default ERROR. */
  logLevel?: logLevel;
}

/**
 * The one kafkajs producer lifecycle the KMS's publishers share: connect on first send, acks=-1 with
 * one request in flight (per-key order), and after a failed send drop the producer so the next send
 * reconnects and finds a broker that came back or a new leader. Errors go back to the caller, whose
 * outbox or checkpoint decides when to retry.
 */
export class LazyKafkaProducer {
  private readonly kafka: Kafka;
  private producer: Promise<Producer> | null = null;
  private closed = false;

  constructor(private readonly options: LazyKafkaProducerOptions) {
    if (options.brokers.length === 0) throw new Error(`${options.clientId}: at least one Kafka broker is needed`);
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: options.brokers,
      connectionTimeout: 3000,
      logLevel: options.logLevel ?? logLevel.ERROR,
      // Few client retries: callers retry with their own backoff and report the lag.
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
    });
  }

  /** Send messages to a topic; resolves after every in-sync replica acknowledged. */
  async send(topic: string, messages: Message[]): Promise<void> {
    if (this.closed) throw new Error(`${this.options.clientId}: the Kafka producer is closed`);
    const producer = await this.connected();
    try {
      await producer.send({ topic, acks: -1, timeout: this.options.ackTimeoutMs ?? 10_000, messages });
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
        idempotent: this.options.idempotent,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: true,
        // Java-compatible murmur2: partners' Java/librdkafka clients agree on key -> partition.
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
