import { type ObservabilityConfig, observabilitySchema } from './observability.config';
import { resolve } from 'node:path';
import { z } from 'zod';
import { Secret } from './config-error';
import { type Env, envVar, failOn, parseEnv } from './env-schema';
import { anomalyDetectorSchema, type AnomalyDetectorConfig } from './anomaly-detector.config';
import { auditProjectorSchema, type AuditProjectorConfig, checkpointsSchema, type CheckpointsConfig } from './audit-projector.config';
import { noticesSchema, type NoticesConfig } from './notices.config';
import { notificationsSchema, type NotificationsConfig } from './notifications.config';
import { provisionSchema, type ProvisionConfig } from './provision.config';
import { rotationSchedulerSchema, type RotationSchedulerConfig } from './rotation-scheduler.config';
import { type HsmInstanceConfig, loadHsmInstances } from './hsm-instances.config';
import { type JurisdictionMasterKeysConfig, loadJurisdictionMasterKeys } from './jurisdiction-master-keys.config';
import { type KmipConfig, kmipSchema } from './kmip.config';

export { ConfigError, Secret } from './config-error';
export type { Env } from './env-schema';

export interface Address {
  host: string;
  port: number;
}

/** The PKCS#11 HSM behind protection level HSM and the attestation key. Never log `pin`. */
export type HsmConfig =
  | { enabled: false }
  | {
      enabled: true;
      /** KMS_HSM_MODULE: path of the PKCS#11 module. Default /usr/lib/softhsm/libsofthsm2.so. */
      modulePath: string;
      /** KMS_HSM_TOKEN_LABEL (default "kms") or KMS_HSM_SLOT (index among the slots holding a token); not both. */
      token: { kind: 'label'; label: string } | { kind: 'slot'; index: number };
      /** KMS_HSM_PIN (the user PIN) or KMS_HSM_PIN_FILE (a 0600 file); in standalone mode <stateDir>/hsm/user.pin. */
      pin: { kind: 'env'; value: Secret<string> } | { kind: 'file'; path: string };
      /** KMS_HSM_SESSIONS: logged-in sessions kept open for concurrent requests, 1 to 64. Default 4. */
      sessions: number;
      /**
       * SOFTHSM2_CONF, passed through: SoftHSM2 reads its configuration path from it when the module is
       * initialised. In standalone mode, default <stateDir>/hsm/softhsm2.conf. Ignored by other modules.
       */
      softhsm2Conf?: string;
      /**
       * Standalone mode on the state folder's token (neither SOFTHSM2_CONF nor a PIN given): create the
       * SoftHSM2 token under <stateDir>/hsm on first start (ensureSoftHsmToken).
       */
      provisionSoftHsmToken: boolean;
    };

/** The key service's own settings (beside the core ones every service shares). */
export interface KeyServiceConfig {
  /** KMS_FAULT_INJECTION: test-only fault points (e.g. `change-before-commit`); never set in production. */
  faultInjection?: string;
  /**
   * KMS_BOOTSTRAP_CREDENTIAL_FILE: where the first administrator's one-time enrolment link is written
   * (mode 0600) on first start (no secret granting anything: a link to enrol the person's factors).
   * Unset: it is printed once to standard output.
   */
  bootstrapCredentialFile?: string;
  /**
   * KMS_SEAL_EXISTING_HISTORY: in the migrate step, seal events and audit records written before they
   * were sealed (an upgrade; needs the table owner). Default true in standalone mode, false otherwise.
   */
  sealExistingHistory: boolean;
  /**
   * KMS_KEY_CACHE_SIZE: most keys the key service holds in memory (the recently used ones; others are
   * read from the event store when used). Memory grows with it, not with the number of keys. Default 10000.
   */
  keyCacheSize: number;
}

