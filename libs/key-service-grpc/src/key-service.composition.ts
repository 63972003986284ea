import { EventStoreDBClient } from '@eventstore/db-client';
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Pool } from 'pg';
import { type AttestationSigner, type AuditLog, type Clock, type KeyBackends, type NotificationSink, systemClock } from '@kms/application';
import { createPkcs11Hsm, ensureSoftHsmToken, type HsmFailure, type Pkcs11Hsm } from '@kms/key-backend-pkcs11';
import type { KmsConfig } from '@kms/config';
import type { EventStore } from '@kms/event-store';
import { EsdbEventStore } from '@kms/event-store-esdb';
import { eventStoreMigrations, PostgresEventStore } from '@kms/event-store-postgres';
import { ensureMasterKeyFile, loadMasterKey, SoftwareKeyBackend } from '@kms/key-backend-software';
import {
  auditMigrations,
  createPgPool,
  keyMaterialMigrations,
  PostgresAuditLog,
  PostgresKeyMaterialStore,
  runMigrations,
} from '@kms/persistence-postgres';
import { createGrpcHealth } from './grpc-server.options';
import type { BootstrapCredential, KeyServiceDependencies } from './key-service.module';
import { type HealthCheck, postgresCheck } from '@kms/platform';

/** Every migration the key service's PostgreSQL tables need. */
export const keyServiceMigrations = [...eventStoreMigrations, ...keyMaterialMigrations, ...auditMigrations];

/** The key service's adapters, built from the configuration, and how to release them. */
export interface KeyServiceRuntime {
  deps: KeyServiceDependencies;
  pool: Pool;
  audit: PostgresAuditLog;
  /** Things worth telling the operator once (e.g. a master key was created). */
  notices: string[];
  /** A key for another purpose derived from the master key (co-located services in standalone mode). */
  deriveKey(purpose: string): Buffer;
  close(): Promise<void>;
}

/**
 * Hand the first administrator's credential over once: to a 0600 file when configured, else to
 * standard output (not the logger, so it does not end up in log pipelines).
 */
async function deliverBootstrapCredential(c: BootstrapCredential, file: string | undefined): Promise<void> {
  const body = JSON.stringify({ client_id: c.clientId, client_secret: c.clientSecret, name: c.name }, null, 2);
  if (file) {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    await writeFile(file, `${body}\n`, { mode: 0o600, flag: 'wx' });
    process.stdout.write(`\nA first administrator "${c.name}" was created; its credential is in ${file} (mode 0600).\n\n`);
    return;
  }
  process.stdout.write(
    [
      '',
      '================ first start: bootstrap administrator (shown once) ================',
      body,
      'Get a token (valid 15 minutes; the console asserts FIDO2 + TOTP for people):',
      `  npx tsx scripts/kms.ts IssueToken '{"client_id":"${c.clientId}","client_secret":"<client_secret>","auth_methods":["hwk","otp"]}'`,
      'Then register people and workloads (README "Access control"). This secret is not stored anywhere.',
      '====================================================================================',
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

/** NOTIFY channels are per database, so schemas sharing a database get their own. */
function notifyChannel(schema: string): string {
  return schema === 'public' ? 'kms_events' : `kms_events_${schema}`.slice(0, 63);
}

/**
 * Composition root of the key service: migrations, pools, event store, key material, master key,
 * backends and audit log, all from the validated configuration.
 */
export async function buildKeyServiceRuntime(
  config: KmsConfig,
  options: { clock?: Clock; onBootstrapCredential?: (c: BootstrapCredential) => void | Promise<void>; notifications?: NotificationSink } = {},
): Promise<KeyServiceRuntime> {
  const notices: string[] = [];
  if (config.standalone && config.masterKey.kind === 'file') {
    if (await ensureMasterKeyFile(config.masterKey.path)) {
      notices.push(`created a new master key at ${config.masterKey.path} (mode 0600); back it up: without it no key can be unwrapped`);
    }
  }
  const masterKey = await loadMasterKey(config.masterKey);

  await runMigrations(config.postgres, config.eventStore.kind === 'postgres' ? keyServiceMigrations : [...keyMaterialMigrations, ...auditMigrations]);
  const pool = createPgPool(config.postgres, { max: 20 });

  let store: EventStore;
  let esdb: EventStoreDBClient | undefined;
  if (config.eventStore.kind === 'eventstoredb') {
    esdb = EventStoreDBClient.connectionString(config.eventStore.connectionString.reveal());
    store = new EsdbEventStore(esdb);
  } else {
    store = new PostgresEventStore(pool, { channel: notifyChannel(config.postgres.schema) });
  }

  const clock = options.clock ?? systemClock;
  const audit = new PostgresAuditLog(pool, { maxBatch: config.auditMaxBatch });
  const software = new SoftwareKeyBackend({ store: new PostgresKeyMaterialStore(pool), masterKey, now: () => clock.now() });
  const backends: KeyBackends = { SOFTWARE: software };
  const readiness: HealthCheck[] = [postgresCheck(pool, { name: 'key-service.postgres' })];
  let hsm: Pkcs11Hsm | undefined;
  let attestation: AttestationSigner | undefined;
  try {
    if (config.hsm.enabled) {
      if (config.hsm.provisionSoftHsmToken) {
        const token = await ensureSoftHsmToken(config.stateDir);
        if (token.created) notices.push(`initialised a SoftHSM2 token "kms" in ${token.tokenDir} (PINs in 0600 files beside it)`);
      }
      hsm = createPkcs11Hsm({ ...config.hsm, onFailure: (f) => void auditHsmFailure(audit, clock, f) });
      // Fail the boot with a clear message rather than serve HSM keys that cannot work.
      await hsm.pool.connect();
      backends.HSM = hsm.keyBackend;
      attestation = hsm.attestationSigner;
      const pool11 = hsm.pool;
      readiness.push({
        name: 'key-service.hsm',
        check: async () => {
          const state = pool11.stats().state;
          if (state === 'unavailable' || state === 'closed') throw new Error(`HSM session pool is ${state}`);
        },
      });
    }
  } catch (e) {
    await hsm?.close().catch(() => undefined);
    await audit.close();
    await pool.end();
    throw e;
  }

  return {
    deps: {
      store,
      backends,
      audit,
      ciphertexts: audit,
      clock,
      health: createGrpcHealth(),
      destructionSweepSeconds: config.destructionSweepSeconds,
      readiness,
      ...(attestation ? { attestation } : {}),
      secrets: { tokenSigningKey: masterKey.derive('token-signing-v1'), credentialPepper: masterKey.derive('credential-verifier-v1') },
      onBootstrapCredential: options.onBootstrapCredential ?? ((c) => deliverBootstrapCredential(c, config.bootstrapCredentialFile)),
      ...(options.notifications ? { notifications: options.notifications } : {}),
    },
    pool,
    audit,
    notices,
    deriveKey: (purpose) => masterKey.derive(purpose),
    async close() {
      await store.close();
      await hsm?.close();
      await audit.close();
      await esdb?.dispose();
      await pool.end();
    },
  };
}
