import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ConfigError, type ProvisionConfig } from '@kms/config';
import { ensureSystemCredentials, type SystemCredential } from '@kms/key-service-grpc';
import type { KeyServiceRuntime } from '../key-service.compose';

/** Where the provision step puts the credentials of the KMS's own workloads. */
export interface ProvisionSettings {
  /** KMS_PROVISION_CREDENTIALS_DIR: one 0600 JSON file per workload (`rotation-scheduler.json`, `anomaly-detector.json`). */
  credentialsDir: string;
  /**
   * KMS_PROVISION_ENV_FILE (optional): the same credentials as KEY=value lines named after the variables the
   * services read (KMS_SCHEDULER_CLIENT_ID, …), for `kubectl create secret generic --from-env-file`.
   */
  envFile?: string;
}

/** The KMS's own workloads: the same names and service roles standalone mode creates. */
export const SYSTEM_WORKLOADS = [
  { name: 'kms-rotation-scheduler', role: 'rotation-scheduler', file: 'rotation-scheduler.json', envPrefix: 'KMS_SCHEDULER' },
  { name: 'kms-anomaly-detector', role: 'anomaly-detector', file: 'anomaly-detector.json', envPrefix: 'KMS_ANOMALY' },
] as const;

/** The provision settings from the configuration's `provision` section; the credentials folder is required here. */
export function provisionSettings(section: ProvisionConfig): ProvisionSettings {
  const dir = section.credentialsDir;
  if (!dir) throw new ConfigError('KMS_PROVISION_CREDENTIALS_DIR', 'is required: the folder (a secrets volume) the workload credentials are written to');
  return { credentialsDir: dir, ...(section.envFile ? { envFile: section.envFile } : {}) };
}

/**
 * Register the rotation scheduler and anomaly detector workloads (service roles) if missing and write
 * their credentials where the services read them. Re-running is safe: a credential whose file is
 * still there and names the same identity is kept; a lost file gets a rotated credential (old tokens
 * die), exactly as standalone mode does on start.
 */
export async function provisionSystemWorkloads(runtime: Pick<KeyServiceRuntime, 'deps'>, settings: ProvisionSettings): Promise<SystemCredential[]> {
  await mkdir(settings.credentialsDir, { recursive: true, mode: 0o700 });
  const credentials = await ensureSystemCredentials(
    runtime,
    SYSTEM_WORKLOADS.map((w) => ({ name: w.name, role: w.role, file: join(settings.credentialsDir, w.file) })),
  );
  if (settings.envFile) {
    const lines = SYSTEM_WORKLOADS.flatMap((w, i) => [`${w.envPrefix}_CLIENT_ID=${credentials[i].clientId}`, `${w.envPrefix}_CLIENT_SECRET=${credentials[i].clientSecret}`]);
    await mkdir(dirname(settings.envFile), { recursive: true, mode: 0o700 });
    await writeFile(settings.envFile, `${lines.join('\n')}\n`, { mode: 0o600 });
    // writeFile keeps the mode of an existing file: make sure a re-run never leaves it readable.
    await chmod(settings.envFile, 0o600);
  }
  return credentials;
}
