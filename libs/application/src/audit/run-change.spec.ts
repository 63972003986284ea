import { randomUUID } from 'node:crypto';
import { KmsError, keyNameStreamId } from '@kms/domain';
import {
  type AppendResult,
  type EventSubscription,
  EventStoreUnavailableError,
  InMemoryEventStore,
  type NewEvent,
  type StoredEvent,
  WrongExpectedVersionError,
} from '@kms/event-store';
import { AuditIntentCommitter } from '../changes/audit-intent-committer';
import { afterCommit, CallScopedEventStore, keepWritesOnFailure, onAbort } from '../changes/call-transaction';
import { AUDIT_RECORD_ID, type Change, type ChangeCommitter } from '../changes/change-committer.port';
import { InMemoryAuditIntents } from '../changes/in-memory-audit-intents';
import { KeyCatalog } from '../keys/key-catalog';
import { KeyLifecycleService } from '../keys/key-lifecycle.service';
import { ManualClock } from '../ports/audit-log.port';
import { FIXTURE_START, InMemoryKeyBackend, keyInput, kmsErrorOf, TEST_CHANGE } from '../testing/application-fixture';
import { AuditedExecutor, type CallContext } from './audited-operation';
import { MAX_CONFLICT_RETRIES } from '../changes/handle-command';
import { InMemoryAuditLog } from './in-memory-audit-log';

/** A committer that fails the next commits as told, then hands over to the real one. */
class ScriptedCommitter implements ChangeCommitter {
  readonly failures: Error[] = [];
  commits = 0;

  constructor(private readonly inner: ChangeCommitter) {}

  async commit(change: Change): Promise<AppendResult[]> {
    this.commits++;
    const failure = this.failures.shift();
    if (failure) throw failure;
    return this.inner.commit(change);
  }
}

interface Harness {
  clock: ManualClock;
  store: InMemoryEventStore;
  /** What services write through: the call's transaction inside runChange. */
  scoped: CallScopedEventStore;
  audit: InMemoryAuditLog;
  intents: InMemoryAuditIntents;
  committer: ScriptedCommitter;
  executor: AuditedExecutor;
}

function harness(options: { afterAppend?: (change: Change) => void; store?: InMemoryEventStore } = {}): Harness {
  const clock = new ManualClock(FIXTURE_START);
  const store = options.store ?? new InMemoryEventStore();
  const audit = new InMemoryAuditLog();
  const intents = new InMemoryAuditIntents(audit);
  const committer = new ScriptedCommitter(new AuditIntentCommitter(store, intents, clock, options.afterAppend));
  const executor = new AuditedExecutor(audit, clock, { store, committer, idempotency: intents });
  return { clock, store, scoped: new CallScopedEventStore(store), audit, intents, committer, executor };
}

const CALL: CallContext = { actor: 'alice@example.com', actorRole: 'admin', requestId: 'req-0001', sourceAddress: '10.0.0.7' };

function withClientId(clientRequestId: string, actor = CALL.actor): CallContext {
  return { ...CALL, actor, requestId: `req-${randomUUID()}`, clientRequestId };
}

function event(type: string, data: Record<string, unknown> = {}): NewEvent {
  return { id: randomUUID(), type, data, metadata: { actor: CALL.actor } };
}

/** Every event the store holds, in global order. */
async function allEvents(store: InMemoryEventStore): Promise<StoredEvent[]> {
  const seen: StoredEvent[] = [];
  let subscription: EventSubscription | undefined;
  await new Promise<void>((resolve) => {
    subscription = store.subscribeToAll({}, { onEvent: (e) => void seen.push(e), onCaughtUp: resolve });
  });
  await subscription?.stop();
  return seen;
}

/** Append one "Rotated" event to `streamId` at its current version: what RotateKey does, in small. */
async function rotate(h: Harness, streamId: string): Promise<{ version: number }> {
  const { currentVersion } = await h.scoped.readStream(streamId);
  const appended = await h.scoped.appendToStream(streamId, [event('Rotated', { to: currentVersion + 2 })], { expectedVersion: currentVersion });
  return { version: appended.nextExpectedVersion };
}

