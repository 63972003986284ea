import { ConfigError } from './config-error';
import { testConfig } from './testing';

// The notices section of the one configuration (moved here from notices-kafka's own parser).
const loadNoticeSettings = (env: Record<string, string>) => testConfig(env).notices;

describe('loadNoticeSettings', () => {
  it('defaults to standalone (no broker), the kms.key-lifecycle.v1 topic, 24 h to confirm and topics created by the KMS', () => {
    expect(loadNoticeSettings({})).toEqual({
      brokers: [],
      topic: 'kms.key-lifecycle.v1',
      source: '/open-kms',
      confirmWithinMs: 24 * 3_600_000,
      topics: { create: true, partitions: 6, replicationFactor: null, minInsyncReplicas: null },
      maxLagSeconds: 900,
      clientId: 'open-kms-notices',
      confirmationsTopic: 'kms.key-confirmations.v1',
    });
  });

  it('reads brokers, topic and the topic creation settings', () => {
    const s = loadNoticeSettings({
      KAFKA_BROKERS: 'k1:9092, k2:9092',
      KMS_NOTICES_TOPIC: 'acme.keys.v1',
      KMS_NOTICES_CONFIRM_WITHIN_HOURS: '4',
      KMS_KAFKA_TOPIC_PARTITIONS: '12',
      KMS_KAFKA_REPLICATION_FACTOR: '3',
      KMS_KAFKA_MIN_INSYNC_REPLICAS: '2',
    });
    expect(s).toMatchObject({
      brokers: ['k1:9092', 'k2:9092'],
      topic: 'acme.keys.v1',
      confirmWithinMs: 4 * 3_600_000,
      topics: { create: true, partitions: 12, replicationFactor: 3, minInsyncReplicas: 2 },
    });
  });

  it('leaves topic creation to operators when KMS_KAFKA_CREATE_TOPICS=false', () => {
    expect(loadNoticeSettings({ KMS_KAFKA_CREATE_TOPICS: 'false' }).topics.create).toBe(false);
  });

  it.each([
    ['KAFKA_BROKERS', 'no-port'],
    ['KMS_NOTICES_TOPIC', 'bad topic'],
    ['KMS_CONFIRMATIONS_TOPIC', 'bad/topic'],
    ['KMS_KAFKA_IDEMPOTENT', 'false'],
    ['KMS_KAFKA_CREATE_TOPICS', 'yes'],
    ['KMS_KAFKA_TOPIC_PARTITIONS', '0'],
    ['KMS_KAFKA_REPLICATION_FACTOR', '1.5'],
    ['KMS_KAFKA_MIN_INSYNC_REPLICAS', 'two'],
    ['KMS_NOTICES_CONFIRM_WITHIN_HOURS', '-1'],
  ])('names the bad variable %s', (variable, value) => {
    expect(() => loadNoticeSettings({ [variable]: value })).toThrow(ConfigError);
    expect(() => loadNoticeSettings({ [variable]: value })).toThrow(new RegExp(`^${variable}:`));
  });

  it('refuses more in-sync replicas than replicas, which would make every acks=all write fail', () => {
    expect(() => loadNoticeSettings({ KMS_KAFKA_REPLICATION_FACTOR: '2', KMS_KAFKA_MIN_INSYNC_REPLICAS: '3' })).toThrow(/^KMS_KAFKA_MIN_INSYNC_REPLICAS: must not exceed KMS_KAFKA_REPLICATION_FACTOR \(2\)/);
  });
});
