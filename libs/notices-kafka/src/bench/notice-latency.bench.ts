/*
 * Event -> acknowledged notice latency through the real path: PostgreSQL event store (LISTEN/NOTIFY
 * subscription) -> outbox relay -> notice recorded in PostgreSQL -> kafkajs (idempotent, acks=all,
 * one request in flight) -> a 3-node Apache Kafka cluster (tools/kafka, replication 3,
 * min.insync.replicas 2). Prints figures, asserts nothing (STYLE.md 13).
 * Run: npx tsx libs/notices-kafka/src/bench/notice-latency.bench.ts
 * Uses KMS_TEST_DATABASE_URL or the local kms_test database, in a schema it drops afterwards.
 */
import { PostgresEventStore, eventStoreMigrations } from '@kms/event-store-postgres';
import { NoticeMapper, OutboxRelay } from '@kms/notices';
import { KeyHistoryWriter } from '@kms/notices/testing';
import { createPgPool, dropSchema, runMigrations, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';
import { logLevel } from 'kafkajs';
import { KafkaNoticePublisher } from '../kafka/kafka-notice-publisher';
import { noticeMigrations } from '../postgres/notices.migration';
import { PostgresNoticeStore } from '../postgres/postgres-notice-store';
import { KafkaTestCluster } from '../testing/kafka-cluster.process';

const KEYS = 10;
const PACED_ROTATIONS = 300;
const PACE_MS = 10;
const BURST_ROTATIONS = 500; // appended one after another, as fast as the store takes them

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

function report(label: string, latencies: number[], wallMs: number): void {
  const s = [...latencies].sort((a, b) => a - b);
  const f = (n: number): string => n.toFixed(1).padStart(7);
  console.log(
    `${label.padEnd(28)} n=${String(s.length).padStart(4)}  p50 ${f(percentile(s, 50))} ms  p90 ${f(percentile(s, 90))} ms  p99 ${f(percentile(s, 99))} ms  max ${f(s[s.length - 1] ?? Number.NaN)} ms  ${((s.length / wallMs) * 1000).toFixed(0)} notices/s`,
  );
}

async function main(): Promise<void> {
  const target = { url: testDatabaseUrl(), schema: uniqueTestSchema('notice_bench') };
  await runMigrations(target, [...eventStoreMigrations, ...noticeMigrations]);
  const pool = createPgPool(target);
  const events = new PostgresEventStore(pool);
  const kafka = await KafkaTestCluster.start({ name: 'notice-bench', nodes: 3, topics: [{ name: 'kms.key-lifecycle.v1', partitions: 6 }] });
  const publisher = new KafkaNoticePublisher({ brokers: kafka.brokers, topic: 'kms.key-lifecycle.v1', logLevel: logLevel.NOTHING });
  let latencies: number[] = [];
  const relay = new OutboxRelay(events, {
    mapper: new NoticeMapper({ source: '/open-kms/bench' }),
    store: new PostgresNoticeStore(pool),
    publisher,
    onAcknowledged: (_n, ms) => latencies.push(ms),
  });
  try {
    const keys = Array.from({ length: KEYS }, () => new KeyHistoryWriter(events));
    for (const k of keys) await k.create();
    await relay.start();
    await relay.caughtUp();
    const waitFor = async (n: number): Promise<void> => {
      while (latencies.length < n) await new Promise((r) => setTimeout(r, 5));
    };
    await waitFor(KEYS);
    latencies = [];

    const versions = new Map(keys.map((k) => [k, 1]));
    const rotate = async (i: number): Promise<void> => {
      const k = keys[i % KEYS] as KeyHistoryWriter;
      const v = (versions.get(k) ?? 1) + 1;
      versions.set(k, v);
      await k.newVersion(v, 'SCHEDULED', new Date().toISOString());
    };

    let started = performance.now();
    for (let i = 0; i < PACED_ROTATIONS; i++) {
      await rotate(i);
      await new Promise((r) => setTimeout(r, PACE_MS));
    }
    await waitFor(PACED_ROTATIONS);
    report(`paced (1 per ${PACE_MS} ms)`, latencies, performance.now() - started);

    latencies = [];
    started = performance.now();
    for (let i = 0; i < BURST_ROTATIONS; i++) await rotate(i);
    await waitFor(BURST_ROTATIONS);
    report(`back-to-back appends`, latencies, performance.now() - started);
  } finally {
    await relay.stop();
    await publisher.close();
    await events.close();
    await pool.end();
    await kafka.destroy();
    await dropSchema(target);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
