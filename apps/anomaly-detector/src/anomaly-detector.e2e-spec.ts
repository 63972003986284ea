import { ANOMALY_NOTICE_TYPE, ANOMALY_TOPIC, AnomalyDetectorService, GrpcContainmentGateway, KafkaAnomalyPublisher, PostgresDetectorStateStore, PostgresKeyUseLookup } from '@kms/anomaly-detector';
import { testConfig } from '@kms/anomaly-rules/testing';
import { KmsCallError } from '@kms/contracts';
import { PostgresEventStore } from '@kms/event-store-postgres';
import { KafkaTestCluster, readTopicWithKcat } from '@kms/notices-kafka/testing';
import { PostgresAuditFeed } from '@kms/persistence-postgres';
import { startKmsUnderTest, type Caller, type KmsUnderTest } from './anomaly-detector.e2e-harness';

const rules = testConfig((c) => {
  c.spike.bucketSeconds = 10;
  c.spike.warmupBuckets = 5;
  c.spike.thresholds.encrypt = { sigma: 6, minRatio: 4, minCount: 10 };
});

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A CloudEvent as a partner reads it off the topic (structured mode JSON). */
interface TopicNotice {
  key: string | null;
  event: { id: string; type: string; source: string; subject: string; specversion: string; time: string; datacontenttype: string; kmsseverity: string; kmsurgent: boolean; data: Record<string, unknown> };
}

