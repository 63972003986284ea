import { randomUUID } from 'node:crypto';
import type { AuditRecord } from '@kms/application';
import type { NewEvent, SubscriptionHandler } from '@kms/event-store';
import { eventStoreMigrations, PostgresEventStore } from '@kms/event-store-postgres';
import { auditMigrations, createPgPool, dropSchema, PostgresAuditFeed, PostgresAuditLog, runMigrations, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';
import { testAuditSealer } from '@kms/persistence-postgres/testing';
import type { Pool } from 'pg';
import { SoftwareAttestationSigner } from '../attestation/software-attestation-signer';
import { LedgerStore } from '../ledger/ledger-store';
import { type ReadModelTestSchema, readModelTestSchema } from '../testing/read-model-test-schema';
import { ProjectionRunner } from './projection-runner';
import { ProjectionStore } from './projection-store';

const url = testDatabaseUrl();
const source = { url, schema: uniqueTestSchema('ap_source') };
const targets: ReadModelTestSchema[] = [];
let sourcePool: Pool;
let events: PostgresEventStore;
let feed: PostgresAuditFeed;
const signer = SoftwareAttestationSigner.generate();
const clock = { now: () => new Date('2026-03-02T00:00:00.000Z') };

const KEY = '6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f';
const APPROVAL = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d';
const meta = (at: string, extra: Record<string, unknown> = {}) => ({ actor: 'alice', correlationId: randomUUID(), occurredAt: at, ...extra });
const ev = (type: string, data: Record<string, unknown>, metadata: Record<string, unknown>): NewEvent => ({ id: randomUUID(), type, data, metadata });

const keyEvents: NewEvent[] = [
  ev(
    'KeyCreated',
    { keyId: KEY, tenant: 'acme', name: 'payments', purpose: 'SERVICE_ENVELOPE', algorithm: 'AES_256_GCM', protectionLevel: 'SOFTWARE', labels: { jurisdiction: 'eu' }, owner: 'team-payments', rotationPeriodDays: 60, policy: { grants: {} } },
    meta('2026-03-01T09:00:00.000Z', { reason: 'new service', changeTicket: 'CHG-1' }),
  ),
  ev('KeyVersionCreated', { keyId: KEY, version: 1, algorithm: 'AES_256_GCM', protectionLevel: 'SOFTWARE', materialRef: 'm-1', reason: 'INITIAL' }, meta('2026-03-01T09:00:00.000Z')),
  ev('PrimaryVersionChanged', { keyId: KEY, version: 1, previousVersion: null, reason: 'INITIAL' }, meta('2026-03-01T09:00:00.000Z')),
  ev('KeyVersionCreated', { keyId: KEY, version: 2, algorithm: 'AES_256_GCM', protectionLevel: 'SOFTWARE', materialRef: 'm-2', reason: 'MANUAL' }, meta('2026-03-01T10:00:00.000Z')),
  ev('PrimaryVersionChanged', { keyId: KEY, version: 2, previousVersion: 1, reason: 'MANUAL' }, meta('2026-03-01T10:00:00.000Z')),
  ev('KeyVersionDisabled', { keyId: KEY, version: 1 }, meta('2026-03-01T11:00:00.000Z', { reason: 'retire', changeTicket: 'CHG-2' })),
  ev(
    'KeyVersionDestructionScheduled',
    { keyId: KEY, version: 1, destroyAt: '2026-04-01T11:00:00.000Z', previousState: 'DISABLED' },
    meta('2026-03-01T12:00:00.000Z', { changeTicket: 'CHG-3', approvers: ['bob'], approvalId: APPROVAL, reason: 'end of life' }),
  ),
];
const approvalEvents: NewEvent[] = [
  ev(
    'ApprovalRequested',
    { approvalId: APPROVAL, operation: 'ScheduleKeyVersionDestruction', targetId: KEY, params: { version: 1 }, requester: 'alice', changeTicket: 'CHG-3', expiresAt: '2026-03-02T11:30:00.000Z' },
    meta('2026-03-01T11:30:00.000Z', { changeTicket: 'CHG-3', reason: 'end of life' }),
  ),
  ev('ApprovalGranted', { approvalId: APPROVAL, approver: 'bob' }, { ...meta('2026-03-01T11:45:00.000Z'), actor: 'bob' }),
  ev('ApprovedOperationExecuted', { approvalId: APPROVAL, outcome: 'SUCCEEDED' }, meta('2026-03-01T12:00:00.000Z')),
];
const identityEvent = ev(
  'IdentityRegistered',
  { identityId: randomUUID(), name: 'svc', kind: 'WORKLOAD', roles: [], credentialVerifier: 'ab'.repeat(32) },
  meta('2026-03-01T08:00:00.000Z'),
);

const auditRecords: AuditRecord[] = Array.from({ length: 45 }, (_, i) => ({
  id: randomUUID(),
  time: new Date(Date.parse('2026-03-01T09:30:00.000Z') + i * 1000),
  requestId: `req-${i}`,
  operation: i % 5 === 0 ? 'Decrypt' : 'Encrypt',
  keyId: KEY,
  keyVersion: 2,
  actor: 'svc-payments',
  actorRole: 'workload',
  outcome: i % 9 === 0 ? 'DENIED' : 'SUCCESS',
  ...(i % 9 === 0 ? { errorCode: 'PERMISSION_DENIED' } : {}),
  sourceAddress: '10.0.0.8',
  details: { plaintextBytes: 32 },
}));

let lastEventPosition = 0n;
let lastAuditPosition = 0n;

/** A fresh read-model schema: the store and ledger write through TypeORM, the test reads with plain pg. */
async function target(): Promise<{ pool: Pool; store: ProjectionStore; ledger: LedgerStore; schema: string }> {
  const t = await readModelTestSchema('ap_target');
  targets.push(t);
  return { pool: t.pool, schema: t.schema, store: new ProjectionStore(t.dataSource), ledger: new LedgerStore(t.dataSource, 'kms.test/ledger', signer, clock) };
}

function runner(t: { store: ProjectionStore; ledger: LedgerStore }, options: { eventBatch?: number; auditBatch?: number } = {}): ProjectionRunner {
  return new ProjectionRunner(t.store, events, feed, t.ledger, clock, undefined, { checkpointIntervalMs: 0, pollIntervalMs: 20, retryDelayMs: 50, ...options });
}

/** Every projected table, ordered, as an auditor would dump it. */
async function dump(pool: Pool): Promise<Record<string, unknown[]>> {
  const tables: Record<string, string> = {
    projection_checkpoints: 'name',
    rm_keys: 'key_id',
    rm_key_versions: 'key_id, version',
    rm_key_state_ledger: '"position"',
    rm_approvals: 'approval_id',
    rm_audit_log: '"position"',
    ledger_leaves: 'log, leaf_index',
    ledger_nodes: 'log, level, idx',
  };
  const out: Record<string, unknown[]> = {};
  for (const [t, order] of Object.entries(tables)) out[t] = (await pool.query(`SELECT * FROM ${t} ORDER BY ${order}`)).rows;
  return out;
}

beforeAll(async () => {
  await runMigrations(source, [...eventStoreMigrations, ...auditMigrations]);
  sourcePool = createPgPool(source, { max: 6 });
  events = new PostgresEventStore(sourcePool, { channel: `kms_events_${source.schema}`.slice(0, 63), pollIntervalMs: 100 });
  feed = new PostgresAuditFeed(sourcePool, testAuditSealer());
  await events.appendToStream(`identity-${String(identityEvent.data['identityId'])}`, [identityEvent], { expectedVersion: 'no_stream' });
  await events.appendToStream(`key-${KEY}`, keyEvents.slice(0, 6), { expectedVersion: 'no_stream' });
  await events.appendToStream(`approval-${APPROVAL}`, approvalEvents, { expectedVersion: 'no_stream' });
  lastEventPosition = (await events.appendToStream(`key-${KEY}`, keyEvents.slice(6), { expectedVersion: 5 })).lastGlobalPosition;
  const log = new PostgresAuditLog(sourcePool, testAuditSealer());
  await Promise.all(auditRecords.map((r) => log.append(r)));
  await log.close();
  lastAuditPosition = await feed.headPosition();
});

afterAll(async () => {
  await events.close();
  await sourcePool.end();
  await dropSchema(source);
  for (const t of targets) await t.drop();
});

describe('audit projections on PostgreSQL', () => {
  let first: Awaited<ReturnType<typeof target>>;

  beforeAll(async () => {
    first = await target();
    const r = runner(first);
    r.start();
    await r.waitFor({ events: lastEventPosition, audit: lastAuditPosition }, 10_000);
    await r.stop();
  });

  it('given key events, then the key row and its versions are the folded state', async () => {
    const key = (await first.pool.query('SELECT * FROM rm_keys')).rows;
    expect(key).toEqual([
      expect.objectContaining({ key_id: KEY, purpose: 'SERVICE_ENVELOPE', owner: 'team-payments', status: 'Enabled', primary_version: 2, labels: { jurisdiction: 'eu' }, next_rotation_at: new Date('2026-04-30T10:00:00.000Z') }),
    ]);
    const versions = (await first.pool.query('SELECT version, state, destroy_at FROM rm_key_versions ORDER BY version')).rows;
    expect(versions).toEqual([
      { version: 1, state: 'DESTROY_SCHEDULED', destroy_at: new Date('2026-04-01T11:00:00.000Z') },
      { version: 2, state: 'ENABLED', destroy_at: null },
    ]);
  });

  it('given key events, then the key-state ledger records each change with time, actor, approvers, change ticket and reason', async () => {
    const rows = (await first.pool.query('SELECT event_type, version, from_state, to_state, occurred_at, actor, approvers, approval_id, change_ticket, reason FROM rm_key_state_ledger ORDER BY "position"')).rows;
    expect(rows).toHaveLength(7);
    expect(rows[5]).toEqual({ event_type: 'KeyVersionDisabled', version: 1, from_state: 'ENABLED', to_state: 'DISABLED', occurred_at: new Date('2026-03-01T11:00:00.000Z'), actor: 'alice', approvers: [], approval_id: null, change_ticket: 'CHG-2', reason: 'retire' });
    expect(rows[6]).toMatchObject({ event_type: 'KeyVersionDestructionScheduled', from_state: 'DISABLED', to_state: 'DESTROY_SCHEDULED', approvers: ['bob'], approval_id: APPROVAL, change_ticket: 'CHG-3' });
  });

  it('given approval events, then the approval row shows requester, approver, ticket and outcome', async () => {
    expect((await first.pool.query('SELECT approval_id, operation, target_id, requester, approver, change_ticket, status FROM rm_approvals')).rows).toEqual([
      { approval_id: APPROVAL, operation: 'ScheduleKeyVersionDestruction', target_id: KEY, requester: 'alice', approver: 'bob', change_ticket: 'CHG-3', status: 'Executed' },
    ]);
  });

  it('given audit records, then each is one normalised row and one leaf, in source order', async () => {
    const rows = (await first.pool.query('SELECT id, "time", actor, role, operation, key_id, key_version, outcome, error_code, request_id, source_address, leaf_index::int AS leaf_index FROM rm_audit_log ORDER BY "position"')).rows;
    expect(rows.map((r) => r.id)).toEqual(auditRecords.map((r) => r.id).sort((a, b) => rows.findIndex((x) => x.id === a) - rows.findIndex((x) => x.id === b)));
    expect(rows).toHaveLength(45);
    expect(rows.map((r) => r.leaf_index)).toEqual(rows.map((_, i) => i));
    expect(rows[0]).toMatchObject({ actor: 'svc-payments', role: 'workload', key_id: KEY, key_version: 2, source_address: '10.0.0.8' });
    expect((await first.pool.query(`SELECT count(*)::int AS n FROM ledger_leaves WHERE log = 'events'`)).rows[0].n).toBe(11);
  });

  it('never copies a credential verifier into the ledger', async () => {
    const { rows } = await first.pool.query<{ leaf_data: Buffer }>(`SELECT leaf_data FROM ledger_leaves WHERE log = 'events'`);
    const all = rows.map((r) => r.leaf_data.toString('utf8')).join('\n');
    expect(all).not.toContain('ab'.repeat(32));
    expect(all).toContain('"credentialVerifier":"sha256:');
  });

  it('given the same events delivered again, then nothing changes (idempotent by position)', async () => {
    const before = await dump(first.pool);
    const all = await new Promise<Parameters<ProjectionStore['projectEvents']>[0]>((resolve) => {
      const seen: Parameters<ProjectionStore['projectEvents']>[0][number][] = [];
      const sub = events.subscribeToAll({}, { onEvent: (e) => void seen.push(e), onCaughtUp: () => void sub.stop().then(() => resolve(seen)) });
    });
    expect(await first.store.projectEvents(all)).toBe(0);
    expect(await first.store.projectAuditRecords(await feed.readAfter(0n, 1000))).toBe(0);
    expect(await dump(first.pool)).toEqual(before);
  });

  it('given a rebuild into a fresh schema, then every row is identical', async () => {
    const second = await target();
    const r = runner(second);
    r.start();
    await r.waitFor({ events: lastEventPosition, audit: lastAuditPosition }, 10_000);
    await r.stop();
    expect(await dump(second.pool)).toEqual(await dump(first.pool));
  });

  it('given a projector stopped mid-stream and restarted, then there are no duplicates and no gaps', async () => {
    const third = await target();
    const r1 = runner(third, { eventBatch: 1, auditBatch: 7 });
    r1.start();
    // Stop once part of the audit feed is in: the rest must come after the restart.
    for (;;) {
      const cp = await third.store.checkpoint('audit');
      if (cp.position > 0n) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    await r1.stop();
    const partial = await third.store.checkpoint('audit');
    expect(partial.leafCount).toBeLessThan(45);
    const r2 = runner(third, { eventBatch: 3, auditBatch: 7 });
    r2.start();
    await r2.waitFor({ events: lastEventPosition, audit: lastAuditPosition }, 10_000);
    await r2.stop();
    expect(await dump(third.pool)).toEqual(await dump(first.pool));
  });

  it('given the event subscription fails once after catching up and recovers with no new event, then the projection is healthy again', async () => {
    const t = await target();
    let failures = 0;
    // The real store, except that its first subscription dies once it has caught up (as when PostgreSQL restarts).
    const flaky = new Proxy(events, {
      get(target, prop, receiver) {
        if (prop !== 'subscribeToAll') return Reflect.get(target, prop, receiver) as unknown;
        return (options: { fromPosition?: bigint }, handler: SubscriptionHandler) =>
          target.subscribeToAll(options, {
            ...handler,
            onCaughtUp: () => {
              handler.onCaughtUp?.();
              if (failures++ === 0) setTimeout(() => handler.onError?.(new Error('connection terminated unexpectedly')), 10);
            },
          });
      },
    });
    const r = new ProjectionRunner(t.store, flaky, feed, t.ledger, clock, undefined, { checkpointIntervalMs: 0, pollIntervalMs: 20, retryDelayMs: 50 });
    r.start();
    try {
      await r.waitFor({ events: lastEventPosition, audit: lastAuditPosition }, 10_000);
      const deadline = Date.now() + 10_000;
      while (failures < 2 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
      expect(failures).toBeGreaterThanOrEqual(2);
      // Resubscribed and caught up again: no event arrived since, and no error is left standing.
      while (r.snapshot().some((x) => x.lastError !== null) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
      expect(r.snapshot().map((x) => ({ name: x.name, lastError: x.lastError }))).toEqual([
        { name: 'events', lastError: null },
        { name: 'audit', lastError: null },
      ]);
    } finally {
      await r.stop();
    }
  });

  describe('ledger tamper evidence', () => {
    let pem: string;
    const asAttacker = async (sql: string): Promise<void> => {
      await first.pool.query('ALTER TABLE ledger_leaves DISABLE TRIGGER ledger_leaves_append_only');
      try {
        await first.pool.query(sql);
      } finally {
        await first.pool.query('ALTER TABLE ledger_leaves ENABLE TRIGGER ledger_leaves_append_only');
      }
    };

    const swap45 = async (): Promise<void> => {
      for (const [from, to] of [[4, -1], [5, 4], [-1, 5]]) await asAttacker(`UPDATE ledger_leaves SET leaf_index = ${to} WHERE log = 'audit' AND leaf_index = ${from}`);
    };

    beforeAll(async () => {
      pem = await signer.publicKeyPem();
      await first.ledger.checkpointIfGrown('events');
      await first.ledger.checkpointIfGrown('audit');
    });

    it('given an untouched ledger, then the audit finds nothing, and the table refuses updates', async () => {
      expect(await first.ledger.audit(pem)).toEqual([]);
      await expect(first.pool.query(`DELETE FROM ledger_leaves WHERE log = 'audit' AND leaf_index = 0`)).rejects.toThrow('append-only');
    });

    it('detects a flipped byte in a leaf', async () => {
      await asAttacker(`UPDATE ledger_leaves SET leaf_data = overlay(leaf_data placing '\\x21'::bytea from 20 for 1) WHERE log = 'audit' AND leaf_index = 3`);
      expect(await first.ledger.audit(pem)).toEqual(expect.arrayContaining(['audit: leaf 3 data does not match its hash', expect.stringContaining('no longer hash to the signed root')]));
      // Restore from a rebuild: re-derive the leaf from its record.
      await asAttacker(`UPDATE ledger_leaves l SET leaf_data = s.leaf_data FROM ${targets[1].schema}.ledger_leaves s WHERE l.log = s.log AND l.leaf_index = s.leaf_index AND l.log = 'audit' AND l.leaf_index = 3`);
      expect(await first.ledger.audit(pem)).toEqual([]);
    });

    it('detects a reordering (two leaves swapped, hashes consistent with their data)', async () => {
      await swap45();
      expect(await first.ledger.audit(pem)).toEqual(['audit: leaves 0..44 no longer hash to the signed root of checkpoint 45']);
      await swap45();
      expect(await first.ledger.audit(pem)).toEqual([]);
    });

    it('detects a deleted row and a truncation', async () => {
      await asAttacker(`DELETE FROM ledger_leaves WHERE log = 'events' AND leaf_index = 2`);
      expect(await first.ledger.audit(pem)).toEqual(expect.arrayContaining(['events: leaf 2 is missing (next stored leaf is 3)']));
      await asAttacker(`DELETE FROM ledger_leaves WHERE log = 'audit' AND leaf_index >= 40`);
      expect(await first.ledger.audit(pem)).toEqual(expect.arrayContaining(['audit: checkpoint 45 is beyond the 40 stored leaves (truncated)']));
    });

    it('detects a forged checkpoint row', async () => {
      await first.pool.query(`UPDATE ledger_checkpoints SET root_hash = decode(repeat('00', 32), 'hex') WHERE log = 'events'`);
      expect(await first.ledger.audit(pem)).toEqual(expect.arrayContaining([expect.stringContaining('events: checkpoint 11 row differs from its signed note')]));
    });
  });
});
