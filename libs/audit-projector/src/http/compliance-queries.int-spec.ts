import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { type ReadModelTestSchema, readModelTestSchema } from '../testing/read-model-test-schema';
import { HttpProblem } from './compliance-gateway';
import { type DrillLogEvent, drillLogDecider, type DrillLogState, foldWith } from '@kms/domain';
import { ComplianceQueries } from './compliance-queries';

const NOW = '2026-06-01T00:00:00.000Z';
const clock = { now: () => new Date(NOW) };
let db: ReadModelTestSchema;
/** Rows are seeded with plain SQL; the queries under test read them through TypeORM. */
let pool: Pool;
let queries: ComplianceQueries;
let position = 0;

/** Sorted v4 UUIDs, so key order (the cursor) is predictable. */
const uuidAt = (i: number): string => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;

interface KeySeed {
  keyId: string;
  purpose?: string;
  status?: 'Enabled' | 'Disabled';
  owner?: string;
  labels?: Record<string, string>;
  nextRotationAt?: string;
  protectionLevel?: string;
  /** The key's own jurisdiction (in its folded record); absent: a key made before jurisdictions. */
  jurisdiction?: string;
}

async function insertKey(k: KeySeed): Promise<void> {
  await pool.query(
    `INSERT INTO rm_keys (key_id, tenant, name, purpose, algorithm, protection_level, owner, labels, status, primary_version, min_decryption_version,
                          rotation_period_days, created_at, primary_since, next_rotation_at, record, last_position)
     VALUES ($1, 'acme', $2, $3, 'AES_256_GCM', $4, $5, $6, $7, 1, 1, 60, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', $8, $10, $9)`,
    [
      k.keyId,
      `key-${k.keyId.slice(-4)}`,
      k.purpose ?? 'SERVICE_ENVELOPE',
      k.protectionLevel ?? 'SOFTWARE',
      k.owner ?? 'team-a',
      JSON.stringify(k.labels ?? {}),
      k.status ?? 'Enabled',
      k.nextRotationAt ?? '2026-07-01T00:00:00Z',
      ++position,
      JSON.stringify(k.jurisdiction ? { jurisdiction: k.jurisdiction } : {}),
    ],
  );
}

async function insertVersion(keyId: string, version: number, v: { protectionLevel: string; state?: string; origin?: unknown; createdAt?: string; destroyedAt?: string }): Promise<void> {
  await pool.query(
    `INSERT INTO rm_key_versions (key_id, version, algorithm, protection_level, state, created_at, destroy_at, destroyed_at, public_key_fingerprint, origin)
     VALUES ($1, $2, 'AES_256_GCM', $3, $4, $5, NULL, $6, NULL, $7)`,
    [keyId, version, v.protectionLevel, v.state ?? 'ENABLED', v.createdAt ?? '2026-01-01T00:00:00Z', v.destroyedAt ?? null, v.origin === undefined ? null : JSON.stringify(v.origin)],
  );
}

interface AuditSeed {
  time: string;
  actor: string;
  operation: string;
  outcome: 'SUCCESS' | 'FAILURE' | 'DENIED';
  role?: string;
  keyId?: string;
}

async function insertAudit(a: AuditSeed): Promise<string> {
  const p = ++position;
  await pool.query(
    `INSERT INTO rm_audit_log ("position", id, "time", actor, role, operation, key_id, key_version, outcome, error_code, request_id, source_address, details, leaf_index)
     VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, NULL, $9, '10.0.0.8', NULL, $10)`,
    [p, randomUUID(), a.time, a.actor, a.role ?? 'workload', a.operation, a.keyId ?? null, a.outcome, `req-${p}`, p],
  );
  return String(p);
}

async function insertApproval(a: { id: string; targetId: string; requester: string; approver: string | null; status: string; requestedAt: string }): Promise<void> {
  await pool.query(
    `INSERT INTO rm_approvals (approval_id, operation, target_id, requester, change_ticket, reason, status, approver, requested_at, expires_at, decided_at, error_code, params, record, last_position)
     VALUES ($1, 'ScheduleKeyVersionDestruction', $2, $3, 'CHG-1', NULL, $4, $5, $6, '2026-12-01T00:00:00Z', NULL, NULL, '{}', '{}', $7)`,
    [a.id, a.targetId, a.requester, a.status, a.approver, a.requestedAt, ++position],
  );
}

