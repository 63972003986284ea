import { resolve } from 'node:path';
import { z } from 'zod';
import { Secret } from './config-error';
import { envVar, failOn } from './env-schema';

/** A workload's client credential given in the environment, or a 0600 JSON file {client_id, client_secret}. */
export type WorkloadCredentialSource = { kind: 'env'; value: { clientId: string; clientSecret: Secret<string> } } | { kind: 'file'; path: string };

/** The scheduler's own settings, on top of the core ones (database, Redis, HTTP). */
export interface RotationSchedulerConfig {
  /** KMS_SCHEDULER_KEY_SERVICE_ADDRESS: the key service's gRPC address. Default: KMS_GRPC_ADDRESS. */
  keyServiceAddress: string;
  /**
   * KMS_SCHEDULER_CLIENT_ID + KMS_SCHEDULER_CLIENT_SECRET, or KMS_SCHEDULER_CREDENTIAL_FILE (JSON {client_id, client_secret}).
   * null when none is given: the scheduler app refuses to start (standalone mode makes its own).
   */
  credential: WorkloadCredentialSource | null;
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

/** The scheduler section; its key service address defaults to this configuration's gRPC address. */
export function rotationSchedulerSchema(cwd: string, grpc: { host: string; port: number }) {
  return z
    .object({
      KMS_SCHEDULER_CLIENT_ID: z.string().optional(),
      KMS_SCHEDULER_CLIENT_SECRET: z.string().optional(),
      KMS_SCHEDULER_CREDENTIAL_FILE: z.string().optional(),
      KMS_SCHEDULER_KEY_SERVICE_ADDRESS: z
        .string()
        .optional()
        .transform((v) => v ?? `${grpc.host}:${grpc.port}`)
        .refine((v) => /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(v), { error: (i) => `must be host:port, got "${String(i.input)}"` }),
      KMS_SCHEDULER_RECONCILE_SECONDS: envVar.integer(60, 0, 86_400),
      KMS_SCHEDULER_DESTROY_AFTER_DAYS: envVar.integer(30, 1, 3650),
      KMS_SCHEDULER_RETIREMENT_RECHECK_SECONDS: envVar.integer(3600, 1, 7 * 86_400),
      KMS_SCHEDULER_QUEUE_PREFIX: envVar.name('kms'),
      KMS_SCHEDULER_QUEUE_NAME: envVar.name('rotation-deadlines'),
      KMS_SCHEDULER_MAX_LAG: envVar.integer(1000, 1, 1_000_000_000),
    })
    .transform((v, ctx): RotationSchedulerConfig => {
      const { KMS_SCHEDULER_CLIENT_ID: id, KMS_SCHEDULER_CLIENT_SECRET: secret, KMS_SCHEDULER_CREDENTIAL_FILE: file } = v;
      let credential: WorkloadCredentialSource | null;
      if (file && (id || secret)) {
        return failOn(ctx, 'KMS_SCHEDULER_CREDENTIAL_FILE', 'set either KMS_SCHEDULER_CREDENTIAL_FILE or KMS_SCHEDULER_CLIENT_ID/KMS_SCHEDULER_CLIENT_SECRET, not both');
      } else if (file) credential = { kind: 'file', path: resolve(cwd, file) };
      else if (id && secret) credential = { kind: 'env', value: { clientId: id, clientSecret: new Secret(secret) } };
      else if (id) return failOn(ctx, 'KMS_SCHEDULER_CLIENT_SECRET', 'is required with KMS_SCHEDULER_CLIENT_ID');
      else if (secret) return failOn(ctx, 'KMS_SCHEDULER_CLIENT_ID', SCHEDULER_CREDENTIAL_REQUIRED);
      else credential = null;
      return {
        keyServiceAddress: v.KMS_SCHEDULER_KEY_SERVICE_ADDRESS,
        credential,
        reconcileSeconds: v.KMS_SCHEDULER_RECONCILE_SECONDS,
        destroyAfterDays: v.KMS_SCHEDULER_DESTROY_AFTER_DAYS,
        retirementRecheckSeconds: v.KMS_SCHEDULER_RETIREMENT_RECHECK_SECONDS,
        queuePrefix: v.KMS_SCHEDULER_QUEUE_PREFIX,
        queueName: v.KMS_SCHEDULER_QUEUE_NAME,
        maxLagEvents: v.KMS_SCHEDULER_MAX_LAG,
      };
    });
}

/** What the scheduler app says when it has no credential (KMS_SCHEDULER_CLIENT_ID names the variable). */
export const SCHEDULER_CREDENTIAL_REQUIRED =
  'the scheduler workload credential is required: set KMS_SCHEDULER_CLIENT_ID and KMS_SCHEDULER_CLIENT_SECRET, or KMS_SCHEDULER_CREDENTIAL_FILE';