/** The people's console: WebAuthn relying party and enrolment links (docs/console.md). */
export interface ConsoleConfig {
  /** KMS_CONSOLE_RP_ID: the WebAuthn relying-party id (a registrable domain, no scheme or port). Default `localhost`. */
  rpId: string;
  /** KMS_CONSOLE_RP_NAME: the name authenticators show. Default `KMS`. */
  rpName: string;
  /**
   * KMS_CONSOLE_ORIGIN: the origin(s) the browser reports in WebAuthn ceremonies, comma-separated
   * (`https://kms.example.com`). Default `http://localhost:<KMS_HTTP_ADDRESS port>`.
   */
  origins: string[];
  /** KMS_CONSOLE_ENROLMENT_LINK_TTL_MINUTES: how long a one-time enrolment link lives. Default 15 (1..1440). */
  enrolmentLinkTtlMinutes: number;
  /**
   * KMS_CONSOLE_ASSETS_DIR: the built console (`npm run build:console`) the HTTP server serves at
   * /console/. Default `dist/console` under the working directory.
   */
  assetsDir: string;
  /**
   * KMS_CONSOLE_COMPLIANCE_URL: where the console's compliance pass-through sends its GETs (the
   * compliance API's base, without `/v1`). Default: this server's own HTTP address.
   */
  complianceUrl: string;
}

/**
 * The whole configuration, built once from the environment and validated at boot: the core settings
 * every service shares at the top, then a section per service. Only libs/config reads the environment.
 */
