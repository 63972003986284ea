import { ConfigError } from './config-error';
import { testConfig } from './testing';

// The checkpoints section of the one configuration (moved here from the audit projector's own parser).
const loadCheckpointKafkaSettings = (env: Record<string, string>) => testConfig(env).checkpoints;

describe('loadCheckpointKafkaSettings', () => {
  it('defaults to no broker, the kms.ledger-checkpoints.v1 topic and a topic created by the KMS', () => {
    expect(loadCheckpointKafkaSettings({})).toEqual({
      brokers: [],
      topic: 'kms.ledger-checkpoints.v1',
      topics: { create: true, partitions: 6, replicationFactor: null, minInsyncReplicas: null },
      clientId: 'open-kms-audit-projector',
    });
  });

  it('reads brokers, topic and the topic creation settings shared with the notices', () => {
    expect(loadCheckpointKafkaSettings({ KAFKA_BROKERS: 'k1:9092, k2:9092', KMS_CHECKPOINTS_TOPIC: 'acme.checkpoints', KMS_KAFKA_CREATE_TOPICS: 'false' })).toMatchObject({
      brokers: ['k1:9092', 'k2:9092'],
      topic: 'acme.checkpoints',
      topics: { create: false },
    });
  });

  it.each([
    ['KAFKA_BROKERS', 'no-port'],
    ['KMS_CHECKPOINTS_TOPIC', 'bad topic'],
    ['KMS_KAFKA_CREATE_TOPICS', 'yes'],
  ])('names the bad variable %s', (variable, value) => {
    expect(() => loadCheckpointKafkaSettings({ [variable]: value })).toThrow(ConfigError);
    expect(() => loadCheckpointKafkaSettings({ [variable]: value })).toThrow(new RegExp(`^${variable}:`));
  });
});
