import { randomBytes, randomUUID } from 'node:crypto';
import { eventSealHash } from '@kms/evidence';
import type { StoredEvent } from '../event-store.port';
import { EventIntegrityError, EventSealer, SEAL_METADATA_KEY } from './event-seal';

const sealer = new EventSealer(randomBytes(32));

/** A stream of `n` events sealed as the PostgreSQL store seals them. */
function stream(n: number, by = sealer): StoredEvent[] {
  const out: StoredEvent[] = [];
  let prev: string | null = null;
  for (let v = 0; v < n; v++) {
    const base = { id: randomUUID(), type: 'KeyPolicyChanged', data: { keyId: 'k', grants: { a: ['ENCRYPT'] } }, metadata: { actor: 'alice' } };
    const e = { ...base, streamId: 'key-k', streamVersion: v, globalPosition: BigInt(10 + v * 3), recordedAt: new Date(0) };
    const seal = by.seal(e, prev);
    prev = seal.hash;
    out.push({ ...e, metadata: { ...e.metadata, [SEAL_METADATA_KEY]: seal } });
  }
  return out;
}

function problemOf(events: StoredEvent[]): string {
  try {
    sealer.checkStream(events);
    return 'accepted';
  } catch (e) {
    if (!(e instanceof EventIntegrityError)) throw e;
    return `v${e.streamVersion}: ${e.problem}`;
  }
}

describe('EventSealer', () => {
  it('accepts a stream as the KMS sealed it', () => {
    expect(problemOf(stream(4))).toBe('accepted');
  });

  it('names the event and the problem for every kind of tampering', () => {
    const edited = stream(3);
    edited[1] = { ...edited[1], data: { keyId: 'k', grants: { mallory: ['DECRYPT'] } } };
    const approver = stream(3);
    approver[2] = { ...approver[2], metadata: { ...approver[2].metadata, approvers: ['mallory'] } };
    const moved = stream(3);
    moved[1] = { ...moved[1], globalPosition: 999n };
    const removed = stream(3);
    removed.splice(1, 1);
    const reordered = stream(3);
    [reordered[1], reordered[2]] = [{ ...reordered[2], streamVersion: 1 }, { ...reordered[1], streamVersion: 2 }];
    const unsealed = stream(2);
    unsealed.push({ ...unsealed[1], id: randomUUID(), streamVersion: 2, metadata: { actor: 'mallory' } });
    const forged = stream(2);
    forged.push(stream(3, new EventSealer(randomBytes(32)))[2]);

    expect({
      edited: problemOf(edited),
      approver: problemOf(approver),
      moved: problemOf(moved),
      removed: problemOf(removed),
      reordered: problemOf(reordered),
      unsealed: problemOf(unsealed),
      forged: problemOf(forged),
    }).toEqual({
      edited: 'v1: the event differs from what was sealed (edited or moved)',
      approver: 'v2: the event differs from what was sealed (edited or moved)',
      moved: 'v1: the event differs from what was sealed (edited or moved)',
      removed: 'v2: expected version 1: an event is missing',
      reordered: 'v1: the event differs from what was sealed (edited or moved)',
      unsealed: 'v2: the event is not sealed',
      forged: 'v2: the seal was not made with the KMS key (forged)',
    });
  });

  it('refuses a link to the wrong predecessor even when the event itself is intact', () => {
    const [first, second] = stream(2);
    expect(() => sealer.check(second as StoredEvent, 'f'.repeat(64))).toThrow(/does not follow the previous one/);
    expect(sealer.check(second as StoredEvent, (first?.metadata[SEAL_METADATA_KEY] as { hash: string }).hash).prev).not.toBeNull();
  });

  it('seals with the hash an offline verifier recomputes from the event as JSON (no key needed)', () => {
    const events = stream(3);
    events.forEach((e, i) => {
      const asJson = JSON.parse(JSON.stringify({ ...e, globalPosition: e.globalPosition.toString() })) as typeof e & { globalPosition: string };
      const seal = e.metadata[SEAL_METADATA_KEY] as { prev: string | null; hash: string };
      expect(eventSealHash(asJson, seal.prev)).toBe(seal.hash);
      expect(seal.prev).toBe(i === 0 ? null : (events[i - 1].metadata[SEAL_METADATA_KEY] as { hash: string }).hash);
    });
    // One changed field gives another hash.
    expect(eventSealHash({ ...events[0], type: 'KeyCreated' }, null)).not.toBe((events[0].metadata[SEAL_METADATA_KEY] as { hash: string }).hash);
  });
});

