import { InMemoryEventStore } from '@kms/event-store';
import { InMemoryNoticePublisher } from '../in-memory/in-memory-notice-publisher';
import { InMemoryNoticeStore } from '../in-memory/in-memory-notice-store';
import { NoticeMapper } from '../notice/notice.mapper';
import type { Notice } from '../notice/notice.model';
import type { NoticeStore } from '../ports/notice-store.port';
import { KeyHistoryWriter } from '../testing/key-events.fixtures';
import { OutboxRelay, type OutboxRelayOptions } from './outbox-relay';

/** Relays of the current test, stopped after it even when an assertion failed (a retrying relay would keep jest alive). */
const started: OutboxRelay[] = [];
afterEach(async () => {
  for (const r of started.splice(0)) await r.stop();
});

function relayOf(events: InMemoryEventStore, store: NoticeStore, publisher?: InMemoryNoticePublisher, extra: Partial<OutboxRelayOptions> = {}): OutboxRelay {
  const relay = new OutboxRelay(events, { mapper: new NoticeMapper({ source: '/kms' }), store, publisher, initialRetryDelayMs: 5, maxRetryDelayMs: 20, ...extra });
  started.push(relay);
  return relay;
}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function ids(publisher: InMemoryNoticePublisher): string[] {
  return publisher.messages.map((m) => (JSON.parse(m.value) as { id: string }).id);
}

describe('OutboxRelay', () => {
  it('publishes a notice per rotation, in store order, and commits the checkpoint after the ack', async () => {
    const events = new InMemoryEventStore();
    const store = new InMemoryNoticeStore();
    const publisher = new InMemoryNoticePublisher();
    const a = new KeyHistoryWriter(events);
    const b = new KeyHistoryWriter(events);
    await a.create();
    await b.create();
    const relay = relayOf(events, store, publisher);
    await relay.start();
    await relay.caughtUp();
    const r2 = await a.newVersion(2, 'SCHEDULED', '2026-02-01T00:00:00.000Z');
    const r3 = await a.newVersion(3, 'COMPROMISE', '2026-02-02T00:00:00.000Z');
    await until(() => publisher.messages.length === 4, '4 notices');
    await relay.stop();

    expect(publisher.messages.map((m) => m.key)).toEqual([a.keyId, b.keyId, a.keyId, a.keyId]);
    expect(ids(publisher).slice(2)).toEqual([r2.id, r3.id]);
    // 2 keys x 3 events + 2 rotations x 2 events
    expect(await store.loadCheckpoint('kms-notices')).toBe(10n);
    expect((await store.list(0n, 100)).every((n) => n.publishedAt !== null)).toBe(true);
    expect(relay.snapshot()).toMatchObject({ published: 4, waitingOn: null });
  });

  it('does not publish again what it committed before a restart', async () => {
    const events = new InMemoryEventStore();
    const store = new InMemoryNoticeStore();
    const publisher = new InMemoryNoticePublisher();
    await new KeyHistoryWriter(events).create();
    const first = relayOf(events, store, publisher);
    await first.start();
    await first.caughtUp();
    await first.stop();
    const second = relayOf(events, store, publisher);
    await second.start();
    await second.caughtUp();
    await second.stop();
    expect(publisher.messages).toHaveLength(1);
  });

  it('while the broker is down, notices wait (lag and age reported) and go out in order once it is back', async () => {
    const events = new InMemoryEventStore();
    const store = new InMemoryNoticeStore();
    const publisher = new InMemoryNoticePublisher();
    let head = 0n;
    // The relay's clock runs 90 s ahead of the store's: the waiting notice's age shows it.
    const relay = relayOf(events, store, publisher, { eventsHead: async () => head, now: () => new Date(Date.now() + 90_000) });
    await relay.start();
    await relay.caughtUp();
    publisher.available = false;
    const key = new KeyHistoryWriter(events);
    await key.create();
    const rotations = [];
    for (let v = 2; v <= 5; v++) rotations.push(await key.newVersion(v, 'MANUAL', '2026-02-01T00:00:00.000Z'));
    head = 11n;
    await until(() => (relay.snapshot().waitingOn?.attempts ?? 0) >= 3, 'retries');
    const lag = await relay.lag();
    // KeyCreated and KeyVersionCreated (positions 1-2) need no notice; the relay waits on position 3.
    expect(lag.positions).toBe(9n);
    expect(lag.oldestUnpublishedSeconds).toBeGreaterThanOrEqual(90);
    expect(lag.oldestUnpublishedSeconds).toBeLessThan(120);
    expect(relay.snapshot().lastError).toMatch(/publish: broker unavailable/);
    expect(publisher.messages).toHaveLength(0);
    expect(await store.loadCheckpoint('kms-notices')).toBe(0n);

    publisher.available = true;
    await until(() => publisher.messages.length === 5, 'all notices');
    await relay.stop();
    expect(ids(publisher).slice(1)).toEqual(rotations.map((r) => r.id));
    expect(await relay.lag()).toMatchObject({ positions: 0n, oldestUnpublishedSeconds: 0 });
  });

  it('a relay that dies after the ack but before the commit re-sends the notice with the same id on restart', async () => {
    const events = new InMemoryEventStore();
    const durable = new InMemoryNoticeStore();
    const publisher = new InMemoryNoticePublisher();
    const key = new KeyHistoryWriter(events);
    // The store accepts records but every commit fails: the process "crashes" in between.
    const crashing: NoticeStore = {
      loadCheckpoint: (r) => durable.loadCheckpoint(r),
      record: (n: Notice) => durable.record(n),
      commit: async () => {
        throw new Error('connection lost');
      },
      list: (a, l) => durable.list(a, l),
    };
    const doomed = relayOf(events, crashing, publisher);
    await doomed.start();
    await key.create();
    await until(() => publisher.messages.length === 1, 'first publish');
    await doomed.stop();

    const restarted = relayOf(events, durable, publisher);
    await restarted.start();
    await restarted.caughtUp();
    await restarted.stop();
    expect(publisher.messages).toHaveLength(2);
    expect(ids(publisher)[0]).toBe(ids(publisher)[1]);
  });

  it('without a publisher (standalone) records every notice, readable after a position', async () => {
    const events = new InMemoryEventStore();
    const store = new InMemoryNoticeStore();
    const key = new KeyHistoryWriter(events);
    await key.create();
    await key.newVersion(2, 'SCHEDULED', '2026-02-01T00:00:00.000Z');
    const relay = relayOf(events, store);
    await relay.start();
    await relay.caughtUp();
    await relay.stop();
    const all = await store.list(0n, 10);
    expect(all.map((n) => [n.position, n.type, n.publishedAt])).toEqual([
      [3n, 'kms.key.rotated.v1', null],
      [5n, 'kms.key.rotated.v1', null],
    ]);
    expect((await store.list(3n, 10)).map((n) => n.cloudEvent['data'])).toEqual([expect.objectContaining({ version: 2, previousVersion: 1 })]);
  });
});
