import type { EventStore } from '@kms/event-store';
import { JwksProjection, NoticeMapper, type NoticePublisher, OutboxRelay, type PublicKeySource } from '@kms/notices';
import { createPgPool, type PostgresTarget, runMigrations } from '@kms/persistence-postgres';
import type { Pool } from 'pg';
import type { Registry } from 'prom-client';
import { Logger } from '@nestjs/common';
import { type ConfirmationSink, KafkaConfirmationConsumer } from './kafka/confirmation-consumer';
import { KafkaNoticePublisher } from './kafka/kafka-notice-publisher';
import type { NoticeSettings } from './kafka/notice-settings';
import { NoticeMetrics } from './metrics/notice-metrics';
import { noticeMigrations } from './postgres/notices.migration';
import { PostgresNoticeStore } from './postgres/postgres-notice-store';

/** A readiness check as @kms/platform's HealthRegistry takes it (structural: this lib may not import platform). */
export interface NoticesHealthCheck {
  readonly name: string;
  check(): Promise<void>;
}

/** What the composition root hands the notices module. */
export interface NoticesDependencies {
  settings: NoticeSettings;
  /** Database and schema of the notice tables (migrated on start). */
  postgres: PostgresTarget;
  /** The key service's event store: the source of notices and of the JWKS. */
  eventStore: EventStore;
  /** Highest global position in the event store, for the lag figure. */
  eventsHead?: () => Promise<bigint>;
  /** SPKI of a key version: the key service's backends. */
  publicKeySource: PublicKeySource;
  /** Checks the Authorization header of GET /v1/notices; absent = open (the notices carry no secrets). */
  authorizeRead?: (authorization: string | undefined) => Promise<boolean>;
  /**
   * Records confirmations read from `settings.confirmationsTopic` (the key service's gRPC API, as the
   * dependent). Without it, or without brokers, dependents confirm over gRPC only.
   */
  confirmationSink?: ConfirmationSink;
  /** Replaces the Kafka publisher built from `settings.brokers` (tests). */
  publisher?: NoticePublisher;
  /** kafkajs log level override (tests silence it). */
  kafkaLogLevel?: number;
}

/** Everything the notices module runs: pool, store, relay, publisher, JWKS projection, metrics. */
export class NoticesRuntime {
  readonly pool: Pool;
  readonly store: PostgresNoticeStore;
  readonly publisher: NoticePublisher | undefined;
  readonly relay: OutboxRelay;
  readonly jwks: JwksProjection;
  readonly authorizeRead: NoticesDependencies['authorizeRead'];
  readonly confirmations: KafkaConfirmationConsumer | undefined;
  private readonly logger = new Logger('notices');

  constructor(
    private readonly deps: NoticesDependencies,
    metrics: Registry,
  ) {
    const s = deps.settings;
    this.pool = createPgPool(deps.postgres, { max: 4, application_name: 'kms-notices' });
    this.store = new PostgresNoticeStore(this.pool);
    this.publisher =
      deps.publisher ??
      (s.brokers.length > 0
        ? new KafkaNoticePublisher({ brokers: s.brokers, topic: s.topic, clientId: s.clientId, idempotent: s.idempotentProducer, ...(deps.kafkaLogLevel !== undefined ? { logLevel: deps.kafkaLogLevel } : {}) })
        : undefined);
    const m = new NoticeMetrics(metrics, () => this.relay);
    this.relay = new OutboxRelay(deps.eventStore, {
      mapper: new NoticeMapper({ source: s.source, confirmWithinMs: s.confirmWithinMs }),
      store: this.store,
      publisher: this.publisher,
      eventsHead: deps.eventsHead,
      onAcknowledged: (n, ms) => m.acknowledged(n, ms),
      onRetry: (stage) => m.retried(stage),
    });
    this.jwks = new JwksProjection(deps.publicKeySource);
    this.confirmations =
      deps.confirmationSink && s.brokers.length > 0
        ? new KafkaConfirmationConsumer(deps.confirmationSink, {
            brokers: s.brokers,
            topic: s.confirmationsTopic,
            clientId: `${s.clientId}-confirmations`,
            ...(deps.kafkaLogLevel !== undefined ? { logLevel: deps.kafkaLogLevel } : {}),
          })
        : undefined;
    this.authorizeRead = deps.authorizeRead;
  }

  /** Migrate, catch the JWKS up and start the relay (which does not wait for the broker). */
  async start(): Promise<void> {
    await runMigrations(this.deps.postgres, noticeMigrations);
    await this.jwks.start(this.deps.eventStore);
    await this.relay.start();
    // In the background: kafkajs keeps retrying while the broker is away; start-up does not wait for it.
    void this.confirmations?.start().catch((e: unknown) => this.logger.error(`confirmations consumer stopped: ${e instanceof Error ? e.message : String(e)}`));
  }

  async stop(): Promise<void> {
    await this.confirmations?.stop();
    await this.relay.stop();
    await this.jwks.stop();
    await this.publisher?.close();
    await this.pool.end();
  }

  /**
   * Readiness "notices.relay": fails when the relay stopped on an error or a notice has waited longer
   * than maxLagSeconds (the message carries the figures); GET /v1/notices/status always has them.
   */
  healthCheck(): NoticesHealthCheck {
    const maxLag = this.deps.settings.maxLagSeconds;
    return {
      name: 'notices.relay',
      check: async () => {
        const s = this.relay.snapshot();
        if (s.state === 'failed') throw new Error(`relay stopped: ${s.lastError ?? 'unknown error'}`);
        const lag = await this.relay.lag();
        if (lag.oldestUnpublishedSeconds > maxLag) {
          throw new Error(
            `oldest unpublished notice waited ${Math.round(lag.oldestUnpublishedSeconds)} s (max ${maxLag}), ${lag.positions} positions behind: ${s.lastError ?? ''}`,
          );
        }
      },
    };
  }
}