export interface KmsConfig {
  /** gRPC listen address of the key service. KMS_GRPC_ADDRESS, default 127.0.0.1:50051. */
  grpc: Address;
  /** HTTP listen address (health, metrics, compliance API). KMS_HTTP_ADDRESS, default 127.0.0.1:8080. */
  http: Address;
  postgres: {
    /**
     * KMS_DATABASE_URL: what the services connect as. Default postgres://postgres@127.0.0.1:5432/kms;
     * in standalone mode postgres://kms_service@127.0.0.1:5432/kms (created on first start).
     */
    url: string;
    /**
     * KMS_MIGRATION_DATABASE_URL: the owner role the migrate step (apps/key-service/src/migrate.ts, the
     * provision step) runs migrations, grants and the seal upgrade as. Only that step needs it; the
     * services never do. Absent: KMS_DATABASE_URL does both (one role), except in standalone mode
     * when neither is set: postgres://postgres@127.0.0.1:5432/kms.
     */
    migrationUrl?: string;
    /**
     * KMS_DATABASE_SERVICE_ROLE: the role granted the services' rights after migrations (only INSERT and
     * SELECT on events and audit_records). Default kms_service; skipped with a warning when it does not
     * exist. A service whose KMS_DATABASE_URL connects as this role does not migrate at start: it checks
     * the migrate step ran and refuses to start otherwise.
     */
    serviceRole: string;
    /** KMS_DATABASE_SCHEMA, default "public". */
    schema: string;
    /**
     * KMS_DB_CONNECT_TIMEOUT_MS (2000), KMS_DB_STATEMENT_TIMEOUT_MS (5000), KMS_DB_LOCK_TIMEOUT_MS (2000),
     * KMS_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS (15000): how long any service waits on PostgreSQL.
     */
    timeouts: { connectMs: number; statementMs: number; lockMs: number; idleInTransactionMs: number };
  };
  /** KMS_REDIS_URL, default redis://127.0.0.1:6379. */
  redisUrl: string;
  eventStore: { kind: 'postgres' } | { kind: 'eventstoredb'; connectionString: Secret<string> };
  /** KMS_STATE_DIR, default ./.kms-state: master key (standalone), SoftHSM2 token, bootstrap credentials. */
  stateDir: string;
  /** KMS_MASTER_KEY (base64 of 32 bytes) or KMS_MASTER_KEY_FILE; in standalone mode, created on first start. */
  masterKey: { kind: 'env'; value: Secret<string> } | { kind: 'file'; path: string };
  /** KMS_STANDALONE=1: all apps in one process, state created on first start. */
  standalone: boolean;
  /** KMS_AUDIT_MAX_BATCH: most audit records made durable in one commit. Default 512. */
  auditMaxBatch: number;
  /** KMS_AUDIT_TIMEOUT_MS: a call whose audit record is not durable within this is refused UNAVAILABLE. Default 2000. */
  auditTimeoutMs: number;
  /**
   * Audit partition retention (apps/key-service/src/audit-maintenance.ts): KMS_AUDIT_RETENTION_DAYS, how
   * long audit records are kept at least (default and floor 365: docs/policy.md T-1), and
   * KMS_AUDIT_ARCHIVE_DIR, where the audit trail is archived before any partition is dropped
   * (default <stateDir>/audit-archives). In standalone mode the process runs that upkeep itself every
   * KMS_AUDIT_MAINTENANCE_SECONDS (default 86,400; 0: never, leaving it to the host's cron), the first
   * time a minute after start (or sooner, when the interval is shorter).
   */
  auditRetention: { days: number; archiveDir: string; everySeconds: number };
  /**
   * KMS_CHANGE_COMMIT: how a change's events and audit record become durable together. `transaction`
   * (default with the PostgreSQL event store): one transaction. `intent`: an audit intent before the
   * append, completed after (what EventStoreDB always uses; selectable with PostgreSQL to exercise it).
   */
  changeCommit: 'transaction' | 'intent';
  /** KMS_CHANGE_INTENT_GRACE_MS: an audit intent older than this is completed from the event store. Default 30000. */
  changeIntentGraceMs: number;
  /** KMS_HSM_ENABLED (default: true in standalone mode, false otherwise) and the HSM's settings. */
  hsm: HsmConfig;
  keyService: KeyServiceConfig;
  /** People's second factors and sign-in (WebAuthn relying party, enrolment links). */
  console: ConsoleConfig;
  rotationScheduler: RotationSchedulerConfig;
  auditProjector: AuditProjectorConfig;
  /** Where signed ledger checkpoints also go in Kafka (audit projector). */
  checkpoints: CheckpointsConfig;
  anomalyDetector: AnomalyDetectorConfig;
  /** Rotation notices and confirmations through Kafka (the relay beside the key service). */
  notices: NoticesConfig;
  /** The one-shot provision step (apps/key-service/src/provision.ts). */
  provision: ProvisionConfig;
  /** Structured logs and OpenTelemetry traces. */
  observability: ObservabilityConfig;
  /** The HSM instances and their jurisdictions (docs/jurisdictions.md); the single KMS_HSM_* HSM is instance `default`. */
  hsmInstances: HsmInstanceConfig[];
  /** KMS_MASTER_KEY_JURISDICTION and KMS_MASTER_KEYS: the master key of each jurisdiction (software keys). */
  masterKeys: JurisdictionMasterKeysConfig;
  /** The KMIP server (docs/kmip.md). */
  kmip: KmipConfig;
  /** Compliance notifications by email and Slack (the relay beside the key service). */
  notifications: NotificationsConfig;
}

const raw = z.string().optional();