async function insertStateChange(keyId: string, actor: string, approvers: string[], approvalId: string | null): Promise<void> {
  await pool.query(
    `INSERT INTO rm_key_state_ledger ("position", key_id, version, event_type, from_state, to_state, occurred_at, actor, approvers, approval_id, change_ticket, reason, correlation_id)
     VALUES ($1, $2, 1, 'KeyVersionDisabled', 'ENABLED', 'DISABLED', '2026-05-01T00:00:00Z', $3, $4, $5, 'CHG-9', NULL, NULL)`,
    [++position, keyId, actor, approvers, approvalId],
  );
}

async function clear(): Promise<void> {
  await pool.query('TRUNCATE rm_keys, rm_key_versions, rm_key_state_ledger, rm_approvals, rm_audit_log');
}

function problem(e: unknown): { status: number; code: string; field?: string } {
  if (!(e instanceof HttpProblem)) throw e;
  return { status: e.status, code: e.code, field: e.field };
}

async function refusal(run: () => Promise<unknown>): Promise<{ status: number; code: string; field?: string }> {
  try {
    await run();
  } catch (e) {
    return problem(e);
  }
  throw new Error('expected an HttpProblem');
}

beforeAll(async () => {
  db = await readModelTestSchema('ap_queries');
  pool = db.pool;
  queries = new ComplianceQueries(db.dataSource, clock);
});

afterAll(async () => {
  await db?.drop();
});

const ids = (page: { items: unknown[] }, field = 'key_id'): string[] => page.items.map((r) => String((r as Record<string, unknown>)[field]));

describe('ComplianceQueries.keys (GET /v1/keys)', () => {
  beforeAll(async () => {
    await clear();
    await insertKey({ keyId: uuidAt(1), purpose: 'SERVICE_ENVELOPE', owner: 'team-a', labels: { jurisdiction: 'eu', env: 'prod' } });
    await insertKey({ keyId: uuidAt(2), purpose: 'SERVICE_ENVELOPE', owner: 'team-b', labels: { jurisdiction: 'us' }, nextRotationAt: '2026-05-01T00:00:00Z' });
    await insertKey({ keyId: uuidAt(3), purpose: 'ROOT_TENANT', owner: 'team-a', labels: { env: 'prod' }, status: 'Disabled' });
    await insertKey({ keyId: uuidAt(4), purpose: 'DATA_PROTECTION', owner: 'team-c', labels: { formula: 'a=b' }, nextRotationAt: '2026-05-31T23:59:59Z' });
    await insertKey({ keyId: uuidAt(5), purpose: 'BREAK_GLASS', owner: 'team-a', labels: { jurisdiction: 'eu' }, nextRotationAt: NOW });
  });

  it('filters by purpose, state, owner, label, jurisdiction and overdue, alone and combined', async () => {
    expect(ids(await queries.keys({ purpose: 'SERVICE_ENVELOPE' }))).toEqual([uuidAt(1), uuidAt(2)]);
    expect(ids(await queries.keys({ state: 'Disabled' }))).toEqual([uuidAt(3)]);
    expect(ids(await queries.keys({ state: 'Enabled' }))).toEqual([uuidAt(1), uuidAt(2), uuidAt(4), uuidAt(5)]);
    expect(ids(await queries.keys({ owner: 'team-a' }))).toEqual([uuidAt(1), uuidAt(3), uuidAt(5)]);
    expect(ids(await queries.keys({ label: 'env=prod' }))).toEqual([uuidAt(1), uuidAt(3)]);
    expect(ids(await queries.keys({ label: 'formula=a=b' }))).toEqual([uuidAt(4)]);
    expect(ids(await queries.keys({ label: 'env=dev' }))).toEqual([]);
    expect(ids(await queries.keys({ jurisdiction: 'eu' }))).toEqual([uuidAt(1), uuidAt(5)]);
    // Overdue = next rotation strictly before now; exactly now is not yet overdue.
    expect(ids(await queries.keys({ overdue: 'true' }))).toEqual([uuidAt(2), uuidAt(4)]);
    expect(ids(await queries.keys({ overdue: 'false' }))).toEqual([uuidAt(1), uuidAt(3), uuidAt(5)]);
    expect(ids(await queries.keys({ owner: 'team-a', label: 'env=prod', state: 'Enabled' }))).toEqual([uuidAt(1)]);
    expect(ids(await queries.keys({ purpose: 'SERVICE_ENVELOPE', overdue: 'true', jurisdiction: 'us' }))).toEqual([uuidAt(2)]);
    const [row] = (await queries.keys({ owner: 'team-c' })).items as Array<Record<string, unknown>>;
    expect(row).toMatchObject({ key_id: uuidAt(4), purpose: 'DATA_PROTECTION', owner: 'team-c', labels: { formula: 'a=b' }, status: 'Enabled' });
    expect(row).not.toHaveProperty('record');
  });

  it('pages with the cursor: every key exactly once, in key order, the last page without a cursor', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await queries.keys({ limit: '2', ...(cursor ? { cursor } : {}) });
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...ids(page));
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([1, 2, 3, 4, 5].map(uuidAt));
    // Filtered paging keeps the filter.
    const first = await queries.keys({ owner: 'team-a', limit: '2' });
    expect(ids(first)).toEqual([uuidAt(1), uuidAt(3)]);
    const second = await queries.keys({ owner: 'team-a', limit: '2', cursor: first.nextCursor as string });
    expect(ids(second)).toEqual([uuidAt(5)]);
    expect(second.nextCursor).toBeNull();
  });

  it.each([
    [{ purpose: 'ROOT' }, 'purpose'],
    [{ state: 'DESTROYED' }, 'state'],
    [{ label: 'no-equals' }, 'label'],
    [{ overdue: 'yes' }, 'overdue'],
    [{ cursor: 'not-a-uuid' }, 'cursor'],
    [{ limit: '0' }, 'limit'],
    [{ limit: '501' }, 'limit'],
    [{ owner: ['a', 'b'] }, 'owner'],
  ])('refuses %j with 400 INVALID_ARGUMENT naming %s', async (q, field) => {
    expect(await refusal(() => queries.keys(q))).toEqual({ status: 400, code: 'INVALID_ARGUMENT', field });
  });
});

