import { DEFAULT_LEDGER_ORIGIN } from '../audit-projector.module';
import { testConfig } from '@kms/config/testing';
import { checkpointPublisherFor } from './checkpoint-publisher.factory';
import { DEFAULT_CHECKPOINT_TOPIC, KafkaCheckpointPublisher } from './kafka-checkpoint-publisher';

const checkpointPublisherFromEnv = (env: Record<string, string>) => checkpointPublisherFor(testConfig(env).checkpoints);

describe('checkpointPublisherFor', () => {
  it('builds a Kafka publisher only when KAFKA_BROKERS is set (main.ts wires it through this)', async () => {
    expect(checkpointPublisherFromEnv({})).toBeUndefined();
    const p = checkpointPublisherFromEnv({ KAFKA_BROKERS: '127.0.0.1:9092', KMS_CHECKPOINTS_TOPIC: 'acme.checkpoints' });
    expect(p).toBeInstanceOf(KafkaCheckpointPublisher);
    expect(p?.topic).toBe('acme.checkpoints');
    await p?.close();
  });
  // libs/config cannot import this lib, so it repeats the defaults; they must stay the same.
  it('the configuration defaults to this lib\'s checkpoint topic and ledger origin', () => {
    const config = testConfig();
    expect(config.checkpoints.topic).toBe(DEFAULT_CHECKPOINT_TOPIC);
    expect(config.auditProjector.ledgerOrigin).toBe(DEFAULT_LEDGER_ORIGIN);
  });
});
