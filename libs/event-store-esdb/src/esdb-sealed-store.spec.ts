import { jsonEvent } from '@eventstore/db-client';
import {
  EventIntegrityError,
  EventSealer,
  EventStoreUnavailableError,
  SEAL_METADATA_KEY,
  WrongExpectedVersionError,
  type NewEvent,
  type StoredEvent,
} from '@kms/event-store';
import { eventStoreContract, storedStreamReaderContract } from '@kms/event-store/testing';
import { randomBytes, randomUUID } from 'node:crypto';
import { EsdbEventStore } from './esdb-event-store';
import { FakeEsdbClient } from './testing/fake-esdb-client';

// The adapter's sealing logic against an in-memory stand-in for the client (no server here; the
// contract suite in esdb-event-store.int-spec.ts runs the same against EventStoreDB).
const event = (type: string, n = 0): NewEvent => ({ id: randomUUID(), type, data: { keyId: 'k', n }, metadata: { actor: 'alice' } });
const sealOf = (e: StoredEvent | undefined) => e?.metadata[SEAL_METADATA_KEY] as { prev: string | null; hash: string; scope?: string } | undefined;

describe('EsdbEventStore with a sealer', () => {
  let fake: FakeEsdbClient;
  let sealer: EventSealer;
  let store: EsdbEventStore;

  beforeEach(() => {
    fake = new FakeEsdbClient();
    sealer = new EventSealer(randomBytes(32));
    store = new EsdbEventStore(fake.client, { sealer, maxReconnectDelayMs: 20 });
  });

  afterEach(async () => {
    await store.close();
  });

  it('seals appends as one stream-scoped chain across appends, read back and accepted', async () => {
    await store.appendToStream('key-1', [event('KeyCreated'), event('KeyVersionCreated')], { expectedVersion: 'no_stream' });
    const result = await store.appendToStream('key-1', [event('KeyVersionDisabled')], { expectedVersion: 'any' });

    const { events, currentVersion } = await store.readStream('key-1');
    expect(currentVersion).toBe(2);
    expect(result.nextExpectedVersion).toBe(2);
    expect(events.map((e) => sealOf(e)?.scope)).toEqual(['stream', 'stream', 'stream']);
    // The second append chained onto the last event of the first (its hash read back before appending).
    expect(events.map((e) => sealOf(e)?.prev)).toEqual([null, sealOf(events[0])?.hash, sealOf(events[1])?.hash]);
    // 'any' was appended with the revision the seal chains onto, so no other append can come between.
    expect(fake.appends.map((a) => a.expectedRevision)).toEqual(['no_stream', 1n]);
  });

  it("retries an 'any' append that lost the race its tightening created, and chains onto the winner", async () => {
    await store.appendToStream('key-1', [event('KeyCreated')], { expectedVersion: 'no_stream' });
    const other = new EsdbEventStore(fake.client, { sealer });
    fake.beforeAppend = async () => {
      fake.beforeAppend = undefined;
      await other.appendToStream('key-1', [event('ByAnotherWriter')], { expectedVersion: 'any' });
    };

    const result = await store.appendToStream('key-1', [event('KeyVersionCreated')], { expectedVersion: 'any' });

    const { events } = await store.readStream('key-1');
    expect(events.map((e) => e.type)).toEqual(['KeyCreated', 'ByAnotherWriter', 'KeyVersionCreated']);
    expect(sealOf(events[2])?.prev).toBe(sealOf(events[1])?.hash);
    expect(result.nextExpectedVersion).toBe(2);
  });

  it("retries 'stream_exists' the same way, and refuses it on a missing stream as before", async () => {
    await expect(store.appendToStream('key-2', [event('KeyDisabled')], { expectedVersion: 'stream_exists' })).rejects.toEqual(new WrongExpectedVersionError('key-2', 'stream_exists', -1));
    await store.appendToStream('key-1', [event('KeyCreated')], { expectedVersion: 'no_stream' });
    const other = new EsdbEventStore(fake.client, { sealer });
    fake.beforeAppend = async () => {
      fake.beforeAppend = undefined;
      await other.appendToStream('key-1', [event('ByAnotherWriter')], { expectedVersion: 'any' });
    };
    await store.appendToStream('key-1', [event('KeyDisabled')], { expectedVersion: 'stream_exists' });
    expect((await store.readStream('key-1')).events.map((e) => e.type)).toEqual(['KeyCreated', 'ByAnotherWriter', 'KeyDisabled']);
  });

  it("lets many concurrent 'any' appends to one stream all succeed, in one intact chain", async () => {
    const writers = Array.from({ length: 8 }, () => new EsdbEventStore(fake.client, { sealer }));
    await Promise.all(writers.map((w, i) => w.appendToStream('key-1', [event('Concurrent', i)], { expectedVersion: 'any' })));

    const { events } = await store.readStream('key-1');
    expect(events.map((e) => e.data['n']).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    // Some lost a race and retried: more attempts than events.
    expect(fake.appends.length).toBeGreaterThan(8);
  });

  it('gives up after a bounded number of attempts when other writers never stop, writing nothing of its own', async () => {
    const bounded = new EsdbEventStore(fake.client, { sealer, maxSealAttempts: 3 });
    const other = new EsdbEventStore(fake.client, { sealer });
    await other.appendToStream('key-1', [event('KeyCreated')], { expectedVersion: 'no_stream' });
    fake.beforeAppend = async () => {
      const hook = fake.beforeAppend;
      fake.beforeAppend = undefined;
      await other.appendToStream('key-1', [event('ByAnotherWriter')], { expectedVersion: 'any' });
      fake.beforeAppend = hook;
    };

    await expect(bounded.appendToStream('key-1', [event('Mine')], { expectedVersion: 'any' })).rejects.toBeInstanceOf(EventStoreUnavailableError);
    fake.beforeAppend = undefined;
    const types = (await store.readStream('key-1')).events.map((e) => e.type);
    expect(types.filter((t) => t === 'Mine')).toEqual([]);
    expect(types.filter((t) => t === 'ByAnotherWriter')).toHaveLength(3);
  });

  it("leaves a conflict on a version the caller named to the caller, without retrying", async () => {
    await store.appendToStream('key-1', [event('KeyCreated')], { expectedVersion: 'no_stream' });
    const other = new EsdbEventStore(fake.client, { sealer });
    fake.beforeAppend = async () => {
      fake.beforeAppend = undefined;
      await other.appendToStream('key-1', [event('ByAnotherWriter')], { expectedVersion: 0 });
    };
    const before = fake.appends.length;

    await expect(store.appendToStream('key-1', [event('KeyDisabled')], { expectedVersion: 0 })).rejects.toEqual(new WrongExpectedVersionError('key-1', 0, 1));
    // Its own attempt and the other writer's: no retry.
    expect(fake.appends.length - before).toBe(2);
    // A version already stale when the head is read is refused without an append.
    await expect(store.appendToStream('key-1', [event('KeyDisabled')], { expectedVersion: 0 })).rejects.toEqual(new WrongExpectedVersionError('key-1', 0, 1));
    await expect(store.appendToStream('key-1', [event('KeyCreated')], { expectedVersion: 'no_stream' })).rejects.toEqual(new WrongExpectedVersionError('key-1', 'no_stream', 1));
    expect(fake.appends.length - before).toBe(2);
  });

  it('refuses a stream holding an event appended behind its back, unwrapped, and still hands it out as stored', async () => {
    await store.appendToStream('key-1', [event('KeyCreated')], { expectedVersion: 'no_stream' });
    await fake.client.appendToStream('key-1', jsonEvent({ id: randomUUID(), type: 'KeyPolicyChanged', data: { keyId: 'k', grants: { mallory: ['DECRYPT'] } }, metadata: { actor: 'mallory' } }));
    const violations: string[] = [];
    sealer.onViolation((v) => violations.push(`${v.streamId} v${v.streamVersion}: ${v.problem}`));

    const refused = await store.readStream('key-1').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(EventIntegrityError);
    expect(refused).toMatchObject({ streamId: 'key-1', streamVersion: 1, problem: 'the event is not sealed' });
    expect(violations).toEqual(['key-1 v1: the event is not sealed']);
    expect((await store.readStoredStream('key-1')).map((e) => e.type)).toEqual(['KeyCreated', 'KeyPolicyChanged']);
  });

  it('refuses an event edited with a valid-looking seal copied from another event', async () => {
    await store.appendToStream('key-1', [event('KeyCreated'), event('KeyVersionCreated')], { expectedVersion: 'no_stream' });
    const [, second] = await store.readStoredStream('key-1');
    // Same seal, other data: what a writer without the key can do at best.
    await fake.client.appendToStream('key-1', jsonEvent({ id: randomUUID(), type: 'KeyVersionCreated', data: { keyId: 'k', n: 99 }, metadata: second?.metadata ?? {} }));

    await expect(store.readStream('key-1')).rejects.toMatchObject({ name: 'EventIntegrityError', streamVersion: 2 });
  });

  it('stops a subscription at a forged event: what precedes it delivered, it and what follows never, onError told why', async () => {
    await store.appendToStream('key-1', [event('KeyCreated')], { expectedVersion: 'no_stream' });
    await store.appendToStream('key-2', [event('KeyCreated')], { expectedVersion: 'no_stream' });
    await fake.client.appendToStream('key-1', jsonEvent({ id: randomUUID(), type: 'KeyPolicyChanged', data: { keyId: 'k' }, metadata: { actor: 'mallory' } }));
    await store.appendToStream('key-2', [event('KeyDisabled')], { expectedVersion: 0 });

    const delivered: string[] = [];
    const errors: Error[] = [];
    const stopped = new Promise<void>((resolve) => {
      store.subscribeToAll({}, {
        onEvent: (e) => void delivered.push(`${e.streamId}:${e.type}`),
        onError: (e) => {
          errors.push(e);
          resolve();
        },
      });
    });
    // Bounded: a subscription that never stops fails the assertions below rather than the test's timeout.
    await Promise.race([stopped, new Promise((r) => setTimeout(r, 2000))]);

    expect(delivered).toEqual(['key-1:KeyCreated', 'key-2:KeyCreated']);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(EventIntegrityError);
    expect(errors[0]).toMatchObject({ streamId: 'key-1', streamVersion: 1, problem: 'the event is not sealed' });
  });

  it('delivers sealed events appended after it caught up', async () => {
    const delivered: string[] = [];
    const caughtUp = new Promise<void>((resolve) => {
      store.subscribeToAll({}, { onEvent: (e) => void delivered.push(e.type), onCaughtUp: resolve });
    });
    await caughtUp;
    await store.appendToStream('key-1', [event('KeyCreated'), event('KeyVersionCreated')], { expectedVersion: 'no_stream' });
    await new Promise((r) => setTimeout(r, 50));
    expect(delivered).toEqual(['KeyCreated', 'KeyVersionCreated']);
  });
});

describe('EsdbEventStore without a sealer', () => {
  it('appends events as given, with the caller\'s expected revision, and reads them unchecked', async () => {
    const fake = new FakeEsdbClient();
    const store = new EsdbEventStore(fake.client);
    await store.appendToStream('key-1', [event('KeyCreated')], { expectedVersion: 'any' });

    const { events } = await store.readStream('key-1');
    expect(events[0]?.metadata).toEqual({ actor: 'alice' });
    expect(fake.appends.map((a) => a.expectedRevision)).toEqual(['any']);
  });
});

// The whole contract over the stand-in: the sealing append (head read, tightened revision, retries)
// keeps every promise of the port. What only a server can show is in the int-spec.
const overStandIn = async () => {
  const store = new EsdbEventStore(new FakeEsdbClient().client, { sealer: new EventSealer(randomBytes(32)), maxReconnectDelayMs: 20 });
  return { store, cleanup: () => store.close() };
};
eventStoreContract('EsdbEventStore (sealed) over an in-memory stand-in for the client', overStandIn, { sealed: true, deliveryTimeoutMs: 3000 });
storedStreamReaderContract('EsdbEventStore (sealed) over an in-memory stand-in for the client', overStandIn);