describe('ComplianceQueries by jurisdiction (GET /v1/keys?jurisdiction, GET /v1/jurisdictions)', () => {
  beforeAll(async () => {
    await clear();
    // A key's own jurisdiction wins over a label; a key made before jurisdictions falls back to its label, else default.
    await insertKey({ keyId: uuidAt(1), jurisdiction: 'eu', protectionLevel: 'HSM', labels: { jurisdiction: 'us' } });
    await insertKey({ keyId: uuidAt(2), jurisdiction: 'eu', protectionLevel: 'SOFTWARE', status: 'Disabled' });
    await insertKey({ keyId: uuidAt(3), jurisdiction: 'us', protectionLevel: 'HSM' });
    await insertKey({ keyId: uuidAt(4), labels: { jurisdiction: 'us' } });
    await insertKey({ keyId: uuidAt(5), jurisdiction: 'default' });
  });

  it("filters on the key's jurisdiction, case-insensitively", async () => {
    expect(ids(await queries.keys({ jurisdiction: 'eu' }))).toEqual([uuidAt(1), uuidAt(2)]);
    expect(ids(await queries.keys({ jurisdiction: 'US' }))).toEqual([uuidAt(3), uuidAt(4)]);
    expect(ids(await queries.keys({ jurisdiction: 'default' }))).toEqual([uuidAt(5)]);
    expect(ids(await queries.keys({ jurisdiction: 'eu', state: 'Enabled' }))).toEqual([uuidAt(1)]);
    expect(((await queries.keys({ jurisdiction: 'eu' })).items as Array<Record<string, unknown>>).map((k) => k['jurisdiction'])).toEqual(['eu', 'eu']);
  });

  it('groups keys by jurisdiction with the HSM instances declared there', async () => {
    const grouped = await queries.jurisdictions([
      { id: 'hsm-eu', jurisdiction: 'eu', provider: 'p1', environment: 'sovereign', certifications: ['FIPS 140-3 #1'] },
      { id: 'hsm-fr', jurisdiction: 'fr', provider: 'p2', environment: 'commercial', certifications: [] },
    ]);
    expect(grouped.jurisdictions).toEqual([
      { jurisdiction: 'default', keys: 1, by_protection_level: { SOFTWARE: 1 }, by_status: { Enabled: 1 }, keys_url: '/v1/keys?jurisdiction=default', hsm_instances: [] },
      {
        jurisdiction: 'eu',
        keys: 2,
        by_protection_level: { HSM: 1, SOFTWARE: 1 },
        by_status: { Disabled: 1, Enabled: 1 },
        keys_url: '/v1/keys?jurisdiction=eu',
        hsm_instances: [{ id: 'hsm-eu', provider: 'p1', environment: 'sovereign', certifications: ['FIPS 140-3 #1'], attestation_bundle: '/v1/evidence/hsms/hsm-eu' }],
      },
      { jurisdiction: 'fr', keys: 0, by_protection_level: {}, by_status: {}, keys_url: '/v1/keys?jurisdiction=fr', hsm_instances: [{ id: 'hsm-fr', provider: 'p2', environment: 'commercial', certifications: [], attestation_bundle: '/v1/evidence/hsms/hsm-fr' }] },
      { jurisdiction: 'us', keys: 2, by_protection_level: { HSM: 1, SOFTWARE: 1 }, by_status: { Enabled: 2 }, keys_url: '/v1/keys?jurisdiction=us', hsm_instances: [] },
    ]);
  });
});