/** Database, Redis, event store, state folder, master key, audit and change commit: every service's. */
function coreSchema(cwd: string) {
  return z
    .object({
      KMS_STANDALONE: raw,
      KMS_STATE_DIR: raw,
      KMS_GRPC_ADDRESS: envVar.address('127.0.0.1:50051'),
      KMS_HTTP_ADDRESS: envVar.address('127.0.0.1:8080'),
      KMS_DATABASE_URL: envVar.optionalUrl(['postgres:', 'postgresql:']),
      KMS_MIGRATION_DATABASE_URL: envVar.optionalUrl(['postgres:', 'postgresql:']),
      KMS_DATABASE_SERVICE_ROLE: raw.transform((v, ctx) => {
        const role = v || 'kms_service';
        return /^[a-z_][a-z0-9_]{0,62}$/.test(role) ? role : failOn(ctx, 'KMS_DATABASE_SERVICE_ROLE', 'must be a lower-case SQL identifier');
      }),
      KMS_DATABASE_SCHEMA: raw.transform((v, ctx) => {
        const schema = v ?? 'public';
        return /^[a-z_][a-z0-9_]{0,62}$/.test(schema) ? schema : failOn(ctx, 'KMS_DATABASE_SCHEMA', 'must be a lower-case SQL identifier');
      }),
      KMS_DB_CONNECT_TIMEOUT_MS: envVar.integer(2000, 100, 600_000),
      KMS_DB_STATEMENT_TIMEOUT_MS: envVar.integer(5000, 100, 3_600_000),
      KMS_DB_LOCK_TIMEOUT_MS: envVar.integer(2000, 100, 3_600_000),
      KMS_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: envVar.integer(15_000, 1000, 3_600_000),
      KMS_REDIS_URL: envVar.url('redis://127.0.0.1:6379', ['redis:', 'rediss:']),
      KMS_EVENT_STORE: raw,
      EVENTSTORE_CONNECTION_STRING: raw,
      KMS_MASTER_KEY: raw,
      KMS_MASTER_KEY_FILE: raw,
      KMS_AUDIT_MAX_BATCH: envVar.integer(512, 1, 10_000),
      KMS_AUDIT_TIMEOUT_MS: envVar.integer(2000, 100, 60_000),
      KMS_AUDIT_RETENTION_DAYS: envVar.integer(365, 365, 36_500),
      KMS_AUDIT_ARCHIVE_DIR: raw,
      KMS_AUDIT_MAINTENANCE_SECONDS: envVar.integer(86_400, 0, 31_536_000),
      KMS_CHANGE_COMMIT: envVar.choice('transaction', ['transaction', 'intent'] as const),
      KMS_CHANGE_INTENT_GRACE_MS: envVar.integer(30_000, 0, 3_600_000),
    })
    .transform((v, ctx) => {
      const standalone = v.KMS_STANDALONE === '1' || v.KMS_STANDALONE === 'true';
      const stateDir = resolve(cwd, v.KMS_STATE_DIR ?? '.kms-state');

      const storeKind = v.KMS_EVENT_STORE ?? (v.EVENTSTORE_CONNECTION_STRING ? 'eventstoredb' : 'postgres');
      let eventStore: KmsConfig['eventStore'];
      if (storeKind === 'postgres') eventStore = { kind: 'postgres' };
      else if (storeKind !== 'eventstoredb') return failOn(ctx, 'KMS_EVENT_STORE', 'must be "postgres" or "eventstoredb"');
      else if (!v.EVENTSTORE_CONNECTION_STRING) return failOn(ctx, 'EVENTSTORE_CONNECTION_STRING', 'is required when KMS_EVENT_STORE=eventstoredb');
      else eventStore = { kind: 'eventstoredb', connectionString: new Secret(v.EVENTSTORE_CONNECTION_STRING) };

      // Standalone on a fresh machine: the services connect as the service role (created on first
      // start) and migrations run as the local superuser. An operator's URL replaces either.
      const localDatabase = (user: string) => `postgres://${user}@127.0.0.1:5432/kms`;
      const databaseUrl = v.KMS_DATABASE_URL ?? localDatabase(standalone ? v.KMS_DATABASE_SERVICE_ROLE : 'postgres');
      // Unset and not standalone: one role does everything; a service never needs the owner's URL.
      const ownerUrl = v.KMS_MIGRATION_DATABASE_URL ?? (v.KMS_DATABASE_URL ? undefined : localDatabase('postgres'));
      const migrationUrl = ownerUrl === databaseUrl ? undefined : ownerUrl;

      let masterKey: KmsConfig['masterKey'];
      if (v.KMS_MASTER_KEY && v.KMS_MASTER_KEY_FILE) return failOn(ctx, 'KMS_MASTER_KEY', 'set either KMS_MASTER_KEY or KMS_MASTER_KEY_FILE, not both');
      else if (v.KMS_MASTER_KEY) masterKey = { kind: 'env', value: new Secret(v.KMS_MASTER_KEY) };
      else if (v.KMS_MASTER_KEY_FILE) masterKey = { kind: 'file', path: resolve(cwd, v.KMS_MASTER_KEY_FILE) };
      else if (standalone) masterKey = { kind: 'file', path: resolve(stateDir, 'master.key') };
      else return failOn(ctx, 'KMS_MASTER_KEY_FILE', 'a master key is required: set KMS_MASTER_KEY_FILE or KMS_MASTER_KEY (or run in standalone mode)');

      return {
        grpc: v.KMS_GRPC_ADDRESS,
        http: v.KMS_HTTP_ADDRESS,
        postgres: {
          url: databaseUrl,
          ...(migrationUrl ? { migrationUrl } : {}),
          serviceRole: v.KMS_DATABASE_SERVICE_ROLE,
          schema: v.KMS_DATABASE_SCHEMA,
          timeouts: {
            connectMs: v.KMS_DB_CONNECT_TIMEOUT_MS,
            statementMs: v.KMS_DB_STATEMENT_TIMEOUT_MS,
            lockMs: v.KMS_DB_LOCK_TIMEOUT_MS,
            idleInTransactionMs: v.KMS_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS,
          },
        },
        redisUrl: v.KMS_REDIS_URL,
        eventStore,
        stateDir,
        masterKey,
        standalone,
        auditMaxBatch: v.KMS_AUDIT_MAX_BATCH,
        auditTimeoutMs: v.KMS_AUDIT_TIMEOUT_MS,
        auditRetention: {
          days: v.KMS_AUDIT_RETENTION_DAYS,
          archiveDir: resolve(stateDir, v.KMS_AUDIT_ARCHIVE_DIR ?? 'audit-archives'),
          everySeconds: v.KMS_AUDIT_MAINTENANCE_SECONDS,
        },
        changeCommit: v.KMS_CHANGE_COMMIT,
        changeIntentGraceMs: v.KMS_CHANGE_INTENT_GRACE_MS,
      };
    });
}

