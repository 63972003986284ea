import { ConfigError } from './config-error';
import { testConfig } from './testing';

const two = [
  { id: 'hsm-eu', tokenLabel: 'kms-eu', pinFile: 'eu.pin', jurisdiction: 'eu-sovereign', provider: 'ovh', environment: 'sovereign', certifications: ['FIPS 140-3 #4821'] },
  { id: 'hsm-us', tokenLabel: 'kms-us', pinVariable: 'US_HSM_PIN', jurisdiction: 'US', provider: 'aws', environment: 'commercial' },
];

function configError(env: Record<string, string>): ConfigError {
  try {
    testConfig(env, '/srv/kms');
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('loaded');
}

describe('HSM instances', () => {
  it('keeps the single KMS_HSM_* HSM working as instance "default" of the default jurisdiction', () => {
    const config = testConfig({ KMS_HSM_ENABLED: 'true', KMS_HSM_PIN_FILE: 'pin', KMS_HSM_TOKEN_LABEL: 'kms' }, '/srv/kms');
    expect(config.hsmInstances).toEqual([
      expect.objectContaining({
        id: 'default',
        modulePath: '/usr/lib/softhsm/libsofthsm2.so',
        token: { kind: 'label', label: 'kms' },
        pin: { kind: 'file', path: '/srv/kms/pin' },
        jurisdiction: 'default',
        provider: 'unspecified',
        environment: 'on-premises',
        certifications: [],
      }),
    ]);
    expect(config.hsm).toMatchObject({ enabled: true, token: { kind: 'label', label: 'kms' } });
  });

  it('declares the single HSM\'s jurisdiction and certifications with KMS_HSM_* variables', () => {
    const config = testConfig({ KMS_HSM_ENABLED: 'true', KMS_HSM_PIN_FILE: 'pin', KMS_HSM_JURISDICTION: 'DE', KMS_HSM_ENVIRONMENT: 'sovereign', KMS_HSM_CERTIFICATIONS: 'FIPS 140-3 #1, CC EAL4+' });
    expect(config.hsmInstances[0]).toMatchObject({ jurisdiction: 'de', environment: 'sovereign', certifications: ['FIPS 140-3 #1', 'CC EAL4+'] });
    expect(configError({ KMS_HSM_ENABLED: 'true', KMS_HSM_PIN_FILE: 'pin', KMS_HSM_ENVIRONMENT: 'cloud' }).variable).toBe('KMS_HSM_ENVIRONMENT');
  });

  it('has no instance without an HSM', () => {
    expect(testConfig().hsmInstances).toEqual([]);
  });

  it('reads several instances from KMS_HSM_INSTANCES, PINs from a file or a named variable', () => {
    const config = testConfig({ KMS_HSM_INSTANCES: JSON.stringify(two), US_HSM_PIN: '1234' }, '/srv/kms');
    expect(config.hsmInstances.map((i) => [i.id, i.jurisdiction, i.environment, i.provider])).toEqual([
      ['hsm-eu', 'eu-sovereign', 'sovereign', 'ovh'],
      ['hsm-us', 'us', 'commercial', 'aws'],
    ]);
    expect(config.hsmInstances[0].pin).toEqual({ kind: 'file', path: '/srv/kms/eu.pin' });
    const us = config.hsmInstances[1].pin;
    expect(us.kind === 'env' && us.value.reveal()).toBe('1234');
    // The PIN is a Secret: it never appears in the configuration as JSON.
    expect(JSON.stringify(config.hsmInstances)).not.toContain('1234');
  });

  it.each([
    [{ KMS_HSM_INSTANCES: '[' }, 'KMS_HSM_INSTANCES', 'not valid JSON'],
    [{ KMS_HSM_INSTANCES: JSON.stringify([{ ...two[0], jurisdiction: 'eu_x' }]) }, 'KMS_HSM_INSTANCES', '0.jurisdiction'],
    [{ KMS_HSM_INSTANCES: JSON.stringify([{ ...two[0], environment: 'cloud' }]) }, 'KMS_HSM_INSTANCES', '0.environment'],
    [{ KMS_HSM_INSTANCES: JSON.stringify([two[0], two[0]]) }, 'KMS_HSM_INSTANCES', 'declared twice'],
    [{ KMS_HSM_INSTANCES: JSON.stringify([{ ...two[0], pin: '1234' }]) }, 'KMS_HSM_INSTANCES', 'pin'],
    [{ KMS_HSM_INSTANCES: JSON.stringify([two[1]]) }, 'US_HSM_PIN', 'names it as its PIN'],
    [{ KMS_HSM_INSTANCES: JSON.stringify([{ ...two[0], pinFile: undefined }]) }, 'KMS_HSM_INSTANCES', '0.pinFile'],
  ])('refuses %j naming %s', (env, variable, text) => {
    const e = configError(env as Record<string, string>);
    expect(e.variable).toBe(variable);
    expect(e.message).toContain(text);
  });

  it('in standalone mode, gives instances without a PIN the state folder\'s SoftHSM2 token files', () => {
    const config = testConfig({ KMS_STANDALONE: '1', KMS_HSM_INSTANCES: JSON.stringify(two.map(({ pinFile: _f, pinVariable: _v, ...i }) => i)) }, '/srv/kms');
    expect(config.hsmInstances.map((i) => [i.token, i.pin, i.softhsm2Conf, i.provisionSoftHsmToken])).toEqual([
      [{ kind: 'label', label: 'kms-eu' }, { kind: 'file', path: '/srv/kms/.kms-state/hsm/user.pin' }, '/srv/kms/.kms-state/hsm/softhsm2.conf', true],
      [{ kind: 'label', label: 'kms-us' }, { kind: 'file', path: '/srv/kms/.kms-state/hsm/user.pin' }, '/srv/kms/.kms-state/hsm/softhsm2.conf', true],
    ]);
  });
});

describe('master keys per jurisdiction (KMS_MASTER_KEY_JURISDICTION, KMS_MASTER_KEYS)', () => {
  it('keeps the one master key as the default jurisdiction when nothing is declared', () => {
    expect(testConfig().masterKeys).toEqual({ primary: 'default', others: [] });
  });

  it('reads one file per jurisdiction, normalised, and refuses a key itself, a duplicate or a bad jurisdiction', () => {
    const config = testConfig({ KMS_MASTER_KEY_JURISDICTION: 'EU', KMS_MASTER_KEYS: JSON.stringify({ US: 'keys/us.key' }) }, '/srv/kms');
    expect(config.masterKeys).toEqual({ primary: 'eu', others: [{ jurisdiction: 'us', path: '/srv/kms/keys/us.key' }] });
    expect(() => testConfig({ KMS_MASTER_KEYS: JSON.stringify({ us: { value: 'abc' } }) })).toThrow(/^KMS_MASTER_KEYS: us: must be the path of a file/);
    expect(() => testConfig({ KMS_MASTER_KEY_JURISDICTION: 'eu', KMS_MASTER_KEYS: JSON.stringify({ eu: 'eu.key' }) })).toThrow(/^KMS_MASTER_KEYS: eu: is the jurisdiction of KMS_MASTER_KEY/);
    expect(() => testConfig({ KMS_MASTER_KEYS: JSON.stringify({ 'not a place': 'x.key' }) })).toThrow(/^KMS_MASTER_KEYS: /);
    expect(() => testConfig({ KMS_MASTER_KEYS: '["us"]' })).toThrow(/^KMS_MASTER_KEYS: must be a JSON object/);
    expect(() => testConfig({ KMS_MASTER_KEY_JURISDICTION: '!' })).toThrow(/^KMS_MASTER_KEY_JURISDICTION: /);
  });
});

describe('evidence owner and retention of an HSM instance (control matrix columns)', () => {
  it('keeps them as declared, and leaves them out when not declared', () => {
    const [eu, us] = testConfig({
      KMS_HSM_INSTANCES: JSON.stringify([
        { id: 'hsm-eu', pinVariable: 'PIN_EU', jurisdiction: 'eu', provider: 'p', environment: 'sovereign', evidenceOwner: 'eu-compliance', evidenceRetention: 's3://eu-evidence' },
        { id: 'hsm-us', pinVariable: 'PIN_EU', jurisdiction: 'us', provider: 'q', environment: 'commercial' },
      ]),
      PIN_EU: '1234',
    }).hsmInstances;
    expect([eu.evidenceOwner, eu.evidenceRetention]).toEqual(['eu-compliance', 's3://eu-evidence']);
    expect(us).not.toHaveProperty('evidenceOwner');
    expect(() => testConfig({ KMS_HSM_INSTANCES: JSON.stringify([{ id: 'x', pinVariable: 'P', jurisdiction: 'eu', provider: 'p', environment: 'sovereign', evidenceOwner: '' }]), P: '1' })).toThrow(/^KMS_HSM_INSTANCES: 0.evidenceOwner/);
  });
});
