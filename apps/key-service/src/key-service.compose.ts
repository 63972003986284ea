import { EventStoreDBClient } from '@eventstore/db-client';
import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Pool } from 'pg';
import { Logger } from '@nestjs/common';
import {
  type AttestationSigner,
  type AuditLog,
  AuditIntentCommitter,
  AuditIntentReconciler,
  type Change,
  type ChangeCommitter,
  type Clock,
  escrowMaterialFrom,
  IntegrityAlarm,
  type KeyBackends,
  type NotificationSink,
  systemClock,
  HsmAttestationService,
} from '@kms/application';
import { type HistorySealKeys, historySealKeys, type HsmFailure, JurisdictionalHsmBackend, masterKeySealKeys } from '@kms/key-backend-pkcs11';
import type { KmsConfig } from '@kms/config';
import { EventSealer, type EventStore, type SealedHistory } from '@kms/event-store';
import { EsdbEventStore } from '@kms/event-store-esdb';
import { assertSealKeyContinuity, PostgresChangeCommitter, notifyChannelFor, PostgresEventStore } from '@kms/event-store-postgres';
import { ensureMasterKeyFile, loadMasterKey, SoftwareKeyBackend } from '@kms/key-backend-software';
import { loadJurisdictionMasterKeys } from './master-keys.compose';
import {
  AuditSealer,
  createPgPool,
  migratesAtStart,
  MigrationsMissingError,
  missingMigrations,
  PostgresAuditLog,
  PostgresChangeStore,
  PostgresKeyMaterialStore,
  PostgresImportParametersStore,
  PostgresCeremonyKeyStore,
  PostgresSecondFactorStore,
  PostgresConsoleStore,
  PostgresKeySnapshots,
} from '@kms/persistence-postgres';
import { type BootstrapEnrolment, createGrpcHealth, FrameGuard, type KeyServiceDependencies } from '@kms/key-service-grpc';
import { type HealthCheck, postgresCheck } from '@kms/platform';
import { composeHsmInstances, type KeyServiceHsms, recordHsmIdentities } from './hsm-instances.compose';
import { keyServiceMigrationsFor, migrateKms } from './migrate/migrate-kms';

/** Every migration the key service's PostgreSQL tables need (with the PostgreSQL event store). */
export const keyServiceMigrations = keyServiceMigrationsFor({ eventStore: { kind: 'postgres' } });

/**
 * Test-only fault points (KMS_FAULT_INJECTION=`<point>` or `<point>:<Operation>`): the process kills
 * itself there, the way a crash would, so tests can show a change is never durable without its audit
 * record. Points: `change-before-commit` (transaction mode), `change-after-append` (intent mode).
 */
function faultPoint(config: KmsConfig, name: string): ((change: Change) => void) | undefined {
  const [point, operation] = (config.keyService.faultInjection ?? '').split(':');
  if (point !== name) return undefined;
  return (change) => {
    if (operation && change.audit.operation !== operation) return;
    process.kill(process.pid, 'SIGKILL');
  };
}

/** The key service's adapters, built from the configuration, and how to release them. */
export interface KeyServiceRuntime {
  deps: KeyServiceDependencies;
  pool: Pool;
  audit: PostgresAuditLog;
  /** The process's integrity alarm (co-located services in standalone mode raise theirs here too). */
  integrity: IntegrityAlarm;
  /** Seals this service's audit records; readers of its audit trail (projector, detector) check with the same key. */
  auditSealer: AuditSealer;
  /** Things worth telling the operator once (e.g. a master key was created). */
  notices: string[];
  /** The event store's streams as stored and their sealer (PostgreSQL or EventStoreDB): for evidence bundles. */
  sealedHistory?: SealedHistory;
  /** A key for another purpose derived from the master key (co-located services in standalone mode). */
  deriveKey(purpose: string): Buffer;
  /** One attestation bundle per HSM instance (the compliance API's GET /v1/evidence/hsms/{id} in standalone mode). */
  hsmAttestations?: HsmAttestationService;
  close(): Promise<void>;
}

/**
 * Hand the first administrator's one-time enrolment link over: to a 0600 file when configured
 * (replacing the lapsed link of an earlier start), else to standard output (not the logger, so it
 * does not end up in log pipelines). It is not a credential that grants anything by itself: it
 * enrols a security key and an authenticator app, once, before it expires.
 */
