import { randomUUID } from 'node:crypto';
import { APPROVAL_STREAM_PREFIX, BOOTSTRAP_ACTOR, IDENTITY_STREAM_PREFIX } from '@kms/domain';
import { type EventFollower, type EventStore, InMemoryEventStore, type StoredEvent, type SubscribeOptions } from '@kms/event-store';
import { ApprovalService } from '../access/approval.service';
import { IdentityService } from '../access/identity.service';
import { InMemoryNotificationSink } from '../access/notification-sink.port';
import { type EventConsumer, followStore } from './follow-store';

const SECRETS = { tokenSigningKey: Buffer.alloc(32, 1), credentialPepper: Buffer.alloc(32, 2) };
const clock = { now: () => new Date('2026-12-05T08:00:00Z') };

/** The store as followStore sees it, recording each subscription's options and every event it handed over. */
function observed(store: EventStore): { store: EventStore; subscriptions: SubscribeOptions[]; delivered: StoredEvent[] } {
  const subscriptions: SubscribeOptions[] = [];
  const delivered: StoredEvent[] = [];
  return {
    subscriptions,
    delivered,
    store: {
      readStream: (id) => store.readStream(id),
      appendToStream: (id, events, options) => store.appendToStream(id, events, options),
      close: () => store.close(),
      subscribeToAll: (options, handler) => {
        subscriptions.push(options);
        return store.subscribeToAll(options, { ...handler, onEvent: (e) => (delivered.push(e), handler.onEvent(e)) });
      },
    },
  };
}

/** Key history around the identities: keys and names whose ids start like theirs up to the hyphen. */
async function keyHistory(store: EventStore, keys: number): Promise<void> {
  const event = (type: string) => ({ id: randomUUID(), type, data: {}, metadata: {} });
  for (let i = 0; i < keys; i++) {
    const id = randomUUID();
    await store.appendToStream(`key-${id}`, [event('KeyCreated'), event('KeyVersionCreated')], { expectedVersion: 'no_stream' });
    await store.appendToStream(`keyname-${id}`, [event('KeyNameClaimed')], { expectedVersion: 'no_stream' });
  }
}

describe('followStore', () => {
  const feeds: EventFollower[] = [];
  afterEach(async () => {
    await Promise.all(feeds.splice(0).map((f) => f.stop()));
  });

  it("reads only the streams of its views' prefixes: identities and approvals, not the key history", async () => {
    const inner = new InMemoryEventStore();
    const writer = new IdentityService(inner, SECRETS, clock);
    await keyHistory(inner, 20);
    for (const name of ['alice', 'bob', 'carol']) await writer.register({ name, kind: 'WORKLOAD', roles: ['rotation-scheduler'] }, { actor: BOOTSTRAP_ACTOR, correlationId: randomUUID() });
    await keyHistory(inner, 20);
    const probe = observed(inner);
    const identities = new IdentityService(probe.store, SECRETS, clock);
    const approvals = new ApprovalService(probe.store, clock, new InMemoryNotificationSink());

    feeds.push(await followStore(probe.store, [identities.cache, approvals.cache]));

    expect(probe.subscriptions).toEqual([{ streamPrefixes: [IDENTITY_STREAM_PREFIX, APPROVAL_STREAM_PREFIX] }]);
    // What was handed over is exactly the identities' events (identityname- streams are not identity- ones).
    const identityEvents = (await Promise.all(writer.list().map((s) => inner.readStream(`identity-${s.identity.identityId}`)))).flatMap((r) => r.events);
    expect(probe.delivered.map((e) => e.id).sort()).toEqual(identityEvents.map((e) => e.id).sort());
    expect(identities.list().map((s) => s.identity.name).sort()).toEqual(['alice', 'bob', 'carol']);

    // And it goes on following them.
    await writer.register({ name: 'dave', kind: 'WORKLOAD', roles: ['rotation-scheduler'] }, { actor: BOOTSTRAP_ACTOR, correlationId: randomUUID() });
    await keyHistory(inner, 2);
    await until(() => identities.list().length === 4, 'the new identity');
    expect(probe.delivered.every((e) => e.streamId.startsWith(IDENTITY_STREAM_PREFIX))).toBe(true);
  });

  it('follows the whole store when a view names no prefix', async () => {
    const inner = new InMemoryEventStore();
    await keyHistory(inner, 3);
    const probe = observed(inner);
    const everything: StoredEvent[] = [];
    const identities = new IdentityService(probe.store, SECRETS, clock);
    const whole: EventConsumer = { apply: (e) => void everything.push(e) };

    feeds.push(await followStore(probe.store, [identities.cache, whole]));

    expect(probe.subscriptions).toEqual([{}]);
    expect(everything).toHaveLength(9);
  });
});

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
