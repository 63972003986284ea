import { ConfigError, loadConfig, type KmsConfig } from '@kms/config';
import type { Pkcs11HsmOptions } from './pkcs11-hsm';

const MASTER_KEY = Buffer.alloc(32, 7).toString('base64');

function hsm(env: Record<string, string>): KmsConfig['hsm'] {
  return loadConfig({ KMS_MASTER_KEY: MASTER_KEY, ...env }, '/srv/kms').hsm;
}

function configError(env: Record<string, string>): ConfigError {
  try {
    hsm(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('loaded');
}

describe('KmsConfig hsm section', () => {
  it('is off by default outside standalone mode', () => {
    expect(hsm({})).toEqual({ enabled: false });
  });

  it('in standalone mode is on, on the state folder token, with the defaults', () => {
    expect(hsm({ KMS_STANDALONE: '1', KMS_STATE_DIR: 'state' })).toEqual({
      enabled: true,
      modulePath: '/usr/lib/softhsm/libsofthsm2.so',
      token: { kind: 'label', label: 'kms' },
      pin: { kind: 'file', path: '/srv/kms/state/hsm/user.pin' },
      sessions: 4,
      softhsm2Conf: '/srv/kms/state/hsm/softhsm2.conf',
      provisionSoftHsmToken: true,
    });
    expect(hsm({ KMS_STANDALONE: '1', KMS_HSM_ENABLED: 'false' })).toEqual({ enabled: false });
  });

  it('takes module, slot, PIN file, sessions and SOFTHSM2_CONF from the environment; then provisions nothing', () => {
    expect(
      hsm({
        KMS_STANDALONE: '1',
        KMS_HSM_MODULE: '/opt/hsm/lib.so',
        KMS_HSM_SLOT: '2',
        KMS_HSM_PIN_FILE: 'secrets/pin',
        KMS_HSM_SESSIONS: '16',
        SOFTHSM2_CONF: '/etc/softhsm/kms.conf',
      }),
    ).toEqual({
      enabled: true,
      modulePath: '/opt/hsm/lib.so',
      token: { kind: 'slot', index: 2 },
      pin: { kind: 'file', path: '/srv/kms/secrets/pin' },
      sessions: 16,
      softhsm2Conf: '/etc/softhsm/kms.conf',
      provisionSoftHsmToken: false,
    });
  });

  it('keeps a PIN from KMS_HSM_PIN secret: JSON and string forms hide it', () => {
    const config = hsm({ KMS_HSM_ENABLED: 'true', KMS_HSM_PIN: '4711-secret' });
    if (!config.enabled || config.pin.kind !== 'env') throw new Error('expected an env PIN');
    expect(config.pin.value.reveal()).toBe('4711-secret');
    expect(JSON.stringify(config)).not.toContain('4711-secret');
    expect(`${config.pin.value}`).toBe('[secret]');
    expect(config.softhsm2Conf).toBeUndefined();
  });

  it.each([
    [{ KMS_HSM_ENABLED: 'maybe' }, 'KMS_HSM_ENABLED', 'KMS_HSM_ENABLED: must be true or false, got "maybe"'],
    [{ KMS_HSM_ENABLED: '1' }, 'KMS_HSM_PIN_FILE', 'KMS_HSM_PIN_FILE: the HSM user PIN is required: set KMS_HSM_PIN_FILE or KMS_HSM_PIN (or KMS_HSM_ENABLED=false)'],
    [{ KMS_HSM_ENABLED: '1', KMS_HSM_PIN: 'a', KMS_HSM_PIN_FILE: 'b' }, 'KMS_HSM_PIN', 'KMS_HSM_PIN: set either KMS_HSM_PIN or KMS_HSM_PIN_FILE, not both'],
    [{ KMS_STANDALONE: '1', KMS_HSM_SLOT: '1', KMS_HSM_TOKEN_LABEL: 'kms' }, 'KMS_HSM_SLOT', 'KMS_HSM_SLOT: set either KMS_HSM_SLOT or KMS_HSM_TOKEN_LABEL, not both'],
    [{ KMS_STANDALONE: '1', KMS_HSM_SLOT: '-1' }, 'KMS_HSM_SLOT', 'KMS_HSM_SLOT: must be a whole number from 0 to 1023, got "-1"'],
    [{ KMS_STANDALONE: '1', KMS_HSM_TOKEN_LABEL: 'x'.repeat(33) }, 'KMS_HSM_TOKEN_LABEL', 'KMS_HSM_TOKEN_LABEL: must be 1 to 32 bytes'],
    [{ KMS_STANDALONE: '1', KMS_HSM_SESSIONS: '0' }, 'KMS_HSM_SESSIONS', 'KMS_HSM_SESSIONS: must be a whole number from 1 to 64, got "0"'],
  ])('refuses %j naming %s', (env, variable, message) => {
    const err = configError(env);
    expect(err.variable).toBe(variable);
    expect(err.message).toBe(message);
  });

  it('an enabled section is what createPkcs11Hsm takes', () => {
    const config = hsm({ KMS_STANDALONE: '1' });
    if (!config.enabled) throw new Error('expected the HSM enabled');
    const options: Pkcs11HsmOptions = { ...config, onFailure: () => undefined };
    expect(options.token).toEqual({ kind: 'label', label: 'kms' });
  });
});