describe('ComplianceQueries.auditRecords (GET /v1/audit-records)', () => {
  const KEY = uuidAt(77);
  const seeds: Array<AuditSeed & { position: string }> = [];

  beforeAll(async () => {
    await clear();
    const actors = ['svc-a', 'svc-b', 'alice'];
    const operations = ['Encrypt', 'Decrypt', 'RotateKey'];
    const outcomes = ['SUCCESS', 'SUCCESS', 'DENIED', 'FAILURE'] as const;
    for (let i = 0; i < 53; i++) {
      // Several records share a timestamp, so paging must not rest on time.
      const seed: AuditSeed = {
        time: new Date(Date.parse('2026-05-01T00:00:00.000Z') + Math.floor(i / 3) * 60_000).toISOString(),
        actor: actors[i % 3],
        operation: operations[i % 5 === 0 ? 2 : i % 2],
        outcome: outcomes[i % 4],
        ...(i % 2 === 0 ? { keyId: KEY } : {}),
      };
      seeds.push({ ...seed, position: await insertAudit(seed) });
    }
  });

  async function all(q: Record<string, string>, limit: number): Promise<{ positions: string[]; pages: number }> {
    const positions: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { items: unknown[]; nextCursor: string | null } = await queries.auditRecords({ ...q, limit: String(limit), ...(cursor ? { cursor } : {}) });
      expect(page.items.length).toBeLessThanOrEqual(limit);
      positions.push(...ids(page, 'position'));
      cursor = page.nextCursor;
      pages++;
      if (pages > 100) throw new Error('paging does not end');
    } while (cursor);
    return { positions, pages };
  }

  it.each([1, 7, 53, 500])('pages through every record exactly once, in position order (limit %i)', async (limit) => {
    const { positions, pages } = await all({}, limit);
    expect(positions).toEqual(seeds.map((s) => s.position));
    expect(new Set(positions).size).toBe(seeds.length);
    expect(pages).toBe(Math.max(1, Math.ceil(seeds.length / limit)));
  });

  it.each<[string, Record<string, string>, (s: AuditSeed) => boolean]>([
    ['actor', { actor: 'alice' }, (s) => s.actor === 'alice'],
    ['operation', { operation: 'Decrypt' }, (s) => s.operation === 'Decrypt'],
    ['outcome', { outcome: 'DENIED' }, (s) => s.outcome === 'DENIED'],
    ['key', { keyId: KEY }, (s) => s.keyId === KEY],
    ['time range [from, to)', { from: '2026-05-01T00:03:00.000Z', to: '2026-05-01T00:07:00.000Z' }, (s) => s.time >= '2026-05-01T00:03:00.000Z' && s.time < '2026-05-01T00:07:00.000Z'],
    [
      'all of them',
      { actor: 'svc-a', operation: 'Encrypt', outcome: 'SUCCESS', from: '2026-05-01T00:00:00.000Z', to: '2026-05-01T00:15:00.000Z' },
      (s) => s.actor === 'svc-a' && s.operation === 'Encrypt' && s.outcome === 'SUCCESS' && s.time < '2026-05-01T00:15:00.000Z',
    ],
  ])('filters by %s across pages', async (_name, q, keep) => {
    const expected = seeds.filter(keep).map((s) => s.position);
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(seeds.length);
    expect((await all(q, 3)).positions).toEqual(expected);
  });

  it('misses no record appended while a client is paging', async () => {
    const first = await queries.auditRecords({ limit: '50' });
    expect(first.nextCursor).not.toBeNull();
    const added = await insertAudit({ time: '2026-04-01T00:00:00.000Z', actor: 'late', operation: 'Encrypt', outcome: 'SUCCESS' });
    const rest = await queries.auditRecords({ limit: '50', cursor: first.nextCursor as string });
    expect(ids(rest, 'position')).toEqual([...seeds.slice(50).map((s) => s.position), added]);
    expect(rest.nextCursor).toBeNull();
  });

  it.each([
    [{ cursor: 'abc' }, 'cursor'],
    [{ from: 'yesterday' }, 'from'],
    [{ outcome: 'OK' }, 'outcome'],
    [{ keyId: 'k1' }, 'keyId'],
  ])('refuses %j naming %s', async (q, field) => {
    expect(await refusal(() => queries.auditRecords(q))).toEqual({ status: 400, code: 'INVALID_ARGUMENT', field });
  });
});

