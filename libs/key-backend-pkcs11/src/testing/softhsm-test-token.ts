import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SOFTHSM_TOKEN_LABEL } from '../softhsm-token';

/** The SoftHSM2 module Debian's softhsm2 package installs. */
export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

/** The token SoftHsmTestEnvironment set up for the running test file. */
export interface SoftHsmTestToken {
  stateDir: string;
  confPath: string;
  userPinFile: string;
  label: string;
  /** The user PIN, for tools such as pkcs11-tool in tests. */
  pin(): string;
}

/** Paths of this test file's token. Throws when the file does not run in SoftHsmTestEnvironment. */
export function softHsmTestToken(): SoftHsmTestToken {
  const stateDir = process.env['KMS_TEST_SOFTHSM_STATE_DIR'];
  if (!stateDir) throw new Error('no SoftHSM2 test token: add the docblock @jest-environment ./libs/key-backend-pkcs11/src/testing/softhsm-test.environment.ts');
  const userPinFile = join(stateDir, 'hsm', 'user.pin');
  return {
    stateDir,
    confPath: join(stateDir, 'hsm', 'softhsm2.conf'),
    userPinFile,
    label: SOFTHSM_TOKEN_LABEL,
    pin: () => readFileSync(userPinFile, 'utf8').trim(),
  };
}
