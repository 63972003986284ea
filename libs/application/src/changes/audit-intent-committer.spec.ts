import { randomUUID } from 'node:crypto';
import { EventStoreUnavailableError, InMemoryEventStore, type NewEvent, type StreamWrite, WrongExpectedVersionError } from '@kms/event-store';
import { InMemoryAuditLog } from '../audit/in-memory-audit-log';
import { type AuditRecord, ManualClock } from '../ports/audit-log.port';
import { AuditIntentCommitter, AuditIntentReconciler } from './audit-intent-committer';
import { AUDIT_RECORD_ID, type Change, DuplicateRequestError, type IdempotencyEntry, PartialChangeError } from './change-committer.port';
import { InMemoryAuditIntents } from './in-memory-audit-intents';

const START = new Date('2026-03-01T09:00:00.000Z');
const GRACE_MS = 30_000;

function record(overrides: Partial<AuditRecord> = {}): AuditRecord {
  return { id: randomUUID(), time: START, requestId: `req-${randomUUID()}`, operation: 'RotateKey', actor: 'alice@example.com', outcome: 'SUCCESS', ...overrides };
}

function event(type = 'KeyRotated'): NewEvent {
  return { id: randomUUID(), type, data: {}, metadata: { actor: 'alice@example.com' } };
}

function write(streamId: string, expectedVersion: StreamWrite['expectedVersion'] = 'no_stream', ...types: string[]): StreamWrite {
  return { streamId, expectedVersion, events: (types.length ? types : ['KeyRotated']).map(event) };
}

function entry(audit: AuditRecord, requestId = 'client-req-1'): IdempotencyEntry {
  return {
    actor: audit.actor,
    requestId,
    operation: audit.operation,
    requestHash: 'a'.repeat(64),
    outcome: { kind: 'response', response: '{"version":2}' },
    auditRecordId: audit.id,
    createdAt: audit.time,
  };
}

