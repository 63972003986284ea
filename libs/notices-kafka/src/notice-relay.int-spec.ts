import type { EventStore } from '@kms/event-store';
import { PostgresEventStore, eventStoreMigrations } from '@kms/event-store-postgres';
import { NoticeMapper, type NoticeStore, OutboxRelay } from '@kms/notices';
import { KeyHistoryWriter } from '@kms/notices/testing';
import { createPgPool, dropSchema, runMigrations, testDatabaseUrl, uniqueTestSchema, type PostgresTarget } from '@kms/persistence-postgres';
import { randomUUID } from 'node:crypto';
import { logLevel } from 'kafkajs';
import type { Pool } from 'pg';
import { KafkaNoticePublisher } from './kafka/kafka-notice-publisher';
import { noticeMigrations } from './postgres/notices.migration';
import { PostgresNoticeStore } from './postgres/postgres-notice-store';
import { KafkaTestCluster } from './testing/kafka-cluster.process';
import { type KcatMessage, readTopicWithKcat } from './testing/kcat-topic.reader';

const TOPIC = 'kms.key-lifecycle.v1';
let kafka: KafkaTestCluster;

interface World {
  target: PostgresTarget;
  pool: Pool;
  events: EventStore;
  notices: PostgresNoticeStore;
  topic: string;
  publisher: KafkaNoticePublisher;
  relay(store?: NoticeStore): OutboxRelay;
  close(): Promise<void>;
}

const worlds: World[] = [];

async function world(topic = `notices-${randomUUID()}`): Promise<World> {
  const target = { url: testDatabaseUrl(), schema: uniqueTestSchema('notices_relay') };
  await runMigrations(target, [...eventStoreMigrations, ...noticeMigrations]);
  const pool = createPgPool(target);
  const events = new PostgresEventStore(pool, { pollIntervalMs: 50 });
  const notices = new PostgresNoticeStore(pool);
  const publisher = new KafkaNoticePublisher({ brokers: kafka.brokers, topic, logLevel: logLevel.NOTHING, ackTimeoutMs: 3000 });
  const relays: OutboxRelay[] = [];
  const w: World = {
    target,
    pool,
    events,
    notices,
    topic,
    publisher,
    relay: (store = notices) => {
      const relay = new OutboxRelay(events, {
        mapper: new NoticeMapper({ source: '/open-kms/int-test' }),
        store,
        publisher,
        initialRetryDelayMs: 50,
        maxRetryDelayMs: 500,
        eventsHead: async () => BigInt((await pool.query<{ h: string | null }>('SELECT max(global_position)::text AS h FROM events')).rows[0]?.h ?? '0'),
      });
      relays.push(relay);
      return relay;
    },
    close: async () => {
      for (const r of relays) await r.stop();
      await publisher.close();
      await events.close();
      await pool.end();
      await dropSchema(target);
    },
  };
  worlds.push(w);
  return w;
}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

interface PartnerView {
  key: string | null;
  contentType: string | undefined;
  event: Record<string, unknown>;
}

function asPartner(messages: KcatMessage[]): PartnerView[] {
  return messages.map((m) => {
    const headers = m.headers ?? [];
    const at = headers.indexOf('content-type');
    return { key: m.key, contentType: at >= 0 ? headers[at + 1] : undefined, event: JSON.parse(m.payload ?? 'null') as Record<string, unknown> };
  });
}

/** Ids per key in topic order, duplicates (at-least-once) removed as a partner would. */
function idsPerKey(views: PartnerView[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const v of views) {
    const list = out.get(v.key ?? '') ?? [];
    const id = String(v.event['id']);
    if (!list.includes(id)) list.push(id);
    out.set(v.key ?? '', list);
  }
  return out;
}

beforeAll(async () => {
  kafka = await KafkaTestCluster.start({ name: 'notice-relay', topics: [{ name: TOPIC, partitions: 3 }] });
}, 180_000);

afterEach(async () => {
  // A test that failed during the outage must not leave the broker down for the next one.
  await kafka.startAll();
  while (worlds.length > 0) await worlds.pop()?.close();
}, 120_000);

afterAll(async () => {
  await kafka?.destroy();
});