async function deliverBootstrapEnrolment(c: BootstrapEnrolment, file: string | undefined): Promise<void> {
  const body = JSON.stringify({ name: c.name, identity_id: c.identityId, enrolment_url: c.enrolmentUrl, enrolment_token: c.enrolmentToken, expires_at: c.expiresAt.toISOString() }, null, 2);
  const howTo = [
    `Open the link in a browser on this machine (use the host name in it: the security key is bound to it),`,
    `enrol a security key and an authenticator app, then sign in at the console with the name "${c.name}".`,
    `On the command line: \`npx kms login\` prints a code; approve it in the console (signed in).`,
    `The link works once, until ${c.expiresAt.toISOString()}; it is not stored anywhere (only its hash).`,
  ];
  if (file) {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    await rm(file, { force: true });
    await writeFile(file, `${body}\n`, { mode: 0o600, flag: 'wx' });
    process.stdout.write([``, `The first administrator "${c.name}" enrols with a one-time link in ${file} (mode 0600).`, ...howTo, ``, ``].join('\n'));
    return;
  }
  process.stdout.write(
    [
      '',
      '================ bootstrap administrator: one-time enrolment link (shown once) ================',
      body,
      ...howTo,
      'Then register people and workloads (README "Access control").',
      '===============================================================================================',
      '',
    ].join('\n'),
  );
}

/** A module or token failure is an audited event like any refused call (fail-closed evidence). */
async function auditHsmFailure(audit: AuditLog, clock: Clock, f: HsmFailure): Promise<void> {
  await audit
    .append({
      id: randomUUID(),
      time: clock.now(),
      requestId: randomUUID(),
      operation: 'HsmModuleFailure',
      actor: 'system:hsm',
      outcome: 'FAILURE',
      errorCode: f.returnCode ?? 'HSM_FAILURE',
      details: { operation: f.operation, reconnecting: f.reconnecting, message: f.message.slice(0, 200) },
    })
    .catch(() => undefined); // the request itself is already answered UNAVAILABLE
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}


/** What a caller may replace in the key service's composition (tests move the clock, collect the bootstrap enrolment link). */
export interface KeyServiceComposeOptions {
  clock?: Clock;
  onBootstrapEnrolment?: (c: BootstrapEnrolment) => void | Promise<void>;
  notifications?: NotificationSink;
  /** The caller ran the migrate step (migrateKms) just before: only check, even with one role. */
  migrated?: boolean;
}

/**
 * The schema the key service needs: with one role for everything (dev, tests) it runs the migrate
 * step itself, as it always did; connected as the service role it only checks the migrate step ran
 * (it holds no owner URL) and refuses to start, naming the missing migrations, otherwise.
 */
async function prepareKeyServiceSchema(config: KmsConfig, options: KeyServiceComposeOptions, notices: string[], sealKeys: HistorySealKeys): Promise<void> {
  if (!options.migrated && (await migratesAtStart(config.postgres))) {
    notices.push(...(await migrateKms(config, { ...(options.clock ? { clock: options.clock } : {}), sealKeys })).notices);
    return;
  }
  const missing = await missingMigrations(config.postgres, keyServiceMigrationsFor(config));
  if (missing.length > 0) throw new MigrationsMissingError(config.postgres.schema, missing);
}

/**
 * Composition of the key service: its schema (prepareKeyServiceSchema), pools, event store, key material, master key, backends
 * and audit log, all from the validated configuration. The key service app and standalone mode both
 * boot from it (key-service.app.ts); the provision step uses it without opening a port.
 */