describe('ComplianceQueries.approvals (GET /v1/approvals)', () => {
  it('filters by target and status, oldest request first', async () => {
    await clear();
    const [k1, k2] = [uuidAt(11), uuidAt(12)];
    await insertApproval({ id: 'ap-3', targetId: k1, requester: 'alice', approver: 'bob', status: 'Executed', requestedAt: '2026-05-03T00:00:00Z' });
    await insertApproval({ id: 'ap-1', targetId: k1, requester: 'alice', approver: null, status: 'Pending', requestedAt: '2026-05-01T00:00:00Z' });
    await insertApproval({ id: 'ap-2', targetId: k2, requester: 'carol', approver: 'dave', status: 'Rejected', requestedAt: '2026-05-02T00:00:00Z' });
    expect(ids(await queries.approvals({}), 'approval_id')).toEqual(['ap-1', 'ap-2', 'ap-3']);
    expect(ids(await queries.approvals({ targetId: k1 }), 'approval_id')).toEqual(['ap-1', 'ap-3']);
    expect(ids(await queries.approvals({ status: 'Rejected' }), 'approval_id')).toEqual(['ap-2']);
    expect(ids(await queries.approvals({ targetId: k1, status: 'Executed' }), 'approval_id')).toEqual(['ap-3']);
    expect(ids(await queries.approvals({ limit: '1' }), 'approval_id')).toEqual(['ap-1']);
    expect((await queries.approvals({ targetId: k2 })).items[0]).toMatchObject({ requester: 'carol', approver: 'dave', change_ticket: 'CHG-1', status: 'Rejected' });
    expect(await refusal(() => queries.approvals({ status: 'Done' }))).toEqual({ status: 400, code: 'INVALID_ARGUMENT', field: 'status' });
  });
});

