import { ConfigError, loadConfig } from './kms-config';
import { TEST_MASTER_KEY, testConfig } from './testing';

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env, '/srv/kms');
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('loaded');
}

describe('loadConfig', () => {
  it('refuses an audit retention below the policy floor of 365 days, naming the variable', () => {
    const error = configError({ KMS_MASTER_KEY: TEST_MASTER_KEY, KMS_AUDIT_RETENTION_DAYS: '90' });
    expect(error.message).toContain('KMS_AUDIT_RETENTION_DAYS');
    expect(testConfig({ KMS_AUDIT_RETENTION_DAYS: '730', KMS_AUDIT_ARCHIVE_DIR: '/archive/audit', KMS_AUDIT_MAINTENANCE_SECONDS: '3600' }, '/srv/kms').auditRetention).toEqual({
      days: 730,
      archiveDir: '/archive/audit',
      everySeconds: 3600,
    });
    expect(configError({ KMS_MASTER_KEY: TEST_MASTER_KEY, KMS_AUDIT_MAINTENANCE_SECONDS: '-1' }).message).toContain('KMS_AUDIT_MAINTENANCE_SECONDS');
  });

  it('defaults to the documented values, with every service section', () => {
    const config = testConfig({}, '/srv/kms');
    expect(config).toMatchObject({
      grpc: { host: '127.0.0.1', port: 50051 },
      http: { host: '127.0.0.1', port: 8080 },
      postgres: {
        url: 'postgres://postgres@127.0.0.1:5432/kms',
        serviceRole: 'kms_service',
        schema: 'public',
        timeouts: { connectMs: 2000, statementMs: 5000, lockMs: 2000, idleInTransactionMs: 15_000 },
      },
      redisUrl: 'redis://127.0.0.1:6379',
      eventStore: { kind: 'postgres' },
      stateDir: '/srv/kms/.kms-state',
      standalone: false,
      auditMaxBatch: 512,
      auditTimeoutMs: 2000,
      auditRetention: { days: 365, archiveDir: '/srv/kms/.kms-state/audit-archives', everySeconds: 86_400 },
      changeCommit: 'transaction',
      changeIntentGraceMs: 30_000,
      keyService: {},
      rotationScheduler: { keyServiceAddress: '127.0.0.1:50051', credential: null, reconcileSeconds: 60, destroyAfterDays: 30, queueName: 'rotation-deadlines' },
      auditProjector: { ledgerOrigin: 'open-kms/audit-ledger' },
      anomalyDetector: { credential: null, kmsAddress: null, pollMs: 500, batchSize: 1000, rulesWatchMs: 2000 },
      provision: {},
    });
  });

  it('holds 10000 keys in memory unless KMS_KEY_CACHE_SIZE says otherwise', () => {
    expect(loadConfig({ KMS_STANDALONE: '1' }, '/srv/kms').keyService.keyCacheSize).toBe(10_000);
    expect(loadConfig({ KMS_STANDALONE: '1', KMS_KEY_CACHE_SIZE: '250' }, '/srv/kms').keyService.keyCacheSize).toBe(250);
  });

  it('in standalone mode needs nothing: the master key is a file in the state folder', () => {
    expect(loadConfig({ KMS_STANDALONE: '1' }, '/srv/kms').masterKey).toEqual({ kind: 'file', path: '/srv/kms/.kms-state/master.key' });
  });

  it('migrates as KMS_MIGRATION_DATABASE_URL and serves as KMS_DATABASE_URL; without it, no owner URL is in the configuration', () => {
    const split = testConfig({ KMS_DATABASE_URL: 'postgres://kms_app@db/kms', KMS_MIGRATION_DATABASE_URL: 'postgres://kms_owner@db/kms', KMS_DATABASE_SERVICE_ROLE: 'kms_app' }, '/srv/kms');
    expect(split.postgres).toMatchObject({ url: 'postgres://kms_app@db/kms', migrationUrl: 'postgres://kms_owner@db/kms', serviceRole: 'kms_app' });
    // A service container: only its own URL; nothing in the configuration reaches the owner.
    const service = testConfig({ KMS_DATABASE_URL: 'postgres://kms_service:pw@db/kms' }, '/srv/kms');
    expect(service.postgres.url).toBe('postgres://kms_service:pw@db/kms');
    expect(service.postgres).not.toHaveProperty('migrationUrl');
    expect(JSON.stringify(testConfig({}, '/srv/kms').postgres)).not.toContain('migrationUrl');
  });

  it('in standalone mode serves as the service role and migrates as the local superuser', () => {
    expect(loadConfig({ KMS_STANDALONE: '1' }, '/srv/kms').postgres).toMatchObject({
      url: 'postgres://kms_service@127.0.0.1:5432/kms',
      migrationUrl: 'postgres://postgres@127.0.0.1:5432/kms',
    });
  });

  it.each([
    [{ KMS_MIGRATION_DATABASE_URL: 'mysql://x' }, 'KMS_MIGRATION_DATABASE_URL: must use postgres: or postgresql:'],
    [{ KMS_DATABASE_SERVICE_ROLE: 'KMS Service' }, 'KMS_DATABASE_SERVICE_ROLE: must be a lower-case SQL identifier'],
  ])('names a bad database variable: %j', (env, message) => {
    expect(configError({ KMS_STANDALONE: '1', ...env }).message).toContain(message);
  });

  it('never shows a secret when the configuration is logged', () => {
    const config = loadConfig(
      {
        KMS_MASTER_KEY: TEST_MASTER_KEY,
        EVENTSTORE_CONNECTION_STRING: 'esdb://admin:hunter2@esdb:2113',
        KMS_SCHEDULER_CLIENT_ID: 'scheduler',
        KMS_SCHEDULER_CLIENT_SECRET: 'scheduler-secret',
        KMS_ANOMALY_CLIENT_ID: 'detector',
        KMS_ANOMALY_CLIENT_SECRET: 'detector-secret',
      },
      '/srv/kms',
    );
    const logged = `${JSON.stringify(config)}`;
    for (const secret of [TEST_MASTER_KEY, 'hunter2', 'scheduler-secret', 'detector-secret']) expect(logged).not.toContain(secret);
    expect(config.eventStore.kind === 'eventstoredb' && config.eventStore.connectionString.reveal()).toBe('esdb://admin:hunter2@esdb:2113');
  });

  it('takes a scheduler credential from a file resolved against the working folder', () => {
    expect(testConfig({ KMS_SCHEDULER_CREDENTIAL_FILE: 'creds/scheduler.json' }, '/srv/kms').rotationScheduler.credential).toEqual({
      kind: 'file',
      path: '/srv/kms/creds/scheduler.json',
    });
  });

  it.each([
    [{}, 'KMS_MASTER_KEY_FILE: a master key is required: set KMS_MASTER_KEY_FILE or KMS_MASTER_KEY (or run in standalone mode)'],
    [{ KMS_MASTER_KEY: 'a', KMS_MASTER_KEY_FILE: 'b' }, 'KMS_MASTER_KEY: set either KMS_MASTER_KEY or KMS_MASTER_KEY_FILE, not both'],
    [{ KMS_STANDALONE: '1', KMS_GRPC_ADDRESS: 'nowhere' }, 'KMS_GRPC_ADDRESS: must be host:port, got "nowhere"'],
    [{ KMS_STANDALONE: '1', KMS_DATABASE_URL: 'mysql://x' }, 'KMS_DATABASE_URL: must use postgres: or postgresql:'],
    [{ KMS_STANDALONE: '1', KMS_DATABASE_SCHEMA: 'Bad-Schema' }, 'KMS_DATABASE_SCHEMA: must be a lower-case SQL identifier'],
    [{ KMS_STANDALONE: '1', KMS_EVENT_STORE: 'mongo' }, 'KMS_EVENT_STORE: must be "postgres" or "eventstoredb"'],
    [{ KMS_STANDALONE: '1', KMS_EVENT_STORE: 'eventstoredb' }, 'EVENTSTORE_CONNECTION_STRING: is required when KMS_EVENT_STORE=eventstoredb'],
    [{ KMS_STANDALONE: '1', KMS_DB_LOCK_TIMEOUT_MS: '5' }, 'KMS_DB_LOCK_TIMEOUT_MS: must be a whole number from 100 to 3600000, got "5"'],
    [{ KMS_STANDALONE: '1', KMS_KEY_CACHE_SIZE: '0' }, 'KMS_KEY_CACHE_SIZE: must be a whole number from 1 to 10000000, got "0"'],
    [{ KMS_STANDALONE: '1', KMS_KEY_CACHE_SIZE: 'lots' }, 'KMS_KEY_CACHE_SIZE: must be a whole number from 1 to 10000000, got "lots"'],
    [{ KMS_STANDALONE: '1', KMS_CHANGE_COMMIT: 'later' }, 'KMS_CHANGE_COMMIT: must be one of transaction, intent'],
    [{ KMS_STANDALONE: '1', KMS_SCHEDULER_CLIENT_ID: 'x' }, 'KMS_SCHEDULER_CLIENT_SECRET: is required with KMS_SCHEDULER_CLIENT_ID'],
    [{ KMS_STANDALONE: '1', KMS_SCHEDULER_QUEUE_NAME: 'a b' }, 'KMS_SCHEDULER_QUEUE_NAME: must be 1 to 64 letters, digits, ".", "_" or "-"'],
    [{ KMS_STANDALONE: '1', KMS_ANOMALY_POLL_MS: '1' }, 'KMS_ANOMALY_POLL_MS: must be an integer >= 10'],
    [{ KMS_STANDALONE: '1', KMS_LEDGER_ORIGIN: 'a b' }, 'KMS_LEDGER_ORIGIN: must be letters, digits, ".", "_", "-" and "/" only'],
  ])('refuses %j with a message naming the variable', (env, message) => {
    const err = configError(env);
    expect(err.message).toBe(message);
    expect(err.variable).toBe(message.split(':')[0]);
  });
});
