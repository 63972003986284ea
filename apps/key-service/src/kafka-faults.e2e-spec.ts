import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { testConfig } from '@kms/config/testing';
import { grpcConfirmationSink, KafkaConfirmationConsumer, NoticesModule } from '@kms/notices-kafka';
import { KafkaTestCluster, readTopicWithKcat } from '@kms/notices-kafka/testing';
import { HealthModule, HealthRegistry, METRICS_REGISTRY } from '@kms/platform';
import { REPO_ROOT } from '@kms/testing';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { type Actor, type KeyServiceUnderTest, startKeyServiceUnderTest } from './key-service.e2e-harness';

const NOTICES = 'kms.key-lifecycle.v1';
const CONFIRMATIONS = 'kms.key-confirmations.v1';
const MEMBER_MAIN = resolve(__dirname, 'testing/confirmation-group-member.main.ts');
/** The broker's smallest allowed session timeout: a dead member's partitions move after ~6 s. */
const SESSION_TIMEOUT_MS = 6000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

interface RelayStatus {
  state: string;
  published: number;
  lagPositions: string;
  oldestUnpublishedSeconds: number;
}

interface Readiness {
  status: string;
  checks: Array<{ name: string; status: string; reason?: string; error?: string }>;
}

/**
 * The fault battery of issue 14 on a 3-broker Apache Kafka cluster (real JVM processes killed and
 * stopped by pid), with the real key service, its outbox relay publishing rotation notices
 * (idempotent producer, acks=all, topic created by the KMS with replication 3 and
 * min.insync.replicas 2) and the confirmation consumer group.
 */