describe('AuditedExecutor.runChange', () => {
  let h: Harness;

  beforeEach(() => {
    h = harness();
  });

  afterEach(() => h.store.close());

  describe('commit with the audit record', () => {
    it('given a call that writes two streams, then both commit with exactly one audit record whose id every event carries', async () => {
      const result = await h.executor.runChange(CALL, 'CreateKey', async (facts) => {
        facts.keyId = '11111111-1111-4111-8111-111111111111';
        await h.scoped.appendToStream('name-acme-billing', [event('KeyNameReserved')], { expectedVersion: 'no_stream' });
        await h.scoped.appendToStream('key-11111111-1111-4111-8111-111111111111', [event('KeyCreated'), event('KeyVersionCreated')], { expectedVersion: 'no_stream' });
        return { keyId: facts.keyId };
      });

      expect(result).toEqual({ keyId: '11111111-1111-4111-8111-111111111111' });
      const events = await allEvents(h.store);
      expect(events.map((e) => [e.streamId, e.type])).toEqual([
        ['name-acme-billing', 'KeyNameReserved'],
        ['key-11111111-1111-4111-8111-111111111111', 'KeyCreated'],
        ['key-11111111-1111-4111-8111-111111111111', 'KeyVersionCreated'],
      ]);
      expect(h.audit.records).toHaveLength(1);
      expect(h.audit.records[0]).toMatchObject({ operation: 'CreateKey', actor: CALL.actor, outcome: 'SUCCESS', keyId: '11111111-1111-4111-8111-111111111111' });
      for (const e of events) expect(e.metadata[AUDIT_RECORD_ID]).toBe(h.audit.records[0]?.id);
      expect(events[0]?.metadata['actor']).toBe(CALL.actor);
      expect(h.intents.size).toBe(0);
    });

    it('given a call that writes nothing, then it gets one audit record through the audit log and no events', async () => {
      const append = jest.spyOn(h.audit, 'append');

      const result = await h.executor.runChange(CALL, 'SuspendIdentity', async (facts) => {
        facts.details = { alreadySuspended: true };
        return 'unchanged';
      });

      expect(result).toBe('unchanged');
      expect(append).toHaveBeenCalledTimes(1);
      expect(h.audit.records).toEqual([expect.objectContaining({ operation: 'SuspendIdentity', outcome: 'SUCCESS', details: { alreadySuspended: true } })]);
      expect(await allEvents(h.store)).toEqual([]);
      expect(h.committer.commits).toBe(0);
    });

    it('given a call that records a step and then refuses (APPROVAL_REQUIRED), then its writes commit with a FAILURE record and the caller gets the error', async () => {
      const approvalId = randomUUID();
      const required = new KmsError('APPROVAL_REQUIRED', `approval required: request ${approvalId} was created`, undefined, { approval_id: approvalId });

      const err = await kmsErrorOf(
        h.executor.runChange(CALL, 'DestroyKeyVersion', async () => {
          await h.scoped.appendToStream(`approval-${approvalId}`, [event('ApprovalRequested')], { expectedVersion: 'no_stream' });
          keepWritesOnFailure();
          throw required;
        }),
      );

      expect(err).toBe(required);
      const events = await allEvents(h.store);
      expect(events.map((e) => [e.streamId, e.type])).toEqual([[`approval-${approvalId}`, 'ApprovalRequested']]);
      expect(h.audit.records).toHaveLength(1);
      expect(h.audit.records[0]).toMatchObject({ operation: 'DestroyKeyVersion', outcome: 'FAILURE', errorCode: 'APPROVAL_REQUIRED' });
      expect(events[0]?.metadata[AUDIT_RECORD_ID]).toBe(h.audit.records[0]?.id);
    });

    it('given a call that fails before writing, then it is audited with its error and nothing is committed', async () => {
      const refused = new KmsError('KEY_DISABLED', 'key is disabled', 'key_id');
      await expect(h.executor.runChange(CALL, 'RotateKey', () => Promise.reject(refused))).rejects.toBe(refused);
      expect(h.audit.records.map((r) => [r.outcome, r.errorCode])).toEqual([['FAILURE', 'KEY_DISABLED']]);
      expect(h.committer.commits).toBe(0);
    });
  });

  describe('when the commit fails', () => {
    it('given the store is unavailable at commit, then STORE_UNAVAILABLE, no events, onAbort ran and afterCommit did not', async () => {
      h.committer.failures.push(new EventStoreUnavailableError('connection refused'));
      const ran: string[] = [];

      const err = await kmsErrorOf(
        h.executor.runChange(CALL, 'RotateKey', async () => {
          await rotate(h, 'key-1');
          onAbort(() => void ran.push('discard material'));
          await afterCommit(() => void ran.push('catalog put'));
          return 'rotated';
        }),
      );

      expect(err.code).toBe('STORE_UNAVAILABLE');
      expect(await allEvents(h.store)).toEqual([]);
      expect(ran).toEqual(['discard material']);
      // The refusal is audited (best effort), no SUCCESS record claims a change.
      expect(h.audit.records.map((r) => [r.outcome, r.errorCode])).toEqual([['FAILURE', 'STORE_UNAVAILABLE']]);
    });

    it('given the commit succeeds, then afterCommit ran and onAbort did not', async () => {
      const ran: string[] = [];
      await h.executor.runChange(CALL, 'RotateKey', async () => {
        await rotate(h, 'key-1');
        onAbort(() => void ran.push('discard material'));
        await afterCommit(() => void ran.push('catalog put'));
      });
      expect(ran).toEqual(['catalog put']);
    });

    it('given one conflict at commit, then the call runs again and the second attempt commits', async () => {
      h.committer.failures.push(new WrongExpectedVersionError('key-1', -1, 0));
      const ran: string[] = [];
      let invocations = 0;

      const result = await h.executor.runChange(CALL, 'RotateKey', async () => {
        invocations++;
        onAbort(() => void ran.push(`abort ${invocations}`));
        await afterCommit(() => void ran.push(`commit ${invocations}`));
        return rotate(h, 'key-1');
      });

      expect(invocations).toBe(2);
      expect(h.committer.commits).toBe(2);
      expect(result).toEqual({ version: 0 });
      expect((await allEvents(h.store)).map((e) => [e.streamId, e.type])).toEqual([['key-1', 'Rotated']]);
      expect(ran).toEqual(['abort 1', 'commit 2']);
      expect(h.audit.records.map((r) => r.outcome)).toEqual(['SUCCESS']);
    });

    it('given another writer moved the stream while the call ran, then the call runs again on the new version and commits once', async () => {
      await h.store.appendToStream('key-1', [event('KeyCreated')], { expectedVersion: 'no_stream' });
      let invocations = 0;

      const result = await h.executor.runChange(CALL, 'RotateKey', async () => {
        invocations++;
        const rotated = await rotate(h, 'key-1');
        // Another instance rotates the same key before this call commits (first attempt only).
        if (invocations === 1) await h.store.appendToStream('key-1', [event('RotatedElsewhere')], { expectedVersion: 0 });
        return rotated;
      });

      expect(invocations).toBe(2);
      expect(result).toEqual({ version: 2 });
      expect((await h.store.readStream('key-1')).events.map((e) => e.type)).toEqual(['KeyCreated', 'RotatedElsewhere', 'Rotated']);
      expect(h.audit.records).toHaveLength(1);
      expect(h.intents.size).toBe(0);
    });

    it(`given ${MAX_CONFLICT_RETRIES + 1} conflicts in a row, then CONCURRENCY_CONFLICT on key_id and nothing is committed`, async () => {
      for (let i = 0; i <= MAX_CONFLICT_RETRIES; i++) h.committer.failures.push(new WrongExpectedVersionError('key-1', 0, 1));
      let invocations = 0;

      const err = await kmsErrorOf(
        h.executor.runChange(CALL, 'RotateKey', async () => {
          invocations++;
          return rotate(h, 'key-1');
        }),
      );

      expect(err.code).toBe('CONCURRENCY_CONFLICT');
      expect(err.field).toBe('key_id');
      expect(invocations).toBe(MAX_CONFLICT_RETRIES + 1);
      expect(await allEvents(h.store)).toEqual([]);
      expect(h.audit.records.map((r) => [r.outcome, r.errorCode])).toEqual([['FAILURE', 'CONCURRENCY_CONFLICT']]);
    });
  });

  describe('client request ids (x-request-id)', () => {
    it('given the same id and request again, then the call does not run again and the first response comes back, Buffers included', async () => {
      let invocations = 0;
      const request = { keyId: 'key-1', reason: 'scheduled' };
      const call = () =>
        h.executor.runChange(
          withClientId('retry-1'),
          'RotateKey',
          async () => {
            invocations++;
            const { version } = await rotate(h, 'key-1');
            return { version, publicKey: Buffer.from([0, 1, 2, 250, 255]), labels: { env: 'prod' }, nested: [{ fingerprint: Buffer.from('abc') }] };
          },
          { request },
        );

      const first = await call();
      const second = await call();

      expect(invocations).toBe(1);
      expect(second).toEqual(first);
      expect(Buffer.isBuffer(second.publicKey)).toBe(true);
      expect(second.publicKey.equals(Buffer.from([0, 1, 2, 250, 255]))).toBe(true);
      expect(Buffer.isBuffer(second.nested[0]?.fingerprint)).toBe(true);
      expect((await allEvents(h.store)).map((e) => e.type)).toEqual(['Rotated']);
      expect(h.audit.records).toHaveLength(2);
      expect(h.audit.records[1]).toMatchObject({ operation: 'RotateKey', outcome: 'SUCCESS', details: { idempotentReplayOf: h.audit.records[0]?.id } });
    });

    it('given the same id with a different request, then REQUEST_ID_REUSED on x-request-id, audited, and the call does not run', async () => {
      await h.executor.runChange(withClientId('retry-2'), 'RotateKey', () => rotate(h, 'key-1'), { request: { keyId: 'key-1' } });
      let ran = false;

      const err = await kmsErrorOf(
        h.executor.runChange(
          withClientId('retry-2'),
          'RotateKey',
          async () => {
            ran = true;
            return rotate(h, 'key-2');
          },
          { request: { keyId: 'key-2' } },
        ),
      );

      expect(err.code).toBe('REQUEST_ID_REUSED');
      expect(err.field).toBe('x-request-id');
      expect(ran).toBe(false);
      expect((await allEvents(h.store)).map((e) => e.streamId)).toEqual(['key-1']);
      expect(h.audit.records.map((r) => [r.operation, r.outcome, r.errorCode])).toEqual([
        ['RotateKey', 'SUCCESS', undefined],
        ['RotateKey', 'FAILURE', 'REQUEST_ID_REUSED'],
      ]);
    });

    it('given the same id for another operation with the same request, then REQUEST_ID_REUSED', async () => {
      await h.executor.runChange(withClientId('retry-3'), 'EnableKeyVersion', () => rotate(h, 'key-1'), { request: { keyId: 'key-1', version: 1 } });
      const err = await kmsErrorOf(h.executor.runChange(withClientId('retry-3'), 'DisableKeyVersion', () => rotate(h, 'key-1'), { request: { keyId: 'key-1', version: 1 } }));
      expect(err.code).toBe('REQUEST_ID_REUSED');
      expect((await allEvents(h.store)).length).toBe(1);
    });

    it('a request that differs only in key order is the same request', async () => {
      let invocations = 0;
      const run = (request: unknown) =>
        h.executor.runChange(
          withClientId('retry-4'),
          'SetKeyPolicy',
          async () => {
            invocations++;
            return rotate(h, 'key-1');
          },
          { request },
        );
      await run({ keyId: 'key-1', policy: { a: 1, b: 2 } });
      await run({ policy: { b: 2, a: 1 }, keyId: 'key-1' });
      expect(invocations).toBe(1);
    });

    it('given the first outcome was a KmsError, then a retry gets the same code, message, field and facts, and the call does not run', async () => {
      const approvalId = randomUUID();
      let invocations = 0;
      const call = () =>
        h.executor.runChange(
          withClientId('retry-5'),
          'DestroyKeyVersion',
          async () => {
            invocations++;
            await h.scoped.appendToStream(`approval-${randomUUID()}`, [event('ApprovalRequested')], { expectedVersion: 'no_stream' });
            keepWritesOnFailure();
            throw new KmsError('APPROVAL_REQUIRED', `approval required: request ${approvalId}`, 'key_id', { approval_id: approvalId });
          },
          { request: { keyId: 'key-1', version: 2 } },
        );

      const first = await kmsErrorOf(call());
      const second = await kmsErrorOf(call());

      expect(invocations).toBe(1);
      expect({ code: second.code, message: second.message, field: second.field, facts: second.facts }).toEqual({
        code: 'APPROVAL_REQUIRED',
        message: first.message,
        field: 'key_id',
        facts: { approval_id: approvalId },
      });
      expect((await allEvents(h.store)).length).toBe(1);
      expect(h.audit.records.map((r) => [r.outcome, r.errorCode, r.details?.['idempotentReplayOf']])).toEqual([
        ['FAILURE', 'APPROVAL_REQUIRED', undefined],
        ['FAILURE', 'APPROVAL_REQUIRED', h.audit.records[0]?.id],
      ]);
    });

    it('given the first answer held a secret, then a retry gets REQUEST_ALREADY_DONE and the secret is stored nowhere', async () => {
      const secret = `SECRET-${randomUUID()}`;
      let invocations = 0;
      const call = () =>
        h.executor.runChange(
          withClientId('retry-6'),
          'RotateCredential',
          async () => {
            invocations++;
            await h.scoped.appendToStream('identity-1', [event('CredentialRotated', { hash: 'h' })], { expectedVersion: 'any' });
            return { clientId: 'client-1', clientSecret: secret };
          },
          { request: { identityId: 'identity-1' }, holdsSecret: (r) => 'clientSecret' in r },
        );

      const first = await call();
      const err = await kmsErrorOf(call());

      expect(first.clientSecret).toBe(secret);
      expect(invocations).toBe(1);
      expect(err.code).toBe('REQUEST_ALREADY_DONE');
      expect(err.field).toBe('x-request-id');
      expect(err.message).not.toContain(secret);
      const entry = await h.intents.find(CALL.actor, 'retry-6');
      expect(entry?.outcome).toEqual({ kind: 'secret', operation: 'RotateCredential' });
      expect(JSON.stringify(entry)).not.toContain(secret);
      expect(JSON.stringify(h.audit.records)).not.toContain(secret);
      expect(JSON.stringify((await allEvents(h.store)).map((e) => [e.data, e.metadata]))).not.toContain(secret);
    });

    it('different actors may use the same id independently', async () => {
      const runs: string[] = [];
      const call = (actor: string) =>
        h.executor.runChange(
          withClientId('shared-id', actor),
          'RotateKey',
          async () => {
            runs.push(actor);
            return rotate(h, `key-${actor}`);
          },
          { request: { keyId: 'k' } },
        );

      await call('alice@example.com');
      await call('bob@example.com');
      await call('alice@example.com');

      expect(runs).toEqual(['alice@example.com', 'bob@example.com']);
      expect((await allEvents(h.store)).map((e) => e.streamId)).toEqual(['key-alice@example.com', 'key-bob@example.com']);
    });

    it('without a client request id every call runs', async () => {
      let invocations = 0;
      for (let i = 0; i < 2; i++) {
        await h.executor.runChange(CALL, 'RotateKey', async () => {
          invocations++;
          return rotate(h, 'key-1');
        }, { request: { keyId: 'key-1' } });
      }
      expect(invocations).toBe(2);
    });

    it('given a concurrent retry that lost the race, then it gets the first answer and its own writes are not committed', async () => {
      let firstDone!: () => void;
      const firstCommitted = new Promise<void>((resolve) => (firstDone = resolve));
      const call = (which: string, waitFor?: Promise<void>) =>
        h.executor.runChange(
          withClientId('race-1'),
          'RegisterIdentity',
          async () => {
            await waitFor;
            await h.scoped.appendToStream(`identity-${which}`, [event('IdentityRegistered')], { expectedVersion: 'no_stream' });
            return { identityId: which };
          },
          { request: { name: 'svc-x' } },
        );

      // The second call starts (and finds no first outcome) before the first commits, and writes after it.
      const second = call('second', firstCommitted);
      const first = await call('first');
      firstDone();

      expect(first).toEqual({ identityId: 'first' });
      expect(await second).toEqual({ identityId: 'first' });
      expect((await allEvents(h.store)).map((e) => e.streamId)).toEqual(['identity-first']);
    });

    it('given the idempotency store is unavailable, then STORE_UNAVAILABLE and the call does not run', async () => {
      jest.spyOn(h.intents, 'find').mockRejectedValueOnce(new Error('connection refused'));
      let ran = false;
      const err = await kmsErrorOf(
        h.executor.runChange(withClientId('retry-7'), 'RotateKey', async () => {
          ran = true;
        }),
      );
      expect(err.code).toBe('STORE_UNAVAILABLE');
      expect(ran).toBe(false);
    });
  });

  describe('when the audit log is unavailable', () => {
    it('given a call that writes nothing, then AUDIT_UNAVAILABLE and its result is not returned', async () => {
      h.audit.setAvailable(false);
      const ran: string[] = [];
      const outcome = await h.executor
        .runChange(CALL, 'SuspendIdentity', async () => {
          await afterCommit(() => void ran.push('after'));
          return 'TOP-SECRET-RESULT';
        })
        .then(
          (value) => ({ value }),
          (e: unknown) => e,
        );

      expect(outcome).toBeInstanceOf(KmsError);
      expect((outcome as KmsError).code).toBe('AUDIT_UNAVAILABLE');
      expect(JSON.stringify(outcome)).not.toContain('TOP-SECRET-RESULT');
      expect(h.audit.records).toEqual([]);
    });
  });

  describe('with the key lifecycle service writing through the call-scoped store', () => {
    function lifecycleOn(scoped: CallScopedEventStore, clock: ManualClock) {
      const backend = new InMemoryKeyBackend();
      const catalog = new KeyCatalog(scoped);
      return { backend, lifecycle: new KeyLifecycleService(scoped, catalog, { SOFTWARE: backend }, clock) };
    }

    it('createKey commits the name reservation and the key as one change with one audit record', async () => {
      const { lifecycle, backend } = lifecycleOn(h.scoped, h.clock);
      const input = keyInput();

      const key = await h.executor.runChange(CALL, 'CreateKey', (facts) => lifecycle.createKey(input, TEST_CHANGE).then((k) => ((facts.keyId = k.keyId), k)));

      const events = await allEvents(h.store);
      expect(events[0]).toMatchObject({ streamId: keyNameStreamId(input.tenant, input.name), type: 'KeyNameReserved', data: { keyId: key.keyId } });
      expect(events.length).toBeGreaterThan(1);
      expect(events.slice(1).map((e) => e.streamId)).toEqual(events.slice(1).map(() => `key-${key.keyId}`));
      expect(new Set(events.map((e) => e.metadata[AUDIT_RECORD_ID]))).toEqual(new Set([h.audit.records[0]?.id]));
      expect(h.audit.records).toHaveLength(1);
      expect(backend.size).toBe(1);
    });

    it('given the commit of createKey fails, then its key material is discarded and the name stays free', async () => {
      const { lifecycle, backend } = lifecycleOn(h.scoped, h.clock);
      const input = keyInput();
      h.committer.failures.push(new EventStoreUnavailableError('connection refused'));

      const err = await kmsErrorOf(h.executor.runChange(CALL, 'CreateKey', () => lifecycle.createKey(input, TEST_CHANGE)));
      const again = await h.executor.runChange(CALL, 'CreateKey', () => lifecycle.createKey(input, TEST_CHANGE));

      expect(err.code).toBe('STORE_UNAVAILABLE');
      expect(again.name).toBe(input.name);
      expect(backend.size).toBe(1);
    });

    it('given two calls rotate the same key at once, then the second waits for the first to commit: no conflict, no retry, two new versions', async () => {
      const { lifecycle, backend } = lifecycleOn(h.scoped, h.clock);
      // Outside a call: written straight to the store.
      const key = await lifecycle.createKey(keyInput(), TEST_CHANGE);

      const [a, b] = await Promise.all([
        h.executor.runChange(CALL, 'RotateKey', () => lifecycle.rotateKey(key.keyId, 'MANUAL', TEST_CHANGE)),
        h.executor.runChange(CALL, 'RotateKey', () => lifecycle.rotateKey(key.keyId, 'MANUAL', TEST_CHANGE)),
      ]);

      expect([a.primaryVersion, b.primaryVersion]).toEqual([2, 3]);
      expect(h.committer.commits).toBe(2);
      expect(h.audit.records.map((r) => r.outcome)).toEqual(['SUCCESS', 'SUCCESS']);
      expect(backend.size).toBe(3);
    });

    it('given a read of the store fails once while createKey runs, then the name is not left reserved for a key that does not exist', async () => {
      // A transient read failure (a dropped connection): the name stream is read fine, the new key's stream is not.
      let failKeyRead = true;
      const read = h.store.readStream.bind(h.store);
      jest.spyOn(h.store, 'readStream').mockImplementation(async (streamId) => {
        if (failKeyRead && streamId.startsWith('key-')) {
          failKeyRead = false;
          throw new EventStoreUnavailableError('connection terminated');
        }
        return read(streamId);
      });
      const { lifecycle } = lifecycleOn(h.scoped, h.clock);
      const input = keyInput();

      const err = await kmsErrorOf(h.executor.runChange(CALL, 'CreateKey', () => lifecycle.createKey(input, TEST_CHANGE)));
      const retry = await h.executor.runChange(CALL, 'CreateKey', () => lifecycle.createKey(input, TEST_CHANGE)).then(
        (k) => k.name,
        (e: unknown) => (e instanceof KmsError ? e.code : e),
      );

      expect(err.code).toBe('STORE_UNAVAILABLE');
      // The caller was told the store was unavailable; retrying must create the key, not find the name taken.
      expect(retry).toBe(input.name);
    });
  });

  describe('with an AuditIntentCommitter interrupted after the append (crash before completing the intent)', () => {
    it('given the first call committed but its intent is still pending, then a retry with the same id does not act a second time', async () => {
      let crash = true;
      h = harness({
        afterAppend: () => {
          if (crash) {
            crash = false;
            throw new Error('process killed after the append');
          }
        },
      });
      await h.store.appendToStream('key-1', [event('KeyCreated')], { expectedVersion: 'no_stream' });
      let invocations = 0;
      const call = () =>
        h.executor.runChange(
          withClientId('after-crash'),
          'RotateKey',
          async () => {
            invocations++;
            return rotate(h, 'key-1');
          },
          { request: { keyId: 'key-1' } },
        );

      // The client never got an answer to the first call and retries it with the same id.
      await call().catch(() => undefined);
      await call().catch(() => undefined);

      expect(h.intents.size).toBeGreaterThan(0);
      expect((await h.store.readStream('key-1')).events.map((e) => e.type)).toEqual(['KeyCreated', 'Rotated']);
      expect(invocations).toBe(1);
    });
  });
});
