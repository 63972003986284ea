import SoftHsmTestEnvironment from './softhsm-test.environment';
import { ensureSoftHsmTokens } from '../jurisdictions/softhsm-jurisdiction-tokens';
import { JURISDICTION_TEST_TOKENS } from './softhsm-jurisdiction-test-tokens';


/**
 * SoftHsmTestEnvironment plus two more tokens in the same folder (one softhsm2.conf, same PIN files):
 * `kms-eu` and `kms-us`. Docblock:
 *   @jest-environment ./libs/key-backend-pkcs11/src/testing/softhsm-jurisdictions-test.environment.ts
 */
export default class SoftHsmJurisdictionsTestEnvironment extends SoftHsmTestEnvironment {
  override async setup(): Promise<void> {
    await super.setup();
    const dir = this.global.process.env['KMS_TEST_SOFTHSM_STATE_DIR'];
    if (!dir) throw new Error('SoftHsmTestEnvironment set no state folder');
    await ensureSoftHsmTokens(dir, Object.values(JURISDICTION_TEST_TOKENS));
  }
}
