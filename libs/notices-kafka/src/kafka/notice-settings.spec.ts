import { ConfigError } from '@kms/config';
import { loadNoticeSettings } from './notice-settings';

describe('loadNoticeSettings', () => {
  it('defaults to standalone (no broker), the kms.key-lifecycle.v1 topic, 24 h to confirm and an idempotent producer', () => {
    expect(loadNoticeSettings({})).toEqual({
      brokers: [],
      topic: 'kms.key-lifecycle.v1',
      source: '/open-kms',
      confirmWithinMs: 24 * 3_600_000,
      idempotentProducer: true,
      maxLagSeconds: 900,
      clientId: 'open-kms-notices',
      confirmationsTopic: 'kms.key-confirmations.v1',
    });
  });

  it('reads brokers, topic and the producer flag', () => {
    const s = loadNoticeSettings({ KAFKA_BROKERS: 'k1:9092, k2:9092', KMS_NOTICES_TOPIC: 'acme.keys.v1', KMS_KAFKA_IDEMPOTENT: 'false', KMS_NOTICES_CONFIRM_WITHIN_HOURS: '4' });
    expect(s).toMatchObject({ brokers: ['k1:9092', 'k2:9092'], topic: 'acme.keys.v1', idempotentProducer: false, confirmWithinMs: 4 * 3_600_000 });
  });

  it.each([
    ['KAFKA_BROKERS', 'no-port'],
    ['KMS_NOTICES_TOPIC', 'bad topic'],
    ['KMS_CONFIRMATIONS_TOPIC', 'bad/topic'],
    ['KMS_KAFKA_IDEMPOTENT', 'yes'],
    ['KMS_NOTICES_CONFIRM_WITHIN_HOURS', '-1'],
  ])('names the bad variable %s', (variable, value) => {
    expect(() => loadNoticeSettings({ [variable]: value })).toThrow(ConfigError);
    expect(() => loadNoticeSettings({ [variable]: value })).toThrow(new RegExp(`^${variable}:`));
  });
});
