import { z } from 'zod';
import { envVar } from './env-schema';

/** Where the provision step puts the credentials of the KMS's own workloads. */
export interface ProvisionConfig {
  /**
   * KMS_PROVISION_CREDENTIALS_DIR: one 0600 JSON file per workload (`rotation-scheduler.json`,
   * `anomaly-detector.json`). Required by the provision step only, which says so when it is unset.
   */
  credentialsDir?: string;
  /**
   * KMS_PROVISION_ENV_FILE (optional): the same credentials as KEY=value lines named after the variables the
   * services read (KMS_SCHEDULER_CLIENT_ID, …), for `kubectl create secret generic --from-env-file`.
   */
  envFile?: string;
}

export function provisionSchema(cwd: string) {
  return z.object({ KMS_PROVISION_CREDENTIALS_DIR: envVar.path(cwd), KMS_PROVISION_ENV_FILE: envVar.path(cwd) }).transform(
    (v): ProvisionConfig => ({
      ...(v.KMS_PROVISION_CREDENTIALS_DIR ? { credentialsDir: v.KMS_PROVISION_CREDENTIALS_DIR } : {}),
      ...(v.KMS_PROVISION_ENV_FILE ? { envFile: v.KMS_PROVISION_ENV_FILE } : {}),
    }),
  );
}
