import { readFileSync, statSync } from 'node:fs';
import { ConfigError, type RotationSchedulerConfig, SCHEDULER_CREDENTIAL_REQUIRED, Secret } from '@kms/config';
import type { WorkloadCredential } from '../gateway/workload-token.source';

/** The scheduler's own settings: the configuration's `rotationScheduler` section (libs/config). */
export type RotationSchedulerSettings = RotationSchedulerConfig;

/**
 * The credential itself, reading the file when configured by path (must not be readable by others).
 * None configured: a ConfigError naming KMS_SCHEDULER_CLIENT_ID (the scheduler app cannot run without one).
 */
export function readWorkloadCredential(credential: RotationSchedulerSettings['credential']): WorkloadCredential {
  if (credential === null) throw new ConfigError('KMS_SCHEDULER_CLIENT_ID', SCHEDULER_CREDENTIAL_REQUIRED);
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
