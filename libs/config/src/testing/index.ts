import { type Env, type KmsConfig, loadConfig } from '../kms-config';

/** A fixed, non-secret master key, so a test's configuration needs nothing else to load. */
export const TEST_MASTER_KEY = Buffer.alloc(32, 7).toString('base64');

/** loadConfig for tests of one section: the master key is filled in, the rest comes from `env`. */
export function testConfig(env: Env = {}, cwd?: string): KmsConfig {
  return loadConfig({ KMS_MASTER_KEY: TEST_MASTER_KEY, ...env }, cwd);
}