describe('anomaly detector against the real key service (e2e)', () => {
  let kms: KmsUnderTest;
  let detectorId: Caller;
  let approver: Caller;
  // A real Apache Kafka broker; the publisher creates kms.anomalies.v1 itself.
  let kafka: KafkaTestCluster;
  let publisher: KafkaAnomalyPublisher;
  const started: AnomalyDetectorService[] = [];
  /** Everything on kms.anomalies.v1, read with kcat from the beginning, as a partner would. */
  const topic = async (): Promise<TopicNotice[]> =>
    (await readTopicWithKcat(kafka.bootstrap, ANOMALY_TOPIC)).map((m) => ({ key: m.key, event: JSON.parse(m.payload ?? 'null') as TopicNotice['event'] }));

  const startDetector = async (): Promise<AnomalyDetectorService> => {
    const state = new PostgresDetectorStateStore(kms.db);
    await state.ensureSchema();
    const d = new AnomalyDetectorService(rules, {
      feed: new PostgresAuditFeed(kms.db, kms.service.runtime.auditSealer),
      uses: new PostgresKeyUseLookup(kms.db, kms.service.runtime.auditSealer),
      events: new PostgresEventStore(kms.db, { pollIntervalMs: 100 }),
      state,
      publisher,
      containment: new GrpcContainmentGateway(kms.address, detectorId.identityId, detectorId.clientSecret, () => kms.clock.now().getTime()),
      selfIdentityId: detectorId.identityId,
      source: 'urn:kms:test',
      batchSize: 200,
      pollMs: 50,
      now: () => kms.clock.now(),
      log: (level, m) => void (level === 'error' && console.error(m)),
    });
    await d.start();
    started.push(d);
    return d;
  };
  const caughtUp = (d: AnomalyDetectorService) => until('the detector to catch up', async () => (d.stats.position >= (await new PostgresAuditFeed(kms.db, kms.service.runtime.auditSealer).headPosition()) ? true : undefined));
  const anomalies = async (identityId: string) =>
    (await kms.db.query<{ stream_id: string; data: { rule: string; identityId: string | null; window: { start: string; end: string }; evidence: { auditRecordIds: string[] } } }>(`SELECT stream_id, data FROM events WHERE type = 'AnomalyDetected' AND data->>'identityId' = $1 ORDER BY global_position`, [identityId])).rows;
  const keyAnomalies = async (keyId: string) => (await kms.db.query(`SELECT 1 FROM events WHERE type = 'AnomalyDetected' AND data->>'keyId' = $1 AND data->>'identityId' IS NULL`, [keyId])).rowCount ?? 0;

  /** `perBucket` Encrypt calls in each of `buckets` 10-second buckets, the clock moving evenly. */
  const steady = async (w: Caller, keyId: string, buckets: number, perBucket: number) => {
    for (let b = 0; b < buckets; b++) {
      for (let i = 0; i < perBucket; i++) {
        await w.call('Encrypt', { key_id: keyId, plaintext: Buffer.from('hi').toString('base64') });
        kms.clock.advance(10_000 / perBucket);
      }
    }
  };
  const burst = async (w: Caller, keyId: string, n: number) => {
    let refused = 0;
    for (let i = 0; i < n; i++) {
      await w.call('Encrypt', { key_id: keyId, plaintext: 'aGk=' }).catch(() => void refused++);
      kms.clock.advance(10);
    }
    return refused;
  };
  const workloadWithKey = async (name: string) => {
    const w = await kms.register(name, 'WORKLOAD');
    const key = await kms.admin.call<{ key_id: string }>('CreateKey', { tenant: 'acme', name, purpose: 'SERVICE_ENVELOPE', algorithm: 'AES_256_GCM', policy: { grants: { [w.identityId]: { permissions: ['ENCRYPT', 'DECRYPT'] } } } });
    return { w, keyId: key.key_id };
  };

  beforeAll(async () => {
    kafka = await KafkaTestCluster.start({ name: 'anomaly-e2e' });
    publisher = new KafkaAnomalyPublisher(kafka.brokers);
    kms = await startKmsUnderTest('anomaly_e2e');
    detectorId = await kms.register('anomaly-detector', 'WORKLOAD', ['anomaly-detector']);
    approver = await kms.register('second-admin', 'HUMAN', ['security-engineering']);
  }, 180_000);
  afterAll(async () => {
    for (const d of started) await d.stop();
    await publisher?.close();
    await kafka?.destroy();
    await kms?.stop();
  });

  it('given steady calls, when a 20x burst comes, then AnomalyDetected is recorded and on the Kafka topic, the identity is suspended and refused, and a dual-authorized re-enable restores it', async () => {
    const { w, keyId } = await workloadWithKey('orders');
    const detector = await startDetector();
    await steady(w, keyId, 8, 5);
    await caughtUp(detector);
    expect(await anomalies(w.identityId)).toEqual([]);

    const t0 = Date.now();
    await burst(w, keyId, 100);
    const found = await until('an AnomalyDetected event', async () => (await anomalies(w.identityId)).find((a) => a.data.rule === 'spike'));
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(found.stream_id).toMatch(/^anomaly-/);
    expect(found.data.evidence.auditRecordIds.length).toBeGreaterThan(0);

    // The notice is on kms.anomalies.v1 of the broker: a CloudEvent whose id is the finding's, keyed by the identity.
    const findingId = found.stream_id.slice('anomaly-'.length);
    const notice = await until('the notice on kms.anomalies.v1', async () => (await topic()).find((m) => m.event.id === findingId), 20_000);
    expect(notice.key).toBe(w.identityId);
    expect(notice.event).toEqual({
      specversion: '1.0',
      id: findingId,
      type: ANOMALY_NOTICE_TYPE,
      source: 'urn:kms:test',
      subject: w.identityId,
      time: found.data.window.start,
      datacontenttype: 'application/json',
      kmsseverity: 'high',
      kmsurgent: true,
      data: found.data,
    });
    expect(notice.event.data).toMatchObject({ id: findingId, rule: 'spike', severity: 'high', identityId: w.identityId, keyId, evidence: { auditRecordIds: found.data.evidence.auditRecordIds } });

    // Suspended: a fresh token is refused, and so is the call.
    await until('the suspension', async () => ((await kms.admin.call<{ suspended: boolean }>('GetIdentity', { identity_id: w.identityId })).suspended ? true : undefined));
    w.forgetToken();
    await expect(w.call('Encrypt', { key_id: keyId, plaintext: 'aGk=' })).rejects.toBeInstanceOf(KmsCallError);
    await caughtUp(detector);

    // Two people: the admin asks with a change ticket, a second admin approves.
    await expect(kms.admin.call('ReEnableIdentity', { identity_id: w.identityId, context: { change_ticket: 'CHG-42', reason: 'false positive: load test' } })).rejects.toMatchObject({ errorCode: 'APPROVAL_REQUIRED' });
    const pending = await approver.call<{ requests: Array<{ approval_id: string; target_id: string }> }>('ListApprovalRequests', { status: 'PENDING' });
    const request = pending.requests.find((r) => r.target_id === w.identityId);
    expect(request).toBeDefined();
    await approver.call('ApproveRequest', { approval_id: request?.approval_id ?? '' });
    kms.clock.advance(60_000);
    w.forgetToken();
    await expect(w.call('Encrypt', { key_id: keyId, plaintext: 'aGk=' })).resolves.toHaveProperty('ciphertext');
    await detector.stop();
  });

  it('given a detector stopped in the middle of a stream, when a new one resumes from the checkpoint, then the burst made while it was down is found once and nothing earlier repeats', async () => {
    const { w, keyId } = await workloadWithKey('billing');
    const first = await startDetector();
    await steady(w, keyId, 8, 5);
    await caughtUp(first);
    await first.stop();
    const recordedBefore = (await kms.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM events WHERE type = 'AnomalyDetected'`)).rows[0]?.n;

    await burst(w, keyId, 100);
    const second = await startDetector();
    await caughtUp(second);
    const found = await anomalies(w.identityId);
    expect(found.filter((a) => a.data.rule === 'spike')).toHaveLength(1);
    expect(second.stats.findingsReplayed).toBe(0);
    const after = (await kms.db.query<{ n: string; streams: string }>(`SELECT count(*)::text AS n, count(DISTINCT stream_id)::text AS streams FROM events WHERE type = 'AnomalyDetected'`)).rows[0];
    expect(after?.n).toBe(after?.streams);
    expect(await keyAnomalies(keyId)).toBe(1);
    expect(Number(after?.n)).toBe(Number(recordedBefore) + found.length + 1);
    // Every finding of the burst reached the topic (consumers deduplicate by CloudEvent id).
    const billingIds = (await kms.db.query<{ id: string }>(`SELECT data->>'id' AS id FROM events WHERE type = 'AnomalyDetected' AND (data->>'identityId' = $1 OR data->>'keyId' = $2)`, [w.identityId, keyId])).rows.map((r) => r.id);
    const onTopic = await until('the notices of the burst on the topic', async () => {
      const ids = new Set((await topic()).map((m) => m.event.id));
      return billingIds.every((id) => ids.has(id)) ? ids : undefined;
    }, 20_000);
    expect(billingIds.length).toBeGreaterThanOrEqual(2);
    expect(billingIds.filter((id) => !onTopic.has(id))).toEqual([]);

    // A third start over the same checkpoint evaluates nothing again.
    await second.stop();
    const third = await startDetector();
    await caughtUp(third);
    expect(third.stats.recordsEvaluated).toBe(0);
  });
});
