import type { EventStore } from '@kms/event-store';
import { IntegrityNoticeSweep, JwksProjection, NoticeMapper, type NoticePublisher, OutboxRelay, type PublicKeySource } from '@kms/notices';
import { type AuditSealer, createPgPool, PostgresAuditFeed, type PostgresTarget, prepareSchema } from '@kms/persistence-postgres';
import type { Pool } from 'pg';
import type { Registry } from 'prom-client';
import { Logger } from '@nestjs/common';
import { type ConfirmationSink, KafkaConfirmationConsumer } from './kafka/confirmation-consumer';
import { KafkaNoticePublisher } from './kafka/kafka-notice-publisher';
import type { NoticeSettings } from './kafka/notice-settings';
import { NoticeMetrics } from './metrics/notice-metrics';
import { noticeMigrations } from './postgres/notices.migration';
import { PostgresNoticeStore } from './postgres/postgres-notice-store';

/**
 * A readiness check as @kms/platform's HealthRegistry takes it (structural: this lib may not import
 * platform): resolves when fine, resolves `{ degraded }` when working but behind, rejects when down.
 */
export interface NoticesHealthCheck {
  readonly name: string;
  check(): Promise<void | { degraded: string }>;
}

/** What the composition root hands the notices module. */
export interface NoticesDependencies {
  settings: NoticeSettings;
  /** Database and schema of the notice tables (migrated on start). */
  postgres: PostgresTarget;
  /** The key service's event store: the source of notices and of the JWKS. */
  eventStore: EventStore;
  /**
   * Checks the audit trail's seals: integrity alarms recorded there are published as urgent notices
   * (a record whose seal fails is not sent). Without it, alarms are not published.
   */
  auditSealer?: AuditSealer;
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
  /** Sends integrity alarms recorded in the audit trail as urgent notices (only with a publisher). */
  readonly integrityAlarms: IntegrityNoticeSweep | undefined;
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
        ? new KafkaNoticePublisher({
            brokers: s.brokers,
            topic: s.topic,
            clientId: s.clientId,
            topics: s.topics,
            onTopicCreated: (t) => this.logger.log(`created topic ${t.topic}: ${t.partitions} partitions, replication factor ${t.replicationFactor}, min.insync.replicas ${t.minInsyncReplicas}`),
            ...(deps.kafkaLogLevel !== undefined ? { logLevel: deps.kafkaLogLevel } : {}),
          })
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
    this.integrityAlarms =
      this.publisher && deps.auditSealer
      ? new IntegrityNoticeSweep({
          feed: new PostgresAuditFeed(this.pool, deps.auditSealer),
          checkpoints: this.store,
          publisher: this.publisher,
          source: s.source,
          onError: (e) => this.logger.warn(`integrity alarms not published yet: ${e.message}`),
          onPublished: (n) => this.logger.error(`published urgent integrity alarm ${n.id}: ${n.data.source} ${n.data.position ?? ''} ${n.data.problem}`),
        })
      : undefined;
    this.jwks = new JwksProjection(deps.publicKeySource);
    this.confirmations =
      deps.confirmationSink && s.brokers.length > 0
        ? new KafkaConfirmationConsumer(deps.confirmationSink, {
            brokers: s.brokers,
            topic: s.confirmationsTopic,
            clientId: `${s.clientId}-confirmations`,
            topics: s.topics,
            ...(deps.kafkaLogLevel !== undefined ? { logLevel: deps.kafkaLogLevel } : {}),
          })
        : undefined;
    this.authorizeRead = deps.authorizeRead;
  }

  /** Migrate (one role) or check the migrate step ran (service role), catch the JWKS up and start the relay (which does not wait for the broker). */
  async start(): Promise<void> {
    await prepareSchema(this.deps.postgres, noticeMigrations);
    await this.jwks.start(this.deps.eventStore);
    await this.relay.start();
    this.integrityAlarms?.start();
    // The notices topic is created now rather than on the first publish (which waits for it anyway);
    // a cluster that is away is retried by the relay, so this only logs.
    if (this.publisher instanceof KafkaNoticePublisher) {
      void this.publisher.ensureTopic().catch((e: unknown) => this.logger.warn(`notices topic not created yet: ${e instanceof Error ? e.message : String(e)}`));
    }
    // In the background: kafkajs keeps retrying while the broker is away; start-up does not wait for it.
    void this.confirmations?.start().catch((e: unknown) => this.logger.error(`confirmations consumer stopped: ${e instanceof Error ? e.message : String(e)}`));
  }

  async stop(): Promise<void> {
    await this.confirmations?.stop();
    await this.integrityAlarms?.stop();
    await this.relay.stop();
    await this.jwks.stop();
    await this.publisher?.close();
    await this.pool.end();
  }

  /**
   * Readiness "notices.relay": down when the relay stopped on an error or a notice has waited longer
   * than maxLagSeconds; degraded (still ready) while publishing fails and notices wait in the store,
   * e.g. during a broker outage. Both name the figures; GET /v1/notices/status always has them.
   */
  healthCheck(): NoticesHealthCheck {
    const maxLag = this.deps.settings.maxLagSeconds;
    return {
      name: 'notices.relay',
      check: async () => {
        const s = this.relay.snapshot();
        if (s.state === 'failed') throw new Error(`relay stopped: ${s.lastError ?? 'unknown error'}`);
        const lag = await this.relay.lag();
        const figures = `oldest unpublished notice waited ${Math.round(lag.oldestUnpublishedSeconds)} s (max ${maxLag}), ${lag.positions} positions behind`;
        if (lag.oldestUnpublishedSeconds > maxLag) throw new Error(`${figures}: ${s.lastError ?? ''}`);
        if (s.waitingOn && s.waitingOn.attempts > 0) return { degraded: `publishing failed ${s.waitingOn.attempts} times, ${figures}: ${s.lastError ?? ''}` };
        return undefined;
      },
    };
  }
}