describe('notice relay: PostgreSQL event store -> Kafka (Apache Kafka broker)', () => {
  it('publishes every lifecycle notice in order per key, and a partner reading with kcat sees CloudEvents 1.0', async () => {
    const w = await world(TOPIC);
    const relay = w.relay();
    await relay.start();
    const a = new KeyHistoryWriter(w.events);
    const b = new KeyHistoryWriter(w.events);
    await a.create({ tenant: 'acme' });
    await b.create({ tenant: 'globex' });
    const expected = new Map<string, string[]>([
      [a.keyId, []],
      [b.keyId, []],
    ]);
    const { rows } = await w.pool.query<{ event_id: string; stream_id: string; type: string }>('SELECT event_id, stream_id, type FROM events ORDER BY global_position');
    for (const r of rows.filter((r) => r.type === 'PrimaryVersionChanged')) expected.get(r.stream_id.slice(4))?.push(r.event_id);
    const rotated = await a.newVersion(2, 'SCHEDULED', '2026-03-01T00:00:00.000Z');
    const compromised = await b.newVersion(2, 'COMPROMISE', '2026-03-01T00:01:00.000Z');
    const scheduled = await a.append('KeyVersionDestructionScheduled', { version: 1, destroyAt: '2026-04-01T00:00:00.000Z', previousState: 'ENABLED' }, '2026-03-02T00:00:00.000Z');
    const destroyed = await a.append('KeyVersionDestroyed', { version: 1, materialRef: 'x', materialDestroyed: true }, '2026-04-01T00:00:00.000Z');
    expected.get(a.keyId)?.push(rotated.id, scheduled.id, destroyed.id);
    expected.get(b.keyId)?.push(compromised.id);

    await until(() => relay.snapshot().published === 6, '6 acknowledged notices');
    const views = asPartner(await readTopicWithKcat(kafka.bootstrap, TOPIC));

    expect(idsPerKey(views)).toEqual(expected);
    const urgent = views.find((v) => v.event['id'] === compromised.id);
    expect(urgent).toEqual({
      key: b.keyId,
      contentType: 'application/cloudevents+json; charset=utf-8',
      event: {
        specversion: '1.0',
        id: compromised.id,
        type: 'kms.key.rotated.v1',
        source: '/open-kms/int-test',
        subject: b.keyId,
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        datacontenttype: 'application/json',
        kmsurgent: true,
        kmstenant: 'globex',
        kmsposition: expect.stringMatching(/^\d+$/),
        data: {
          keyId: b.keyId,
          tenant: 'globex',
          purpose: 'SERVICE_ENVELOPE',
          algorithm: 'ECDSA_P256_SHA256',
          version: 2,
          previousVersion: 1,
          publicKeyFingerprint: expect.stringMatching(/^[0-9a-f]{64}$/),
          effectiveAt: '2026-03-01T00:01:00.000Z',
          reason: 'COMPROMISE',
          urgent: true,
          confirmBy: '2026-03-02T00:01:00.000Z',
          destroyAt: null,
          actor: 'alice',
          approvalId: null,
          pendingDependents: null,
        },
      },
    });
    // Recorded too, each marked acknowledged, and the checkpoint is the last event.
    const recorded = await w.notices.list(0n, 100);
    expect(recorded).toHaveLength(6);
    expect(recorded.every((n) => n.publishedAt !== null)).toBe(true);
    await until(async () => (await w.notices.loadCheckpoint('kms-notices')) === BigInt(rows.length + 6), 'checkpoint at the head');
  });

  it('loses no notice and keeps per-key order while every broker is down for a while', async () => {
    const w = await world();
    const relay = w.relay();
    await relay.start();
    await relay.caughtUp();
    const keys = [new KeyHistoryWriter(w.events), new KeyHistoryWriter(w.events), new KeyHistoryWriter(w.events)];
    for (const k of keys) await k.create();
    await until(() => relay.snapshot().published === 3, 'initial notices');

    // The broker process dies (SIGKILL): connections drop, nothing answers until it is started again.
    await kafka.stopAll({ kill: true });
    const expected = new Map<string, string[]>();
    for (const k of keys) {
      const initial = (await w.notices.list(0n, 100)).filter((n) => n.subject === k.keyId).map((n) => n.id);
      expected.set(k.keyId, initial);
    }
    for (let v = 2; v <= 5; v++) {
      for (const k of keys) expected.get(k.keyId)?.push((await k.newVersion(v, 'MANUAL', `2026-03-0${v}T00:00:00.000Z`)).id);
    }
    await until(() => (relay.snapshot().waitingOn?.attempts ?? 0) >= 2, 'failed publish attempts');
    const checkpointWhileDown = await w.notices.loadCheckpoint('kms-notices');
    const lag = await relay.lag();
    expect(lag.positions).toBeGreaterThan(0n);
    await new Promise((r) => setTimeout(r, 1500));
    expect(relay.snapshot().published).toBeLessThan(15);
    expect(await w.notices.loadCheckpoint('kms-notices')).toBe(checkpointWhileDown);

    await kafka.startAll();
    await until(() => relay.snapshot().published >= 15, 'all 15 notices after the outage', 40_000);
    const views = asPartner(await readTopicWithKcat(kafka.bootstrap, w.topic));
    expect(idsPerKey(views)).toEqual(expected);
    expect((await relay.lag()).positions).toBe(0n);
  });

  it('re-sends a notice with the same id when the relay died after the ack and before the checkpoint', async () => {
    const w = await world();
    const crashing: NoticeStore = {
      loadCheckpoint: (r) => w.notices.loadCheckpoint(r),
      record: (n) => w.notices.record(n),
      commit: async () => {
        throw new Error('process killed before the checkpoint write');
      },
      list: (a, l) => w.notices.list(a, l),
    };
    const doomed = w.relay(crashing);
    await doomed.start();
    const key = new KeyHistoryWriter(w.events);
    await key.create();
    await until(() => doomed.snapshot().published === 1, 'the publish before the crash');
    await doomed.stop();
    expect(await w.notices.loadCheckpoint('kms-notices')).toBe(0n);

    const restarted = w.relay();
    await restarted.start();
    await restarted.caughtUp();
    const views = asPartner(await readTopicWithKcat(kafka.bootstrap, w.topic));
    expect(views.map((v) => v.event['id'])).toHaveLength(2);
    expect(views[0]?.event['id']).toBe(views[1]?.event['id']);
    expect(await w.notices.loadCheckpoint('kms-notices')).toBe(3n);
  });
});
