import type { IntegrityAlarm } from '@kms/application';
import {
  AnomalyDetectorModule,
  AnomalyDetectorService,
  type AnomalyDetectorSettings,
  detectorStateMigrations,
  GrpcContainmentGateway,
  KafkaAnomalyPublisher,
  loadRulesFile,
  PostgresDetectorStateStore,
  PostgresKeyUseLookup,
  watchRules,
} from '@kms/anomaly-detector';
import type { KmsConfig } from '@kms/config';
import type { EventStore } from '@kms/event-store';
import { type AuditSealer, PostgresAuditFeed, prepareSchema } from '@kms/persistence-postgres';
import type { DynamicModule } from '@nestjs/common';
import type { Pool } from 'pg';

/** What the detector runs on: the audit log's database and a store whose appends commit with an audit record. */
export interface AnomalyDetectorRuntime {
  pool: Pool;
  /** Checks every audit record's seal before the rules see it (the key service's audit seal key). */
  auditSealer: AuditSealer;
  /** Findings are events the detector writes on its own behalf: each commits with its audit record. */
  events: EventStore;
  now: () => Date;
  log: (level: 'log' | 'warn' | 'error', message: string) => void;
  /** The process's integrity alarm, when this module is the one to show it (the detector app). */
  integrity?: IntegrityAlarm;
}

/** The detector, its module, and how to stop watching the rules file. */
export interface ComposedAnomalyDetector {
  detector: AnomalyDetectorService;
  module: DynamicModule;
  stopWatchingRules(): void;
}

/**
 * The anomaly detector: follows the audit log, records findings and contains them over gRPC as its
 * own workload (when it has a credential). Rules reload on SIGHUP and when the file changes; a bad
 * file is refused and the rules in force stay. The detector app and standalone mode both use it;
 * the caller starts the detector once its app is up.
 */
export async function composeAnomalyDetector(config: KmsConfig, runtime: AnomalyDetectorRuntime, settings: AnomalyDetectorSettings): Promise<ComposedAnomalyDetector> {
  const rules = loadRulesFile(settings.rulesFile);
  // Its tables are the migrate step's (as the owner); the service role only checks they are there.
  await prepareSchema(config.postgres, detectorStateMigrations);
  const state = new PostgresDetectorStateStore(runtime.pool);
  const containment = settings.clientId && settings.clientSecret ? new GrpcContainmentGateway(settings.kmsAddress, settings.clientId, settings.clientSecret) : null;
  const detector = new AnomalyDetectorService(rules, {
    feed: new PostgresAuditFeed(runtime.pool, runtime.auditSealer),
    uses: new PostgresKeyUseLookup(runtime.pool, runtime.auditSealer),
    events: runtime.events,
    state,
    publisher: settings.kafkaBrokers.length > 0 ? new KafkaAnomalyPublisher(settings.kafkaBrokers, { topics: settings.kafkaTopics }) : null,
    containment,
    selfIdentityId: settings.clientId,
    source: `urn:kms:anomaly-detector:${config.http.host}:${config.http.port}`,
    batchSize: settings.batchSize,
    pollMs: settings.pollMs,
    now: runtime.now,
    log: runtime.log,
  });
  const stopWatchingRules = watchRules(settings.rulesFile, detector, (level, m) => runtime.log(level, m), { fileIntervalMs: settings.rulesWatchMs });
  // The module reports the follower on /readyz ("anomaly-detector.follower") and /metrics, and stops it on close.
  return { detector, module: AnomalyDetectorModule.forRoot(config, { detector, ...(runtime.integrity ? { integrity: runtime.integrity } : {}) }), stopWatchingRules };
}
