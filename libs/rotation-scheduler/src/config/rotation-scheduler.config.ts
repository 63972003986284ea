import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, type KmsConfig, Secret } from '@kms/config';
import type { WorkloadCredential } from '../gateway/workload-token.source';

/** The scheduler's own settings, on top of KmsConfig (database, Redis, HTTP). */
export interface RotationSchedulerSettings {
  /** KMS_SCHEDULER_KEY_SERVICE_ADDRESS: the key service's gRPC address. Default: KMS_GRPC_ADDRESS. */
  keyServiceAddress: string;
  /** KMS_SCHEDULER_CLIENT_ID + KMS_SCHEDULER_CLIENT_SECRET, or KMS_SCHEDULER_CREDENTIAL_FILE (JSON {client_id, client_secret}). */
  credential: { kind: 'env'; value: WorkloadCredential } | { kind: 'file'; path: string };
  /** KMS_SCHEDULER_RECONCILE_SECONDS: periodic reconcile of the queue, 0 disables. Default 60. */
  reconcileSeconds: number;
  /** KMS_SCHEDULER_DESTROY_AFTER_DAYS: destroy_after_days when retention ends. Default 30. */
  destroyAfterDays: number;
  /**
   * KMS_SCHEDULER_RETIREMENT_RECHECK_SECONDS: how often a DATA_PROTECTION version held by ciphertexts not
   * yet re-encrypted is looked at again. Default 3600.
   */
  retirementRecheckSeconds: number;
  /** KMS_SCHEDULER_QUEUE_PREFIX (default "kms") and KMS_SCHEDULER_QUEUE_NAME (default "rotation-deadlines"). */
  queuePrefix: string;
  queueName: string;
  /** KMS_SCHEDULER_MAX_LAG: readiness fails when this many events behind the store. Default 1000. */
  maxLagEvents: number;
}

type Env = Record<string, string | undefined>;

function integer(env: Env, variable: string, fallback: number, min: number, max: number): number {
  const raw = env[variable];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(variable, `must be a whole number from ${min} to ${max}, got "${raw}"`);
  return n;
}

function name(env: Env, variable: string, fallback: string): string {
  const raw = env[variable] ?? fallback;
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(raw)) throw new ConfigError(variable, 'must be 1 to 64 letters, digits, ".", "_" or "-"');
  return raw;
}

/** Build and validate the scheduler's settings. Throws ConfigError naming the bad variable. */
export function loadRotationSchedulerSettings(config: KmsConfig, env: Env = process.env, cwd: string = process.cwd()): RotationSchedulerSettings {
  const id = env['KMS_SCHEDULER_CLIENT_ID'];
  const secret = env['KMS_SCHEDULER_CLIENT_SECRET'];
  const file = env['KMS_SCHEDULER_CREDENTIAL_FILE'];
  let credential: RotationSchedulerSettings['credential'];
  if (file && (id || secret)) throw new ConfigError('KMS_SCHEDULER_CREDENTIAL_FILE', 'set either KMS_SCHEDULER_CREDENTIAL_FILE or KMS_SCHEDULER_CLIENT_ID/KMS_SCHEDULER_CLIENT_SECRET, not both');
  if (file) credential = { kind: 'file', path: resolve(cwd, file) };
  else if (id && secret) credential = { kind: 'env', value: { clientId: id, clientSecret: new Secret(secret) } };
  else if (id) throw new ConfigError('KMS_SCHEDULER_CLIENT_SECRET', 'is required with KMS_SCHEDULER_CLIENT_ID');
  else throw new ConfigError('KMS_SCHEDULER_CLIENT_ID', 'the scheduler workload credential is required: set KMS_SCHEDULER_CLIENT_ID and KMS_SCHEDULER_CLIENT_SECRET, or KMS_SCHEDULER_CREDENTIAL_FILE');

  const address = env['KMS_SCHEDULER_KEY_SERVICE_ADDRESS'] ?? `${config.grpc.host}:${config.grpc.port}`;
  if (!/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(address)) throw new ConfigError('KMS_SCHEDULER_KEY_SERVICE_ADDRESS', `must be host:port, got "${address}"`);
  return {
    keyServiceAddress: address,
    credential,
    reconcileSeconds: integer(env, 'KMS_SCHEDULER_RECONCILE_SECONDS', 60, 0, 86_400),
    destroyAfterDays: integer(env, 'KMS_SCHEDULER_DESTROY_AFTER_DAYS', 30, 1, 3650),
    retirementRecheckSeconds: integer(env, 'KMS_SCHEDULER_RETIREMENT_RECHECK_SECONDS', 3600, 1, 7 * 86_400),
    queuePrefix: name(env, 'KMS_SCHEDULER_QUEUE_PREFIX', 'kms'),
    queueName: name(env, 'KMS_SCHEDULER_QUEUE_NAME', 'rotation-deadlines'),
    maxLagEvents: integer(env, 'KMS_SCHEDULER_MAX_LAG', 1000, 1, 1_000_000_000),
  };
}

/** The credential itself, reading the file when configured by path (must not be readable by others). */
export function readWorkloadCredential(credential: RotationSchedulerSettings['credential']): WorkloadCredential {
  if (credential.kind === 'env') return credential.value;
  const variable = 'KMS_SCHEDULER_CREDENTIAL_FILE';
  let text: string;
  try {
    if ((statSync(credential.path).mode & 0o077) !== 0) throw new ConfigError(variable, 'the credential file must not be readable by group or others (chmod 600)');
    text = readFileSync(credential.path, 'utf8');
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(variable, 'cannot be read');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ConfigError(variable, 'is not JSON ({"client_id": ..., "client_secret": ...})');
  }
  const o = parsed as { client_id?: unknown; client_secret?: unknown };
  if (typeof o.client_id !== 'string' || typeof o.client_secret !== 'string' || !o.client_id || !o.client_secret) {
    throw new ConfigError(variable, 'must hold "client_id" and "client_secret" strings');
  }
  return { clientId: o.client_id, clientSecret: new Secret(o.client_secret) };
}