/** The HSM section; its defaults depend on standalone mode and the state folder. */
function hsmSchema(cwd: string, standalone: boolean, stateDir: string) {
  return z
    .object({
      KMS_HSM_ENABLED: envVar.boolean(standalone),
      KMS_HSM_MODULE: raw,
      KMS_HSM_SLOT: raw,
      KMS_HSM_TOKEN_LABEL: raw,
      KMS_HSM_PIN: raw,
      KMS_HSM_PIN_FILE: raw,
      KMS_HSM_SESSIONS: envVar.integer(4, 1, 64),
      SOFTHSM2_CONF: raw,
    })
    .transform((v, ctx): HsmConfig => {
      if (!v.KMS_HSM_ENABLED) return { enabled: false };
      const modulePath = v.KMS_HSM_MODULE ?? '/usr/lib/softhsm/libsofthsm2.so';
      if (modulePath.trim() === '') return failOn(ctx, 'KMS_HSM_MODULE', 'is empty; expected the path of a PKCS#11 module');

      let token: Extract<HsmConfig, { enabled: true }>['token'];
      if (v.KMS_HSM_SLOT && v.KMS_HSM_TOKEN_LABEL) return failOn(ctx, 'KMS_HSM_SLOT', 'set either KMS_HSM_SLOT or KMS_HSM_TOKEN_LABEL, not both');
      else if (v.KMS_HSM_SLOT) {
        const index = Number(v.KMS_HSM_SLOT);
        if (!Number.isInteger(index) || index < 0 || index > 1023) return failOn(ctx, 'KMS_HSM_SLOT', `must be a whole number from 0 to 1023, got "${v.KMS_HSM_SLOT}"`);
        token = { kind: 'slot', index };
      } else {
        const label = v.KMS_HSM_TOKEN_LABEL ?? 'kms';
        // PKCS#11 token labels are 32 bytes, blank padded.
        if (label.trim() === '' || Buffer.byteLength(label) > 32) return failOn(ctx, 'KMS_HSM_TOKEN_LABEL', 'must be 1 to 32 bytes');
        token = { kind: 'label', label };
      }

      let pin: Extract<HsmConfig, { enabled: true }>['pin'];
      const stateToken = resolve(stateDir, 'hsm');
      if (v.KMS_HSM_PIN && v.KMS_HSM_PIN_FILE) return failOn(ctx, 'KMS_HSM_PIN', 'set either KMS_HSM_PIN or KMS_HSM_PIN_FILE, not both');
      else if (v.KMS_HSM_PIN) pin = { kind: 'env', value: new Secret(v.KMS_HSM_PIN) };
      else if (v.KMS_HSM_PIN_FILE) pin = { kind: 'file', path: resolve(cwd, v.KMS_HSM_PIN_FILE) };
      else if (standalone) pin = { kind: 'file', path: resolve(stateToken, 'user.pin') };
      else return failOn(ctx, 'KMS_HSM_PIN_FILE', 'the HSM user PIN is required: set KMS_HSM_PIN_FILE or KMS_HSM_PIN (or KMS_HSM_ENABLED=false)');

      const conf = v.SOFTHSM2_CONF ? resolve(cwd, v.SOFTHSM2_CONF) : standalone ? resolve(stateToken, 'softhsm2.conf') : undefined;
      return {
        enabled: true,
        modulePath: resolve(cwd, modulePath),
        token,
        pin,
        sessions: v.KMS_HSM_SESSIONS,
        ...(conf ? { softhsm2Conf: conf } : {}),
        provisionSoftHsmToken: standalone && !v.SOFTHSM2_CONF && !v.KMS_HSM_PIN && !v.KMS_HSM_PIN_FILE,
      };
    });
}

