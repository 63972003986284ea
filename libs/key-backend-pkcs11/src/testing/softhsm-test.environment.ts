import NodeEnvironment from 'jest-environment-node';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { softHsmTestRoot } from './softhsm-test-root';
import { ensureSoftHsmToken } from '../softhsm-token';

/**
 * Jest environment that gives its test file a SoftHSM2 token of its own, in a fresh folder inside the
 * project's ignored state folder (`.kms-state/test/softhsm-*`, never a global token directory),
 * removed afterwards. Use it with the docblock
 *   @jest-environment ./libs/key-backend-pkcs11/src/testing/softhsm-test.environment.ts
 * Why an environment: SoftHSM2 reads SOFTHSM2_CONF with getenv() in C_Initialize, and the
 * process.env a test sees is Jest's copy, so setting it there never reaches the module. This class
 * runs outside the sandbox and sets the real variable; the test reads the token's paths through
 * softHsmTestToken().
 */
export default class SoftHsmTestEnvironment extends NodeEnvironment {
  private dir?: string;
  private previousConf?: string;

  override async setup(): Promise<void> {
    await super.setup();
    this.dir = await mkdtemp(join(await softHsmTestRoot(), 'softhsm-'));
    const token = await ensureSoftHsmToken(this.dir);
    this.previousConf = process.env['SOFTHSM2_CONF'];
    process.env['SOFTHSM2_CONF'] = token.confPath;
    const env = this.global.process.env;
    env['SOFTHSM2_CONF'] = token.confPath;
    env['KMS_TEST_SOFTHSM_STATE_DIR'] = this.dir;
  }

  override async teardown(): Promise<void> {
    if (this.previousConf === undefined) delete process.env['SOFTHSM2_CONF'];
    else process.env['SOFTHSM2_CONF'] = this.previousConf;
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
    await super.teardown();
  }
}
