import { testConfig } from './testing';

describe('KMIP server settings (docs/kmip.md)', () => {
  it('refuses a Register of clear key material unless KMS_KMIP_ALLOW_CLEAR_REGISTER says otherwise', () => {
    expect(testConfig({}).kmip.allowClearRegister).toBe(false);
    expect(testConfig({ KMS_KMIP_ALLOW_CLEAR_REGISTER: 'true' }).kmip.allowClearRegister).toBe(true);
    expect(testConfig({ KMS_KMIP_ALLOW_CLEAR_REGISTER: 'false' }).kmip.allowClearRegister).toBe(false);
    expect(() => testConfig({ KMS_KMIP_ALLOW_CLEAR_REGISTER: 'maybe' })).toThrow(/KMS_KMIP_ALLOW_CLEAR_REGISTER/);
  });
});