/** A stream of `n` events sealed as the EventStoreDB store seals them: stream-scoped, positions assigned afterwards. */
function streamScoped(n: number, by = sealer): StoredEvent[] {
  const out: StoredEvent[] = [];
  let prev: string | null = null;
  for (let v = 0; v < n; v++) {
    const e = { id: randomUUID(), type: 'KeyPolicyChanged', data: { keyId: 'k', grants: { a: ['ENCRYPT'] } }, metadata: { actor: 'alice' }, streamId: 'key-k', streamVersion: v };
    const seal = by.seal({ ...e, globalPosition: null }, prev);
    prev = seal.hash;
    // The server's commit position, unknown when the seal was made.
    out.push({ ...e, globalPosition: BigInt(4096 + v * 811), recordedAt: new Date(0), metadata: { ...e.metadata, [SEAL_METADATA_KEY]: seal } });
  }
  return out;
}

function problemIn(check: () => void): string {
  try {
    check();
    return 'accepted';
  } catch (e) {
    if (!(e instanceof EventIntegrityError)) throw e;
    return e.problem;
  }
}

const sealOf = (e: StoredEvent | undefined) => e?.metadata[SEAL_METADATA_KEY] as { prev: string | null; hash: string; mac: string; scope?: string };

describe('EventSealer with stream-scoped seals (EventStoreDB)', () => {
  it('still verifies a seal made before stream scopes existed, byte for byte', () => {
    // Hash of this event computed by the eventSealHash of the release before stream scopes.
    const before = { streamId: 'key-k', streamVersion: 1, globalPosition: 12n, id: '00000000-0000-4000-8000-000000000001', type: 'KeyPolicyChanged', data: { keyId: 'k', grants: { a: ['ENCRYPT'] } }, metadata: { actor: 'alice' } };
    expect(eventSealHash(before, 'a'.repeat(64))).toBe('f802999a06b9c1d8585bf41f68210efe3ad9749a527c62cd6c4185de6cbff5c0');
    expect(eventSealHash({ ...before, globalPosition: '12' }, 'a'.repeat(64))).toBe('f802999a06b9c1d8585bf41f68210efe3ad9749a527c62cd6c4185de6cbff5c0');
    // A position seal has the same shape as before (no scope) and is accepted whether or not the reader asks for its scope.
    const events = stream(3);
    expect(Object.keys(sealOf(events[0])).sort()).toEqual(['hash', 'mac', 'prev']);
    expect(problemIn(() => sealer.checkStream(events))).toBe('accepted');
    expect(problemIn(() => sealer.checkStream(events, 'position'))).toBe('accepted');
  });

  it('accepts a stream-scoped chain whatever positions the store gave its events, and marks its seals', () => {
    const events = streamScoped(3);
    expect(events.map((e) => sealOf(e).scope)).toEqual(['stream', 'stream', 'stream']);
    expect(problemIn(() => sealer.checkStream(events, 'stream'))).toBe('accepted');
    const elsewhere = events.map((e) => ({ ...e, globalPosition: e.globalPosition + 100_000n }));
    expect(problemIn(() => sealer.checkStream(elsewhere, 'stream'))).toBe('accepted');
    // The offline verifier recomputes it from the event as JSON, without a position.
    const [first] = events;
    expect(eventSealHash({ ...JSON.parse(JSON.stringify({ ...first, globalPosition: undefined })), globalPosition: null }, null)).toBe(sealOf(first).hash);
  });

  it('detects edits, removals and reorders within a stream-scoped stream', () => {
    const edited = streamScoped(3);
    edited[1] = { ...edited[1], data: { keyId: 'k', grants: { mallory: ['DECRYPT'] } } } as StoredEvent;
    const removed = streamScoped(3);
    removed.splice(1, 1);
    const reordered = streamScoped(3);
    [reordered[1], reordered[2]] = [{ ...reordered[2], streamVersion: 1 } as StoredEvent, { ...reordered[1], streamVersion: 2 } as StoredEvent];
    const relinked = streamScoped(3);
    relinked[2] = streamScoped(3)[2] as StoredEvent; // intact on its own, but it follows another chain

    expect([edited, removed, reordered, relinked].map((s) => problemIn(() => sealer.checkStream(s, 'stream')))).toEqual([
      'the event differs from what was sealed (edited or moved)',
      'expected version 1: an event is missing',
      'the event differs from what was sealed (edited or moved)',
      'the event does not follow the previous one of its stream (reordered, removed or inserted)',
    ]);
  });

  it('never hashes a stream-scoped seal and a position seal of the same event alike', () => {
    const [e] = stream(1);
    if (!e) throw new Error('no event');
    expect(eventSealHash({ ...e, globalPosition: null }, null)).not.toBe(eventSealHash(e, null));
  });

  it('refuses a stream-scoped seal passed off as a position seal, and the reverse', () => {
    const [streamSealed] = streamScoped(1);
    const [positionSealed] = stream(1);
    if (!streamSealed || !positionSealed) throw new Error('no event');
    const { scope: _dropped, ...unmarked } = sealOf(streamSealed);
    void _dropped;
    const markerRemoved = { ...streamSealed, metadata: { ...streamSealed.metadata, [SEAL_METADATA_KEY]: unmarked } };
    const markerAdded = { ...positionSealed, metadata: { ...positionSealed.metadata, [SEAL_METADATA_KEY]: { ...sealOf(positionSealed), scope: 'stream' } } };
    const otherMarker = { ...positionSealed, metadata: { ...positionSealed.metadata, [SEAL_METADATA_KEY]: { ...sealOf(positionSealed), scope: 'global' } } };

    expect({
      markerRemoved: problemIn(() => sealer.check(markerRemoved)),
      markerAdded: problemIn(() => sealer.check(markerAdded)),
      otherMarker: problemIn(() => sealer.check(otherMarker)),
      streamSealInPositionStore: problemIn(() => sealer.check(streamSealed, undefined, 'position')),
      positionSealInStreamStore: problemIn(() => sealer.check(positionSealed, undefined, 'stream')),
    }).toEqual({
      markerRemoved: 'the event differs from what was sealed (edited or moved)',
      markerAdded: 'the event differs from what was sealed (edited or moved)',
      otherMarker: 'the seal has an unknown scope',
      streamSealInPositionStore: 'the seal is stream-scoped, this store writes position-scoped seals',
      positionSealInStreamStore: 'the seal is position-scoped, this store writes stream-scoped seals',
    });
  });

  it('tells the integrity alarm about a refused stream-scoped event', () => {
    const seen: string[] = [];
    const own = new EventSealer(randomBytes(32));
    const stop = own.onViolation((v) => seen.push(`${v.streamId} v${v.streamVersion}: ${v.problem}`));
    const [forged] = streamScoped(1);
    expect(problemIn(() => own.checkStream(forged ? [forged] : [], 'stream'))).toBe('the seal was not made with the KMS key (forged)');
    stop();
    expect(seen).toEqual(['key-k v0: the seal was not made with the KMS key (forged)']);
  });
});