export async function composeKeyService(
  config: KmsConfig,
  options: KeyServiceComposeOptions = {},
): Promise<KeyServiceRuntime> {
  const notices: string[] = [];
  if (config.standalone && config.masterKey.kind === 'file') {
    if (await ensureMasterKeyFile(config.masterKey.path)) {
      notices.push(`created a new master key at ${config.masterKey.path} (mode 0600); back it up: without it no key can be unwrapped`);
    }
  }
  const masterKey = await loadMasterKey(config.masterKey);
  const jurisdictionMasterKeys = await loadJurisdictionMasterKeys(config, notices);

  const clock = options.clock ?? systemClock;
  // The HSMs come first: with the KMS_HSM_* one, the history seal keys are derived inside it.
  let hsms: KeyServiceHsms | undefined;
  // The audit log comes later; HSM failures before it are boot failures, reported as such.
  const hsmAudit: { log?: AuditLog } = {};
  let sealKeys: HistorySealKeys;
  try {
    hsms = await composeHsmInstances(config, notices, (f) => void (hsmAudit.log && auditHsmFailure(hsmAudit.log, clock, f)));
    sealKeys = await historySealKeys(hsms?.custody?.pool, masterKey);
  } catch (e) {
    await hsms?.close().catch(() => undefined);
    throw e;
  }
  try {
    // With one role, the migrate step (and its seal upgrade, with these keys) runs here.
    await prepareKeyServiceSchema(config, options, notices, sealKeys);
  } catch (e) {
    await hsms?.close().catch(() => undefined);
    throw e;
  }
  const pool = createPgPool(config.postgres, { max: 20, application_name: 'kms-key-service' });
  // Every event and every audit record is sealed when written and checked when read (see docs/audit-and-evidence.md).
  const sealer = new EventSealer(sealKeys.events);
  const auditSealer = new AuditSealer(sealKeys.audit);
  if (config.eventStore.kind === 'postgres') {
    // Never start on history sealed with other keys (e.g. an HSM configured on a store the master key sealed).
    const master = masterKeySealKeys(masterKey);
    await assertSealKeyContinuity(
      pool,
      { events: sealer, audit: auditSealer, name: sealKeys.source },
      sealKeys.source === 'HSM' ? { events: new EventSealer(master.events), audit: new AuditSealer(master.audit), name: master.source } : undefined,
    ).catch(async (e: unknown) => {
      await hsms?.close().catch(() => undefined);
      await pool.end();
      throw e;
    });
  }
  notices.push(`history seal keys: ${sealKeys.source === 'HSM' ? 'derived inside the HSM (kms-seal-v1)' : 'derived from the master key (no HSM configured)'}`);
  const changeStore = new PostgresChangeStore(pool, auditSealer);
  let store: EventStore;
  let esdb: EventStoreDBClient | undefined;
  let committer: ChangeCommitter;
  let reconciler: AuditIntentReconciler | undefined;
  let sealedHistory: SealedHistory | undefined;
  if (config.eventStore.kind === 'eventstoredb' || config.changeCommit === 'intent') {
    if (config.eventStore.kind === 'eventstoredb') {
      esdb = EventStoreDBClient.connectionString(config.eventStore.connectionString.reveal());
      // Sealed too (stream-scoped: EventStoreDB assigns positions as it writes); the intent committer appends through it.
      const sealed = new EsdbEventStore(esdb, { sealer });
      store = sealed;
      sealedHistory = { stored: sealed, sealer };
    } else {
      const pg = new PostgresEventStore(pool, { channel: notifyChannelFor(config.postgres.schema), sealer });
      store = pg;
      sealedHistory = { stored: pg, sealer };
    }
    // No transaction spans the store and the audit log: audit intents, completed by the reconciler.
    committer = new AuditIntentCommitter(store, changeStore, clock, faultPoint(config, 'change-after-append'));
    reconciler = new AuditIntentReconciler(store, changeStore, clock, config.changeIntentGraceMs);
  } else {
    const pg = new PostgresEventStore(pool, { channel: notifyChannelFor(config.postgres.schema), sealer });
    store = pg;
    sealedHistory = { stored: pg, sealer };
    committer = new PostgresChangeCommitter(pool, { channel: pg.channel, sealer, auditSealer, ...optional('beforeCommit', faultPoint(config, 'change-before-commit')) });
  }

  const audit = new PostgresAuditLog(pool, auditSealer, { maxBatch: config.auditMaxBatch, flushTimeoutMs: config.auditTimeoutMs });
  // Every row a reader of this process refuses raises the alarm: logged, audited, on /readyz and
  // /metrics, and sent as an urgent notice by the notices runtime (docs/audit-and-evidence.md).
  const integrity = new IntegrityAlarm({ detectedBy: 'key-service', audit, clock, logger: new Logger('integrity') });
  integrity.watch(sealer);
  integrity.watchAudit(auditSealer);
  const frames = new FrameGuard(config.grpc.port);
  const software = new SoftwareKeyBackend({
    store: new PostgresKeyMaterialStore(pool),
    importParameters: new PostgresImportParametersStore(pool),
    ceremonyKeys: new PostgresCeremonyKeyStore(pool),
    masterKey,
    masterKeyJurisdiction: config.masterKeys.primary,
    jurisdictionMasterKeys,
    now: () => clock.now(),
  });
  const backends: KeyBackends = { SOFTWARE: software };
  const readiness: HealthCheck[] = [postgresCheck(pool, { name: 'key-service.postgres' })];
  let attestation: AttestationSigner | undefined;
  let hsmAttestations: HsmAttestationService | undefined;
  hsmAudit.log = audit;
  try {
    if (hsms && hsms.registry.instances().length > 0) {
      backends.HSM = new JurisdictionalHsmBackend(hsms.registry);
      for (const { declaration, hsm } of hsms.registry.instances()) {
        const pool11 = hsm.pool;
        readiness.push({
          name: declaration.instanceId === 'default' ? 'key-service.hsm' : `key-service.hsm.${declaration.instanceId}`,
          check: async () => {
            const state = pool11.stats().state;
            if (state === 'unavailable' || state === 'closed') throw new Error(`HSM session pool is ${state}`);
          },
        });
      }
      // The per-HSM timeline: each instance's identity at start, recorded when new or changed.
      const { timeline, recorded } = await recordHsmIdentities(hsms.registry, store, committer, clock);
      if (recorded.length > 0) notices.push(`HSM timeline: ${recorded.join('; ')}`);
      // One attestation bundle per instance, served by the compliance API where it runs in this process (standalone).
      const registry = hsms.registry;
      hsmAttestations = new HsmAttestationService((id) => registry.attestable(id), timeline);
    }
    attestation = hsms?.custody?.attestationSigner;
  } catch (e) {
    await hsms?.close().catch(() => undefined);
    await audit.close();
    await pool.end();
    throw e;
  }

  return {
    deps: {
      store,
      // The key read model is in the key service's PostgreSQL whichever store holds the events.
      keyCatalog: {
        snapshots: new PostgresKeySnapshots(pool),
        cacheSize: config.keyService.keyCacheSize,
        onBuilt: (b) =>
          new Logger('key catalog').log(
            `key read model built from the key streams through position ${b.through}${b.resumedAfter ? ` (resumed after ${b.resumedAfter})` : ''}: ${b.keys} keys, ${b.events} events in ${Math.round(b.ms)} ms`,
          ),
      },
      backends,
      audit,
      changes: { committer, idempotency: changeStore, ...(reconciler ? { reconciler } : {}) },
      ciphertexts: audit,
      clock,
      health: createGrpcHealth(),
      frames,
      readiness,
      integrity,
      auditFlushes: (observer) => audit.observeFlushes(observer),
      ...(attestation ? { attestation } : {}),
      // A break-glass version's material from the backend that holds it; ceremony keys under the master key.
      escrowMaterial: escrowMaterialFrom(backends, software),
      secrets: { tokenSigningKey: masterKey.derive('token-signing-v1'), credentialPepper: masterKey.derive('credential-verifier-v1') },
      factors: {
        store: new PostgresSecondFactorStore(pool),
        relyingParty: { rpId: config.console.rpId, rpName: config.console.rpName, origins: config.console.origins },
        // TOTP secrets are wrapped under their own key derived from the master key, never stored in clear.
        totpWrapKey: masterKey.derive('totp-secret-wrap-v1'),
        enrolmentLinkTtlMinutes: config.console.enrolmentLinkTtlMinutes,
      },
      consoleAssetsDir: config.console.assetsDir,
      console: {
        store: new PostgresConsoleStore(pool),
        complianceUrl: config.console.complianceUrl,
        // Secure only when every origin is https: a Secure cookie set over http is dropped by browsers.
        secureCookies: config.console.origins.every((o) => o.startsWith('https:')),
      },
      onBootstrapEnrolment: options.onBootstrapEnrolment ?? ((c) => deliverBootstrapEnrolment(c, config.keyService.bootstrapCredentialFile)),
      ...(options.notifications ? { notifications: options.notifications } : {}),
    },
    pool,
    audit,
    integrity,
    auditSealer,
    notices,
    ...(sealedHistory ? { sealedHistory } : {}),
    deriveKey: (purpose) => masterKey.derive(purpose),
    ...(hsmAttestations ? { hsmAttestations } : {}),
    async close() {
      frames.release();
      await store.close();
      await hsms?.close();
      await audit.close();
      await esdb?.dispose();
      await pool.end();
    },
  };
}