describe('AuditIntentCommitter', () => {
  let clock: ManualClock;
  let store: InMemoryEventStore;
  let audit: InMemoryAuditLog;
  let intents: InMemoryAuditIntents;
  let committer: AuditIntentCommitter;

  beforeEach(() => {
    clock = new ManualClock(START);
    store = new InMemoryEventStore();
    audit = new InMemoryAuditLog();
    intents = new InMemoryAuditIntents(audit);
    committer = new AuditIntentCommitter(store, intents, clock);
  });

  afterEach(() => store.close());

  it('makes the intent durable before the append and completes it after: the record is in the audit log, the events carry its id', async () => {
    const pendingAtAppend: number[] = [];
    const append = store.appendToStream.bind(store);
    jest.spyOn(store, 'appendToStream').mockImplementation((streamId, events, options) => {
      pendingAtAppend.push(intents.size);
      return append(streamId, events, options);
    });
    const change: Change = { writes: [write('name-acme-a'), write('key-a', 'no_stream', 'KeyCreated', 'KeyVersionCreated')], audit: record() };

    const results = await committer.commit(change);

    expect(pendingAtAppend).toEqual([1, 1]);
    expect(intents.size).toBe(0);
    expect(audit.records).toEqual([change.audit]);
    expect(results.map((r) => r.nextExpectedVersion)).toEqual([0, 1]);
    const stored = [...(await store.readStream('name-acme-a')).events, ...(await store.readStream('key-a')).events];
    expect(stored.map((e) => [e.type, e.metadata[AUDIT_RECORD_ID], e.metadata['actor']])).toEqual([
      ['KeyRotated', change.audit.id, 'alice@example.com'],
      ['KeyCreated', change.audit.id, 'alice@example.com'],
      ['KeyVersionCreated', change.audit.id, 'alice@example.com'],
    ]);
  });

  it('records the idempotency entry with the completed change, and refuses the same request id afterwards with DuplicateRequestError', async () => {
    const first = record();
    await committer.commit({ writes: [write('key-a')], audit: first, idempotency: entry(first) });
    const second = record();

    const err = await committer.commit({ writes: [write('key-b')], audit: second, idempotency: entry(second) }).catch((e: unknown) => e);

    expect(await intents.find('alice@example.com', 'client-req-1')).toMatchObject({ auditRecordId: first.id, operation: 'RotateKey' });
    expect(err).toBeInstanceOf(DuplicateRequestError);
    expect((await store.readStream('key-b')).currentVersion).toBe(-1);
    expect(audit.records.map((r) => r.id)).toEqual([first.id]);
  });

  it('given the append fails before anything committed, then the intent is discarded and the error reaches the caller', async () => {
    await store.appendToStream('key-a', [event('KeyCreated')], { expectedVersion: 'no_stream' });
    const change: Change = { writes: [write('key-a', 'no_stream')], audit: record() };

    const err = await committer.commit(change).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(WrongExpectedVersionError);
    expect(intents.size).toBe(0);
    expect(audit.records).toEqual([]);
    expect((await store.readStream('key-a')).events.map((e) => e.type)).toEqual(['KeyCreated']);
  });

  it('given the store is unavailable, then the error reaches the caller and no intent is left for the reconciler', async () => {
    jest.spyOn(store, 'appendToStream').mockRejectedValueOnce(new EventStoreUnavailableError('connection refused'));
    await expect(committer.commit({ writes: [write('key-a')], audit: record() })).rejects.toBeInstanceOf(EventStoreUnavailableError);
    expect(intents.size).toBe(0);
  });

  it('given the intent cannot be made durable, then nothing is appended', async () => {
    jest.spyOn(intents, 'put').mockRejectedValueOnce(new Error('intent store down'));
    await expect(committer.commit({ writes: [write('key-a')], audit: record() })).rejects.toThrow('intent store down');
    expect((await store.readStream('key-a')).currentVersion).toBe(-1);
  });

  it('given the audit log is down after the append, then the commit still resolves (the change committed) and the intent stays', async () => {
    const change: Change = { writes: [write('key-a')], audit: record() };
    audit.failNext(1);

    const results = await committer.commit(change);

    expect(results).toEqual([{ nextExpectedVersion: 0, lastGlobalPosition: 1n }]);
    expect((await store.readStream('key-a')).events).toHaveLength(1);
    expect(audit.records).toEqual([]);
    expect(intents.size).toBe(1);
  });

  describe('AuditIntentReconciler', () => {
    let reconciler: AuditIntentReconciler;

    beforeEach(() => {
      reconciler = new AuditIntentReconciler(store, intents, clock, GRACE_MS);
    });

    afterEach(() => reconciler.stop());

    it('leaves an intent younger than the grace period alone and completes it once it is older, with the recorded outcome, marked reconciled', async () => {
      const change: Change = { writes: [write('key-a')], audit: record({ keyVersion: 2, details: { rotated: true } }) };
      change.idempotency = entry(change.audit);
      audit.setAvailable(false);
      await committer.commit(change);
      audit.setAvailable(true);

      clock.advance(GRACE_MS - 1_000);
      const early = await reconciler.reconcile();
      expect(early).toEqual({ completed: 0, notCommitted: 0, partial: 0 });
      expect(intents.size).toBe(1);
      expect(audit.records).toEqual([]);

      clock.advance(2_000);
      const due = await reconciler.reconcile();

      expect(due).toEqual({ completed: 1, notCommitted: 0, partial: 0 });
      expect(intents.size).toBe(0);
      expect(audit.records).toEqual([{ ...change.audit, details: { rotated: true, reconciled: true } }]);
      expect(await intents.find('alice@example.com', 'client-req-1')).toMatchObject({ auditRecordId: change.audit.id });
    });

    it('records FAILURE / NOT_COMMITTED for an intent whose events are not in the store, without an idempotency entry', async () => {
      // A crash after the intent and before the append: the change never happened.
      const r = record();
      await intents.put({ id: r.id, record: r, idempotency: entry(r), streams: ['key-a'], createdAt: clock.now() });
      await store.appendToStream('key-a', [event('ByAnotherChange')], { expectedVersion: 'no_stream' });
      clock.advance(GRACE_MS + 1);

      const report = await reconciler.reconcile();

      expect(report).toEqual({ completed: 0, notCommitted: 1, partial: 0 });
      expect(audit.records).toEqual([{ ...r, outcome: 'FAILURE', errorCode: 'NOT_COMMITTED', details: { reconciled: true } }]);
      // A retry of a call that never happened must run.
      expect(await intents.find('alice@example.com', 'client-req-1')).toBeUndefined();
      expect(intents.size).toBe(0);
    });

    it('marks a multi-stream change of which only some streams committed with details.partialStreams', async () => {
      await store.appendToStream('key-b', [event('KeyCreated')], { expectedVersion: 'no_stream' });
      const change: Change = { writes: [write('name-acme-a'), write('key-b', 'no_stream')], audit: record() };

      const err = await committer.commit(change).catch((e: unknown) => e);
      // Not a plain conflict: part of the change is durable, so it must not be run again.
      expect(err).toBeInstanceOf(PartialChangeError);
      expect((err as PartialChangeError).committedStreams).toEqual(['name-acme-a']);
      expect((err as PartialChangeError).cause).toBeInstanceOf(WrongExpectedVersionError);
      // The first stream is appended: the intent must stay for the reconciler.
      expect(intents.size).toBe(1);

      clock.advance(GRACE_MS + 1);
      const report = await reconciler.reconcile();

      expect(report).toEqual({ completed: 0, notCommitted: 0, partial: 1 });
      expect(audit.records).toEqual([{ ...change.audit, details: { reconciled: true, partialStreams: 'name-acme-a' } }]);
      expect(intents.size).toBe(0);
    });

    it('given the audit log is still down, then the pass fails and the intent waits for the next one', async () => {
      audit.setAvailable(false);
      const change: Change = { writes: [write('key-a')], audit: record() };
      await committer.commit(change);
      clock.advance(GRACE_MS + 1);

      await expect(reconciler.reconcile()).rejects.toThrow();
      expect(intents.size).toBe(1);

      audit.setAvailable(true);
      expect(await reconciler.reconcile()).toEqual({ completed: 1, notCommitted: 0, partial: 0 });
      expect(audit.records.map((r) => r.id)).toEqual([change.audit.id]);
    });

    it('runs one pass at a time: concurrent calls share it and the record is written once', async () => {
      audit.failNext(1);
      await committer.commit({ writes: [write('key-a')], audit: record() });
      clock.advance(GRACE_MS + 1);

      const [a, b] = await Promise.all([reconciler.reconcile(), reconciler.reconcile()]);

      expect(a).toBe(b);
      expect(audit.records).toHaveLength(1);
    });
  });
});