function keyServiceSchema(cwd: string, standalone: boolean) {
  return z
    .object({
      KMS_FAULT_INJECTION: envVar.text(undefined),
      KMS_BOOTSTRAP_CREDENTIAL_FILE: envVar.path(cwd),
      KMS_SEAL_EXISTING_HISTORY: envVar.boolean(standalone),
      KMS_KEY_CACHE_SIZE: envVar.integer(10_000, 1, 10_000_000),
    })
    .transform(
      (v): KeyServiceConfig => ({
        ...(v.KMS_FAULT_INJECTION ? { faultInjection: v.KMS_FAULT_INJECTION } : {}),
        ...(v.KMS_BOOTSTRAP_CREDENTIAL_FILE ? { bootstrapCredentialFile: v.KMS_BOOTSTRAP_CREDENTIAL_FILE } : {}),
        sealExistingHistory: v.KMS_SEAL_EXISTING_HISTORY,
        keyCacheSize: v.KMS_KEY_CACHE_SIZE,
      }),
    );
}

const RP_ID_PATTERN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** An origin as browsers serialise it: scheme, host and optional port, nothing else. */
function consoleOrigin(text: string): string | undefined {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return undefined;
  }
  if ((u.protocol !== 'https:' && u.protocol !== 'http:') || u.origin !== text) return undefined;
  return u.origin;
}

