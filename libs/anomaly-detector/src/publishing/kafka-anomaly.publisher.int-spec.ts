import { type AnomalyFinding } from '@kms/anomaly-rules';
import { KafkaTestCluster, readTopicWithKcat } from '@kms/notices-kafka/testing';
import { ANOMALY_NOTICE_TYPE, ANOMALY_TOPIC } from './anomaly-publisher.port';
import { KafkaAnomalyPublisher } from './kafka-anomaly.publisher';

const finding: AnomalyFinding = {
  id: 'f3b1c2d4-0000-4000-8000-00000000abcd',
  rule: 'refused-burst',
  severity: 'high',
  identityId: 'wl-orders',
  keyId: 'key-payments',
  keyVersion: 1,
  source: '10.1.2.3',
  window: { start: '2026-03-02T09:00:00.000Z', end: '2026-03-02T09:01:00.000Z' },
  summary: '25 refused calls in 60 s',
  evidence: { count: 25, auditRecordIds: ['rec-1', 'rec-2'], facts: { threshold: 20 } },
};

describe('KafkaAnomalyPublisher on an Apache Kafka broker, read back with kcat', () => {
  let kafka: KafkaTestCluster;

  beforeAll(async () => {
    kafka = await KafkaTestCluster.start({ name: 'anomaly-publisher' });
  }, 180_000);
  afterAll(async () => {
    await kafka?.destroy();
  });

  it('names its topic, kms.anomalies.v1 unless told otherwise', async () => {
    const p = new KafkaAnomalyPublisher(['127.0.0.1:1']);
    expect(p.description).toBe(`kafka ${ANOMALY_TOPIC}`);
    expect(p.topic).toBe(ANOMALY_TOPIC);
    await p.close();
  });

  it('creates kms.anomalies.v1 as configured and publishes an AnomalyDetected CloudEvent that a partner reads with kcat', async () => {
    const publisher = new KafkaAnomalyPublisher(kafka.brokers, { topics: { create: true, partitions: 3, replicationFactor: null, minInsyncReplicas: null } });
    try {
      await publisher.publish(finding, 'urn:kms:anomaly-detector:test');
    } finally {
      await publisher.close();
    }
    expect(await kafka.describeTopic(ANOMALY_TOPIC)).toEqual({ partitions: 3, replicationFactor: 1, minInsyncReplicas: 1 });
    const messages = await readTopicWithKcat(kafka.bootstrap, ANOMALY_TOPIC);
    expect(messages).toHaveLength(1);
    const [m] = messages;
    expect(m?.topic).toBe(ANOMALY_TOPIC);
    expect(m?.key).toBe('wl-orders');
    const ce = JSON.parse(m?.payload ?? 'null') as Record<string, unknown>;
    expect(ce).toMatchObject({
      specversion: '1.0',
      id: finding.id,
      type: ANOMALY_NOTICE_TYPE,
      source: 'urn:kms:anomaly-detector:test',
      subject: 'wl-orders',
      time: finding.window.start,
      datacontenttype: 'application/json',
      kmsseverity: 'high',
      kmsurgent: true,
      data: { id: finding.id, rule: 'refused-burst', severity: 'high', identityId: 'wl-orders', keyId: 'key-payments', evidence: { count: 25, auditRecordIds: ['rec-1', 'rec-2'] } },
    });
  }, 60_000);
});