describe('Kafka faults on a 3-broker cluster', () => {
  let kafka: KafkaTestCluster;
  let kms: KeyServiceUnderTest;
  const members: ChildProcessWithoutNullStreams[] = [];

  beforeAll(async () => {
    kafka = await KafkaTestCluster.start({ name: 'faults', nodes: 3 });
    // The notices module wired as standalone mode does (apps/standalone/src/main.ts), on the 3 brokers.
    kms = await startKeyServiceUnderTest(
      'kafka_faults',
      {},
      {
        extraModules: (rt, config) => [
          NoticesModule.forRoot(
            {
              settings: testConfig({ KAFKA_BROKERS: kafka.bootstrap, KMS_KAFKA_TOPIC_PARTITIONS: '3' }).notices,
              postgres: config.postgres,
              eventStore: rt.deps.store,
              eventsHead: async () => BigInt((await rt.pool.query<{ h: string | null }>('SELECT max(global_position)::text AS h FROM events')).rows[0]?.h ?? '0'),
              publicKeySource: {
                spki: async (ref) => {
                  const backend = rt.deps.backends[ref.protectionLevel];
                  if (!backend) throw new Error(`no ${ref.protectionLevel} backend`);
                  return backend.getPublicKey(ref);
                },
              },
              kafkaLogLevel: logLevel.NOTHING,
            },
            { imports: [HealthModule], metricsRegistry: METRICS_REGISTRY, healthRegistry: HealthRegistry },
          ),
        ],
      },
    );
  }, 180_000);

  afterAll(async () => {
    // By pid, even when a test failed half-way.
    for (const m of members) if (m.exitCode === null && m.signalCode === null && m.pid) process.kill(m.pid, 'SIGKILL');
    await kms?.stop();
    await kafka?.destroy();
  }, 60_000);

  const http = async <T>(path: string): Promise<{ code: number; body: T }> => {
    const r = await fetch(`${kms.service.httpUrl}${path}`);
    return { code: r.status, body: (await r.json()) as T };
  };
  const relayStatus = async (): Promise<RelayStatus> => (await http<RelayStatus>('/v1/notices/status')).body;
  const metrics = async (): Promise<string> => (await fetch(`${kms.service.httpUrl}/metrics`)).text();
  const gauge = (text: string, name: string): number => Number(new RegExp(`^${name.replace(/[{}"=.]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  const caughtUp = (what: string, timeoutMs = 30_000): Promise<void> =>
    until(async () => {
      const s = await relayStatus();
      return s.lagPositions === '0' && s.oldestUnpublishedSeconds === 0;
    }, what, timeoutMs);

  const createKey = async (): Promise<string> =>
    (await kms.admin.call<{ key_id: string }>('CreateKey', { tenant: 'acme', name: `svc-${randomUUID()}`, purpose: 'SERVICE_ENVELOPE', algorithm: 'AES_256_GCM' })).key_id;
  const rotate = (keyId: string): Promise<unknown> => kms.admin.call('RotateKey', { key_id: keyId, reason: 'MANUAL' });

  /** Every key's notice ids in event store order: what a partner must see. */
  async function expectedNotices(keyIds: string[]): Promise<Map<string, string[]>> {
    const { rows } = await kms.db.query<{ stream_id: string; event_id: string }>(
      "SELECT stream_id, event_id FROM events WHERE type = 'PrimaryVersionChanged' AND stream_id = ANY($1) ORDER BY global_position",
      [keyIds.map((k) => `key-${k}`)],
    );
    const out = new Map<string, string[]>(keyIds.map((k) => [k, []]));
    for (const r of rows) out.get(r.stream_id.slice(4))?.push(r.event_id);
    return out;
  }

  /**
   * The topic as a partner reads it with kcat, per key in offset order, duplicates removed by
   * CloudEvents id after checking that each duplicate is byte for byte the notice it repeats.
   */
  async function partnerView(keyIds: string[]): Promise<{ ids: Map<string, string[]>; duplicates: number }> {
    const messages = (await readTopicWithKcat(kafka.bootstrap, NOTICES)).sort((a, b) => a.partition - b.partition || a.offset - b.offset);
    const ids = new Map<string, string[]>(keyIds.map((k) => [k, []]));
    const firstPayload = new Map<string, string | null>();
    let duplicates = 0;
    for (const m of messages) {
      const list = ids.get(m.key ?? '');
      if (!list) continue;
      const id = String((JSON.parse(m.payload ?? 'null') as { id: string }).id);
      if (firstPayload.has(id)) {
        expect(m.payload).toBe(firstPayload.get(id));
        duplicates++;
        continue;
      }
      firstPayload.set(id, m.payload);
      list.push(id);
    }
    return { ids, duplicates };
  }

  it('kill -9 of the partition leader during a burst of rotations: every notice arrives, in order per key, duplicates only by CloudEvents id', async () => {
    const keys = [await createKey(), await createKey(), await createKey()];
    await caughtUp('the first versions published');
    // Created by the KMS at start, with the production settings for a 3-broker cluster.
    expect(await kafka.describeTopic(NOTICES)).toEqual({ partitions: 3, replicationFactor: 3, minInsyncReplicas: 2 });
    const partition = (await readTopicWithKcat(kafka.bootstrap, NOTICES)).find((m) => m.key === keys[0])?.partition;
    if (partition === undefined) throw new Error('the first key has no notice on the topic');
    const leader = await kafka.leaderOf(NOTICES, partition);
    const before = (await relayStatus()).published;

    const perKey = 20;
    const burst = Promise.all(
      keys.map(async (k) => {
        for (let i = 0; i < perKey; i++) {
          await rotate(k);
          await sleep(20);
        }
      }),
    );
    try {
      await until(async () => (await relayStatus()).published >= before + 10, 'the first notices of the burst');
      await kafka.kill(leader);
      const publishedAtKill = (await relayStatus()).published;
      await burst;
      // The kill landed in the middle of the burst, not after it.
      expect(publishedAtKill).toBeLessThan(before + keys.length * perKey);
      await caughtUp('every notice of the burst acknowledged', 45_000);
      expect((await relayStatus()).published).toBe(before + keys.length * perKey);
      // A surviving broker took over the partition.
      expect(await kafka.leaderOf(NOTICES, partition)).not.toBe(leader);

      const seen = await partnerView(keys);
      expect(seen.ids).toEqual(await expectedNotices(keys));
      expect([...seen.ids.values()].flat()).toHaveLength(keys.length * (perKey + 1));
    } finally {
      await burst.catch(() => undefined);
      await kafka.startNode(leader);
      await kafka.waitReady(3);
    }
  }, 120_000);

  it('the whole cluster stopped: the relay waits, /readyz stays 200 saying degraded, /metrics shows the lag, and it catches up once the cluster is back', async () => {
    const keys = [await createKey(), await createKey()];
    await caughtUp('the first versions published');
    const ready = await http<Readiness>('/readyz');
    expect(ready.code).toBe(200);
    expect(ready.body.status).toBe('ok');
    const before = (await relayStatus()).published;

    await kafka.stopAll();
    try {
      for (let i = 0; i < 3; i++) for (const k of keys) await rotate(k);

      let degraded: Readiness | undefined;
      await until(async () => {
        const r = await http<Readiness>('/readyz');
        if (r.code === 200 && r.body.status === 'degraded') degraded = r.body;
        return degraded !== undefined;
      }, '/readyz to report degraded');
      expect(degraded?.checks.find((c) => c.name === 'notices.relay')).toMatchObject({ status: 'degraded', reason: expect.stringMatching(/^publishing failed \d+ times, oldest unpublished notice waited \d+ s \(max 900\), \d+ positions behind/) });
      // Ready apart from the relay: the key service itself is unaffected by the outage.
      expect(degraded?.checks.filter((c) => c.status === 'failed')).toEqual([]);

      await sleep(1000);
      const text = await metrics();
      expect(gauge(text, 'kms_notices_lag_positions')).toBeGreaterThan(0);
      expect(gauge(text, 'kms_notices_oldest_unpublished_age_seconds')).toBeGreaterThan(0);
      expect(gauge(text, 'kms_health_check_up{check="notices.relay"}')).toBe(1);
      expect(gauge(text, 'kms_health_check_degraded{check="notices.relay"}')).toBe(1);
      // Nothing was acknowledged while no broker runs: the relay waits on its first notice.
      expect((await relayStatus()).published).toBe(before);
    } finally {
      await kafka.startAll();
    }

    await caughtUp('the notices held during the outage', 60_000);
    expect((await relayStatus()).published).toBe(before + 6);
    const after = await http<Readiness>('/readyz');
    expect(after.code).toBe(200);
    expect(after.body.status).toBe('ok');
    const text = await metrics();
    expect(gauge(text, 'kms_notices_lag_positions')).toBe(0);
    expect(gauge(text, 'kms_health_check_degraded{check="notices.relay"}')).toBe(0);
    expect((await partnerView(keys)).ids).toEqual(await expectedNotices(keys));
  }, 120_000);

  describe('a confirmation consumer-group member dies mid-batch', () => {
    let partner: Actor;
    let producer: Producer;
    let survivor: KafkaConfirmationConsumer | undefined;

    beforeAll(async () => {
      partner = await kms.register('partner-billing', 'WORKLOAD');
      await kafka.createTopics([{ name: CONFIRMATIONS, partitions: 3 }]);
      producer = new Kafka({ clientId: 'partner', brokers: kafka.brokers, logLevel: logLevel.NOTHING }).producer({ idempotent: true, allowAutoTopicCreation: false });
      await producer.connect();
    }, 60_000);

    afterAll(async () => {
      await survivor?.stop();
      await producer?.disconnect();
    });

    /** A second KMS instance's consumer as its own process; resolves with its output lines. */
    function startMember(groupId: string): { child: ChildProcessWithoutNullStreams; lines: AsyncIterableIterator<string> } {
      const child = spawn(process.execPath, ['--import', 'tsx', MEMBER_MAIN], {
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          MEMBER_KMS_ADDRESS: kms.service.grpcAddress,
          MEMBER_BROKERS: kafka.bootstrap,
          MEMBER_TOPIC: CONFIRMATIONS,
          MEMBER_GROUP: groupId,
          MEMBER_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
          MEMBER_STALL_AFTER_FIRST: '1',
        },
      });
      members.push(child);
      child.stderr.resume();
      return { child, lines: createInterface({ input: child.stdout })[Symbol.asyncIterator]() };
    }

    async function nextLine(lines: AsyncIterableIterator<string>, prefix: string, timeoutMs = 60_000): Promise<string> {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no "${prefix}" line within ${timeoutMs} ms`)), timeoutMs)));
      try {
        for (;;) {
          const next = await Promise.race([lines.next(), timeout]);
          if (next.done) throw new Error(`the member exited before printing "${prefix}"`);
          if (next.value.startsWith(prefix)) return next.value;
        }
      } finally {
        clearTimeout(timer);
      }
    }

    it('every confirmation is recorded once in effect: the one the dead member had recorded is delivered again, and confirming it again adds no event', async () => {
      const keys: string[] = [];
      for (let i = 0; i < 9; i++) {
        const keyId = await createKey();
        await kms.admin.call('RegisterDependent', { key_id: keyId, dependent_id: partner.identityId, name: 'partner-billing' });
        await rotate(keyId);
        keys.push(keyId);
      }
      const groupId = `kms-confirmations-${randomUUID()}`;

      // Two KMS instances in one group: the doomed one in its own process, the survivor here.
      const doomed = startMember(groupId);
      await nextLine(doomed.lines, 'consuming');
      survivor = new KafkaConfirmationConsumer(grpcConfirmationSink(kms.client), {
        brokers: kafka.brokers,
        topic: CONFIRMATIONS,
        groupId,
        clientId: 'kms-confirmations-survivor',
        sessionTimeoutMs: SESSION_TIMEOUT_MS,
        logLevel: logLevel.NOTHING,
      });
      await survivor.start();
      await until(async () => {
        const g = await kafka.describeGroup(groupId);
        return g.state === 'Stable' && g.members.length === 2 && g.members.every((m) => m.partitions > 0);
      }, 'both members to share the three partitions', 45_000);

      // One confirmation per key, spread over every partition so both members get some.
      const requestIds = keys.map(() => randomUUID());
      const token = await partner.token();
      await producer.send({
        topic: CONFIRMATIONS,
        messages: keys.map((keyId, i) => ({
          key: keyId,
          partition: i % 3,
          value: JSON.stringify({ keyId, version: 2 }),
          headers: { authorization: `Bearer ${token}`, 'request-id': requestIds[i] as string },
        })),
      });

      // The doomed member recorded its first confirmation, then stopped before committing the offset.
      const stalled = (await nextLine(doomed.lines, 'recorded ')).slice('recorded '.length);
      expect(requestIds).toContain(stalled);
      process.kill(doomed.child.pid as number, 'SIGKILL');

      const confirmedVersion = async (keyId: string): Promise<number> =>
        (await kms.admin.call<{ dependents: Array<{ dependent_id: string; confirmed_version: number }> }>('GetKey', { key_id: keyId })).dependents.find((d) => d.dependent_id === partner.identityId)
          ?.confirmed_version ?? 0;
      await until(async () => (await Promise.all(keys.map(confirmedVersion))).every((v) => v === 2), 'every key confirmed at version 2', 45_000);

      // The survivor got the dead member's partitions and its uncommitted messages, the stalled one included.
      const audit = await kms.db.query<{ request_id: string; outcome: string; actor: string }>(
        "SELECT request_id, outcome, actor FROM audit_records WHERE operation = 'ConfirmKeyVersion' AND request_id = ANY($1)",
        [requestIds],
      );
      expect(audit.rows.filter((r) => r.request_id === stalled)).toEqual([
        { request_id: stalled, outcome: 'SUCCESS', actor: partner.identityId },
        { request_id: stalled, outcome: 'SUCCESS', actor: partner.identityId },
      ]);
      expect(new Set(audit.rows.map((r) => r.request_id))).toEqual(new Set(requestIds));
      expect(audit.rows.every((r) => r.outcome === 'SUCCESS')).toBe(true);
      // Once in effect: one KeyVersionConfirmed per key, however often its message was delivered.
      const confirmed = await kms.db.query<{ stream_id: string; n: string }>(
        "SELECT stream_id, count(*)::text AS n FROM events WHERE type = 'KeyVersionConfirmed' AND stream_id = ANY($1) GROUP BY stream_id",
        [keys.map((k) => `key-${k}`)],
      );
      expect(new Map(confirmed.rows.map((r) => [r.stream_id.slice(4), r.n]))).toEqual(new Map(keys.map((k) => [k, '1'])));
      expect(survivor.stats()).toMatchObject({ refused: 0, retried: 0 });
      expect(survivor.stats().confirmed).toBeGreaterThanOrEqual(requestIds.length);
    }, 120_000);
  });
});