function consoleSchema(cwd: string, http: { host: string; port: number }) {
  const httpPort = http.port;
  return z
    .object({
      KMS_CONSOLE_RP_ID: raw,
      KMS_CONSOLE_RP_NAME: raw,
      KMS_CONSOLE_ORIGIN: raw,
      KMS_CONSOLE_ENROLMENT_LINK_TTL_MINUTES: envVar.integer(15, 1, 1440),
      KMS_CONSOLE_ASSETS_DIR: raw,
      KMS_CONSOLE_COMPLIANCE_URL: raw,
    })
    .transform((v, ctx): ConsoleConfig => {
      const rpId = v.KMS_CONSOLE_RP_ID ?? 'localhost';
      if (!RP_ID_PATTERN.test(rpId)) return failOn(ctx, 'KMS_CONSOLE_RP_ID', `must be a lower-case domain name without scheme or port (e.g. kms.example.com), got "${rpId}"`);
      const rpName = v.KMS_CONSOLE_RP_NAME ?? 'KMS';
      if (rpName.trim() === '' || rpName.length > 64) return failOn(ctx, 'KMS_CONSOLE_RP_NAME', 'must be 1 to 64 characters');
      const listed = (v.KMS_CONSOLE_ORIGIN ?? `http://localhost:${httpPort}`).split(',').map((o) => o.trim());
      const origins: string[] = [];
      for (const o of listed) {
        const origin = consoleOrigin(o);
        if (!origin) return failOn(ctx, 'KMS_CONSOLE_ORIGIN', `must be comma-separated origins like https://kms.example.com (scheme, host, optional port; no path), got "${o}"`);
        const host = new URL(origin).hostname;
        // WebAuthn: the RP id must be the origin's host or a registrable suffix of it.
        if (host !== rpId && !host.endsWith(`.${rpId}`)) return failOn(ctx, 'KMS_CONSOLE_ORIGIN', `origin ${origin} is not on the relying party ${rpId} (KMS_CONSOLE_RP_ID)`);
        origins.push(origin);
      }
      const ownHost = http.host === '0.0.0.0' || http.host === '::' ? '127.0.0.1' : http.host.includes(':') ? `[${http.host}]` : http.host;
      const complianceUrl = (v.KMS_CONSOLE_COMPLIANCE_URL ?? `http://${ownHost}:${httpPort}`).replace(/\/+$/, '');
      let parsed: URL | undefined;
      try {
        parsed = new URL(complianceUrl);
      } catch {
        parsed = undefined;
      }
      if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.search || parsed.hash || parsed.username || parsed.password) {
        return failOn(ctx, 'KMS_CONSOLE_COMPLIANCE_URL', `must be an http(s) URL of the compliance API without /v1, query or credentials (e.g. http://127.0.0.1:8080), got "${complianceUrl}"`);
      }
      const assetsDir = resolve(cwd, v.KMS_CONSOLE_ASSETS_DIR ?? 'dist/console');
      return { rpId, rpName, origins, enrolmentLinkTtlMinutes: v.KMS_CONSOLE_ENROLMENT_LINK_TTL_MINUTES, assetsDir, complianceUrl };
    });
}

/**
 * Build and validate the configuration: the one reader of the environment. Every service section is
 * parsed, so a bad value anywhere stops any service's boot with a ConfigError naming the variable;
 * what only one service requires (e.g. the scheduler's credential) is checked by that service's compose.
 */
export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): KmsConfig {
  const core = parseEnv(coreSchema(cwd), env);
  const hsm = parseEnv(hsmSchema(cwd, core.standalone, core.stateDir), env);
  return {
    ...core,
    hsm,
    hsmInstances: loadHsmInstances(env, cwd, hsm, core.standalone, core.stateDir),
    masterKeys: loadJurisdictionMasterKeys(env, cwd),
    keyService: parseEnv(keyServiceSchema(cwd, core.standalone), env),
    console: parseEnv(consoleSchema(cwd, core.http), env),
    rotationScheduler: parseEnv(rotationSchedulerSchema(cwd, core.grpc), env),
    auditProjector: parseEnv(auditProjectorSchema, env),
    checkpoints: parseEnv(checkpointsSchema, env),
    anomalyDetector: parseEnv(anomalyDetectorSchema(cwd), env),
    notices: parseEnv(noticesSchema, env),
    provision: parseEnv(provisionSchema(cwd), env),
    observability: parseEnv(observabilitySchema, env),
    kmip: parseEnv(kmipSchema(cwd, core.standalone, core.stateDir), env),
    notifications: parseEnv(notificationsSchema(cwd), env),
  };
}

/** Injection token for KmsConfig. */
export const KMS_CONFIG = Symbol('KMS_CONFIG');
