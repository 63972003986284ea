import { ConfigError } from '@kms/config';
import { checkpointPublisherFromEnv, loadCheckpointKafkaSettings } from './checkpoint-kafka-settings';
import { KafkaCheckpointPublisher } from './kafka-checkpoint-publisher';

describe('loadCheckpointKafkaSettings', () => {
  it('defaults to no broker, the kms.ledger-checkpoints.v1 topic and an idempotent producer', () => {
    expect(loadCheckpointKafkaSettings({})).toEqual({ brokers: [], topic: 'kms.ledger-checkpoints.v1', idempotentProducer: true, clientId: 'open-kms-audit-projector' });
  });

  it('reads brokers, topic and the producer flag', () => {
    expect(loadCheckpointKafkaSettings({ KAFKA_BROKERS: 'k1:9092, k2:9092', KMS_CHECKPOINTS_TOPIC: 'acme.checkpoints', KMS_KAFKA_IDEMPOTENT: 'false' })).toMatchObject({
      brokers: ['k1:9092', 'k2:9092'],
      topic: 'acme.checkpoints',
      idempotentProducer: false,
    });
  });

  it.each([
    ['KAFKA_BROKERS', 'no-port'],
    ['KMS_CHECKPOINTS_TOPIC', 'bad topic'],
    ['KMS_KAFKA_IDEMPOTENT', 'yes'],
  ])('names the bad variable %s', (variable, value) => {
    expect(() => loadCheckpointKafkaSettings({ [variable]: value })).toThrow(ConfigError);
    expect(() => loadCheckpointKafkaSettings({ [variable]: value })).toThrow(new RegExp(`^${variable}:`));
  });

  it('builds a Kafka publisher only when KAFKA_BROKERS is set (main.ts wires it through this)', async () => {
    expect(checkpointPublisherFromEnv({})).toBeUndefined();
    const p = checkpointPublisherFromEnv({ KAFKA_BROKERS: '127.0.0.1:9092', KMS_CHECKPOINTS_TOPIC: 'acme.checkpoints' });
    expect(p).toBeInstanceOf(KafkaCheckpointPublisher);
    expect(p?.topic).toBe('acme.checkpoints');
    await p?.close();
  });
});
