import { randomUUID } from 'node:crypto';
import { grpcConfirmationSink, KafkaConfirmationConsumer } from '@kms/notices-kafka';
import { KafkaTestCluster } from '@kms/notices-kafka/testing';
import { eventually } from '@kms/testing';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { type Actor, type KeyServiceUnderTest, startKeyServiceUnderTest } from './key-service.e2e-harness';

/**
 * A partner confirms a new key version by a message on the confirmations topic instead of gRPC:
 * an Apache Kafka broker, kafkajs on both sides, the real key service checking and auditing.
 */
describe('dependent confirmations on the Kafka topic kms.key-confirmations.v1', () => {
  const topic = 'kms.key-confirmations.v1';
  let kms: KeyServiceUnderTest;
  let kafka: KafkaTestCluster;
  let producer: Producer;
  let consumer: KafkaConfirmationConsumer;
  let partner: Actor;
  let stranger: Actor;

  beforeAll(async () => {
    kms = await startKeyServiceUnderTest('confirm_topic');
    kafka = await KafkaTestCluster.start({ name: 'confirmations-e2e' });
    partner = await kms.register('partner-billing', 'WORKLOAD');
    stranger = await kms.register('someone-else', 'WORKLOAD');
    // The consumer creates the topic (3 partitions) before joining its group, as the KMS does at start.
    consumer = new KafkaConfirmationConsumer(grpcConfirmationSink(kms.client), {
      brokers: kafka.brokers,
      topic,
      groupId: `kms-${randomUUID()}`,
      logLevel: logLevel.NOTHING,
      topics: { create: true, partitions: 3, replicationFactor: null, minInsyncReplicas: null },
    });
    await consumer.start();
    // A partner's producer as the docs show it: idempotent, acks=all.
    producer = new Kafka({ clientId: 'partner', brokers: kafka.brokers, logLevel: logLevel.NOTHING }).producer({ idempotent: true, allowAutoTopicCreation: false });
    await producer.connect();
  }, 180_000);

  afterAll(async () => {
    await consumer?.stop();
    await producer?.disconnect();
    await kafka?.destroy();
    await kms?.stop();
  });

  async function keyWithPartner(): Promise<string> {
    const key = await kms.admin.call<{ key_id: string }>('CreateKey', { tenant: 'acme', name: `svc-${randomUUID()}`, purpose: 'SERVICE_ENVELOPE', algorithm: 'AES_256_GCM' });
    await kms.admin.call('RegisterDependent', { key_id: key.key_id, dependent_id: partner.identityId, name: 'partner-billing' });
    await kms.admin.call('RotateKey', { key_id: key.key_id, reason: 'MANUAL' });
    return key.key_id;
  }

  const send = (keyId: string, value: unknown, headers: Record<string, string>) =>
    producer.send({ topic, messages: [{ key: keyId, value: typeof value === 'string' ? value : JSON.stringify(value), headers }] });

  const confirmedVersion = async (keyId: string): Promise<number> =>
    (await kms.admin.call<{ dependents: Array<{ dependent_id: string; confirmed_version: number }> }>('GetKey', { key_id: keyId })).dependents.find(
      (d) => d.dependent_id === partner.identityId,
    )?.confirmed_version ?? 0;

  async function auditOf(requestId: string): Promise<Array<{ operation: string; outcome: string; actor: string; error_code: string | null }>> {
    const r = await kms.db.query('SELECT operation, outcome, actor, error_code FROM audit_records WHERE request_id = $1', [requestId]);
    return r.rows;
  }

  it('records the confirmation as the partner itself, audited under the message request id, and the old version can then retire', async () => {
    const keyId = await keyWithPartner();
    await expect(kms.admin.call('DisableKeyVersion', { key_id: keyId, key_version: 1 })).rejects.toMatchObject({ errorCode: 'DEPENDENTS_NOT_CONFIRMED' });
    const requestId = randomUUID();

    await send(keyId, { keyId, version: 2 }, { authorization: `Bearer ${await partner.token()}`, 'request-id': requestId });

    expect(await eventually(() => confirmedVersion(keyId), 2, 20_000)).toBe(2);
    expect(await auditOf(requestId)).toEqual([{ operation: 'ConfirmKeyVersion', outcome: 'SUCCESS', actor: partner.identityId, error_code: null }]);
    const disabled = await kms.admin.call<{ versions: Array<{ state: string }> }>('DisableKeyVersion', { key_id: keyId, key_version: 1 });
    expect(disabled.versions[0].state).toBe('DISABLED');
  });

  it('refuses, audits and skips a message from an identity that is not a dependent, a bad token and bad input; later messages still go through', async () => {
    const keyId = await keyWithPartner();
    const strangerRequest = randomUUID();
    const before = consumer.stats();
    await send(keyId, { keyId, version: 2 }, { authorization: `Bearer ${await stranger.token()}`, 'request-id': strangerRequest });
    await send(keyId, { keyId, version: 2 }, { authorization: 'Bearer not-a-token' });
    await send(keyId, { keyId, version: 2 }, {});
    await send(keyId, 'not json', { authorization: `Bearer ${await partner.token()}` });
    await send(keyId, { keyId, version: 0 }, { authorization: `Bearer ${await partner.token()}` });
    // In order on the key's partition: once this one is recorded, the five before it were handled.
    await send(keyId, { keyId, version: 2 }, { authorization: `Bearer ${await partner.token()}` });

    expect(await eventually(() => confirmedVersion(keyId), 2, 20_000)).toBe(2);
    const handled = async (): Promise<string> => {
      const s = consumer.stats();
      return `confirmed ${s.confirmed - before.confirmed}, refused ${s.refused - before.refused}`;
    };
    expect(await eventually(handled, 'confirmed 1, refused 5', 20_000)).toBe('confirmed 1, refused 5');
    expect(await auditOf(strangerRequest)).toEqual([{ operation: 'ConfirmKeyVersion', outcome: 'DENIED', actor: stranger.identityId, error_code: 'NOT_A_DEPENDENT' }]);
  });
});