describe('ComplianceQueries.controls (GET /v1/controls) follows the read models', () => {
  type Control = { id: string; status: string; finding: string; evidence: string[] };
  const healthy = { events: 10, audit: 10, eventsCheckpoint: 10, auditCheckpoint: 10 };
  const control = async (id: string, ledger = healthy): Promise<Control> => {
    const found = ((await queries.controls(ledger)) as Control[]).find((c) => c.id === id);
    if (!found) throw new Error(`no control ${id}`);
    return found;
  };

  beforeEach(clear);

  it('lists every control, NOT_APPLICABLE / NOT_EVALUATED when there is nothing to judge', async () => {
    const controls = (await queries.controls({ events: 0, audit: 0, eventsCheckpoint: 0, auditCheckpoint: 0 })) as Control[];
    expect(Object.fromEntries(controls.map((c) => [c.id, c.status]))).toEqual({
      'KMS-ROT-ROOT_TENANT': 'NOT_APPLICABLE',
      'KMS-ROT-SERVICE_ENVELOPE': 'NOT_APPLICABLE',
      'KMS-ROT-DATA_PROTECTION': 'NOT_APPLICABLE',
      'KMS-ROT-BREAK_GLASS': 'NOT_APPLICABLE',
      'KMS-RET-01': 'PASS',
      'KMS-AC-02': 'PASS',
      'KMS-AC-01': 'PASS',
      'KMS-LOG-01': 'NOT_EVALUATED',
      'KMS-HSM-01': 'NOT_APPLICABLE',
      'KMS-ESC-01': 'NOT_APPLICABLE',
      'KMS-BAK-01': 'NOT_EVALUATED',
      'KMS-BAK-02': 'FAIL',
    });
  });

  it('KMS-BAK-02 follows the Backup audit records: one within 26 hours passes, an older or a failed one does not', async () => {
    expect(await control('KMS-BAK-02')).toMatchObject({ status: 'FAIL', finding: 'no backup recorded in the audit trail' });
    const at = (hoursAgo: number) => new Date(clock.now().getTime() - hoursAgo * 3_600_000).toISOString();
    await insertAudit({ operation: 'Backup', outcome: 'SUCCESS', actor: 'system:backup', time: at(30) });
    await insertAudit({ operation: 'Backup', outcome: 'FAILURE', actor: 'system:backup', time: at(1) });
    expect(await control('KMS-BAK-02')).toMatchObject({ status: 'FAIL', finding: expect.stringContaining('30 h ago') });
    await insertAudit({ operation: 'Backup', outcome: 'SUCCESS', actor: 'system:backup', time: at(2) });
    expect(await control('KMS-BAK-02')).toMatchObject({ status: 'PASS', finding: expect.stringContaining('2 in the audit trail') });
  });

  it('KMS-BAK-01 and GET /v1/drills follow the drill log: a drill within the month and no overdue follow-up pass', async () => {
    let log: DrillLogState = drillLogDecider.initialState();
    const withLog = new ComplianceQueries(db.dataSource, clock, async () => log);
    const bak = async () => ((await withLog.controls(healthy)) as Control[]).find((c) => c.id === 'KMS-BAK-01');
    expect(await bak()).toMatchObject({ status: 'FAIL', finding: 'no drill recorded; 0 open follow-up(s), 0 overdue', evidence: ['/v1/drills'] });
    const day = (offset: number) => new Date(clock.now().getTime() + offset * 86_400_000).toISOString().slice(0, 10);
    const record = (drillId: string, date: string, followUps: Array<{ owner: string; action: string }>): DrillLogEvent[] =>
      drillLogDecider.decide({ type: 'RecordDrill', data: { drillId, date, participants: ['alice'], archive: 'kms-backup-x', outcome: 'PASSED', followUps }, metadata: { now: clock.now(), actor: 'alice', correlationId: 'c' } }, log);
    log = foldWith(drillLogDecider, record('d1', day(-3), []), log);
    expect(await bak()).toMatchObject({ status: 'PASS', finding: `last drill ${day(-3)} (PASSED), next due by ${day(28)}; 0 open follow-up(s), 0 overdue` });
    // A follow-up of a drill 20 days ago was due 5 business days later: overdue now, the control fails.
    log = foldWith(drillLogDecider, record('d0', day(-20), [{ owner: 'sre', action: 'time the restore' }]), log);
    expect(await bak()).toMatchObject({ status: 'FAIL', finding: expect.stringContaining('1 open follow-up(s), 1 overdue') });
    expect(await withLog.drills()).toMatchObject({ monthlyDrillOverdue: false, lastDrill: { drillId: 'd1' }, openFollowUps: [{ drillId: 'd0', owner: 'sre', overdue: true }] });
    // A projector without the drill log says so.
    expect(await refusal(() => queries.drills())).toMatchObject({ status: 503 });
  });

  it('gains one evidence column per environment kind and jurisdiction: an artifact there, or the compensating evidence, with owner and retention', async () => {
    expect((await queries.controls(healthy)).every((c) => !('evidence_by_environment' in (c as object)))).toBe(true);
    const declared = [
      { id: 'hsm-eu-1', jurisdiction: 'eu', provider: 'p', environment: 'sovereign', certifications: [], evidenceOwner: 'eu-compliance', evidenceRetention: 's3://eu-evidence' },
      { id: 'hsm-eu-2', jurisdiction: 'eu', provider: 'p', environment: 'sovereign', certifications: [], evidenceOwner: 'eu-compliance', evidenceRetention: 's3://eu-evidence' },
      { id: 'hsm-us', jurisdiction: 'us', provider: 'q', environment: 'commercial', certifications: [] },
    ];
    type Column = { environment: string; jurisdiction: string; hsm_instances: string[]; owner: string; retention: string; artifacts?: string[]; compensating_evidence?: string; legal_appendix?: string; legal_artifacts?: unknown[] };
    const controls = (await queries.controls(healthy, declared)) as Array<Control & { evidence_by_environment: Column[] }>;
    const of = (id: string) => controls.find((c) => c.id === id)?.evidence_by_environment ?? [];
    expect(of('KMS-HSM-01')).toEqual([
      {
        environment: 'commercial',
        jurisdiction: 'us',
        hsm_instances: ['hsm-us'],
        owner: 'compliance-officer',
        retention: 'KMS audit ledger (hash-anchored, signed checkpoints)',
        artifacts: ['/v1/evidence/hsms/hsm-us'],
        legal_appendix: '/v1/legal-artifacts?jurisdiction=us',
        legal_artifacts: [],
      },
      {
        environment: 'sovereign',
        jurisdiction: 'eu',
        hsm_instances: ['hsm-eu-1', 'hsm-eu-2'],
        owner: 'eu-compliance',
        retention: 's3://eu-evidence',
        artifacts: ['/v1/evidence/hsms/hsm-eu-1', '/v1/evidence/hsms/hsm-eu-2'],
        legal_appendix: '/v1/legal-artifacts?jurisdiction=eu',
        legal_artifacts: [],
      },
    ]);
    // Controls no legal appendix document bears on link the appendix only.
    expect(of('KMS-LOG-01').map((c) => [c.legal_appendix, c.legal_artifacts])).toEqual([
      ['/v1/legal-artifacts?jurisdiction=us', undefined],
      ['/v1/legal-artifacts?jurisdiction=eu', undefined],
    ]);
    expect(of('KMS-ROT-ROOT_TENANT').map((c) => c.artifacts)).toEqual([['/v1/keys?purpose=ROOT_TENANT&jurisdiction=us&overdue=true'], ['/v1/keys?purpose=ROOT_TENANT&jurisdiction=eu&overdue=true']]);
    // A central control: the same artifact covers every environment, recorded as compensating evidence.
    expect(of('KMS-LOG-01').map((c) => c.compensating_evidence)).toEqual([expect.stringContaining('/v1/ledger/audit/checkpoint'), expect.stringContaining('/v1/ledger/audit/checkpoint')]);
  });

  it('KMS-HSM-01: passes for HSM root keys with origin evidence, fails for a software or unattested version, passes again once it is destroyed', async () => {
    const root = uuidAt(21);
    await insertKey({ keyId: root, purpose: 'ROOT_TENANT', protectionLevel: 'HSM' });
    await insertVersion(root, 1, { protectionLevel: 'HSM', origin: { statement: 'generated in slot 0' } });
    expect((await control('KMS-HSM-01')).status).toBe('PASS');

    await insertVersion(root, 2, { protectionLevel: 'SOFTWARE' });
    expect(await control('KMS-HSM-01')).toMatchObject({ status: 'FAIL', evidence: [`/v1/evidence/keys/${root}`] });
    await pool.query(`UPDATE rm_key_versions SET state = 'DESTROYED' WHERE key_id = $1 AND version = 2`, [root]);
    expect((await control('KMS-HSM-01')).status).toBe('PASS');

    await insertVersion(root, 3, { protectionLevel: 'HSM' }); // HSM, but no origin statement
    expect((await control('KMS-HSM-01')).status).toBe('FAIL');

    // Software service keys are not root keys: they do not count.
    await pool.query(`UPDATE rm_key_versions SET origin = '{"statement":"x"}' WHERE key_id = $1 AND version = 3`, [root]);
    await insertKey({ keyId: uuidAt(22), purpose: 'SERVICE_ENVELOPE' });
    await insertVersion(uuidAt(22), 1, { protectionLevel: 'SOFTWARE' });
    expect((await control('KMS-HSM-01')).status).toBe('PASS');
  });

  it('KMS-AC-02: passes with an independent approver, fails on self-approval, a missing approver, or an actor approving their own change', async () => {
    const key = uuidAt(31);
    await insertApproval({ id: 'ok-1', targetId: key, requester: 'alice', approver: 'bob', status: 'Executed', requestedAt: '2026-05-01T00:00:00Z' });
    await insertApproval({ id: 'pending', targetId: key, requester: 'alice', approver: null, status: 'Pending', requestedAt: '2026-05-01T00:00:00Z' });
    await insertStateChange(key, 'alice', ['bob'], 'ok-1');
    await insertStateChange(key, 'alice', [], null); // an ordinary change without an approval is not judged here
    expect((await control('KMS-AC-02')).status).toBe('PASS');

    await insertApproval({ id: 'self', targetId: key, requester: 'mallory', approver: 'mallory', status: 'Approved', requestedAt: '2026-05-02T00:00:00Z' });
    expect(await control('KMS-AC-02')).toMatchObject({ status: 'FAIL', finding: '1 change(s) without an independent approver', evidence: expect.arrayContaining(['/v1/approvals?targetId=self']) });
    await pool.query(`DELETE FROM rm_approvals WHERE approval_id = 'self'`);
    expect((await control('KMS-AC-02')).status).toBe('PASS');

    await insertStateChange(key, 'alice', [], 'ok-1');
    await insertStateChange(key, 'alice', ['alice'], 'ok-1');
    expect(await control('KMS-AC-02')).toMatchObject({ status: 'FAIL', finding: '2 change(s) without an independent approver' });
  });

  it('KMS-ROT-<purpose>: fails only for enabled overdue keys of that purpose, and links them', async () => {
    await insertKey({ keyId: uuidAt(41), purpose: 'DATA_PROTECTION' });
    await insertKey({ keyId: uuidAt(42), purpose: 'DATA_PROTECTION', status: 'Disabled', nextRotationAt: '2026-01-01T00:00:00Z' });
    expect((await control('KMS-ROT-DATA_PROTECTION')).status).toBe('PASS');
    await insertKey({ keyId: uuidAt(43), purpose: 'DATA_PROTECTION', nextRotationAt: '2026-05-01T00:00:00Z' });
    expect(await control('KMS-ROT-DATA_PROTECTION')).toMatchObject({ status: 'FAIL', evidence: ['/v1/keys?purpose=DATA_PROTECTION&overdue=true', `/v1/keys/${uuidAt(43)}/history`] });
    expect((await control('KMS-ROT-SERVICE_ENVELOPE')).status).toBe('NOT_APPLICABLE');
  });

  it('KMS-RET-01: fails when a root or service key version was destroyed within 365 days', async () => {
    await insertKey({ keyId: uuidAt(51), purpose: 'ROOT_TENANT' });
    await insertVersion(uuidAt(51), 1, { protectionLevel: 'HSM', state: 'DESTROYED', createdAt: '2024-01-01T00:00:00Z', destroyedAt: '2025-02-01T00:00:00Z' });
    await insertKey({ keyId: uuidAt(52), purpose: 'DATA_PROTECTION' });
    await insertVersion(uuidAt(52), 1, { protectionLevel: 'SOFTWARE', state: 'DESTROYED', createdAt: '2026-01-01T00:00:00Z', destroyedAt: '2026-02-01T00:00:00Z' });
    expect((await control('KMS-RET-01')).status).toBe('PASS');
    await insertVersion(uuidAt(51), 2, { protectionLevel: 'HSM', state: 'DESTROYED', createdAt: '2026-01-01T00:00:00Z', destroyedAt: '2026-03-01T00:00:00Z' });
    expect(await control('KMS-RET-01')).toMatchObject({ status: 'FAIL', evidence: [`/v1/keys/${uuidAt(51)}/history`] });
  });

  it('KMS-AC-01 fails on a successful key use by a compliance officer; KMS-LOG-01 follows the signed checkpoints', async () => {
    await insertAudit({ time: '2026-05-01T00:00:00Z', actor: 'carol', role: 'compliance-officer', operation: 'Decrypt', outcome: 'DENIED' });
    await insertAudit({ time: '2026-05-01T00:00:00Z', actor: 'carol', role: 'compliance-officer', operation: 'ReadAudit', outcome: 'SUCCESS' });
    expect((await control('KMS-AC-01')).status).toBe('PASS');
    await insertAudit({ time: '2026-05-01T00:00:00Z', actor: 'carol', role: 'compliance-officer', operation: 'Decrypt', outcome: 'SUCCESS' });
    expect(await control('KMS-AC-01')).toMatchObject({ status: 'FAIL', finding: '1 successful key use(s) by a compliance officer' });

    expect((await control('KMS-LOG-01', healthy)).status).toBe('PASS');
    expect((await control('KMS-LOG-01', { ...healthy, audit: 11 })).status).toBe('FAIL');
    expect((await control('KMS-LOG-01', { ...healthy, events: 11 })).status).toBe('FAIL');
  });
});
