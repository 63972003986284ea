import { isUuid, KEY_PURPOSES, PURPOSE_MAX_ROTATION_DAYS } from '@kms/domain';
import type { Pool } from 'pg';
import { HttpProblem } from './compliance-gateway';

type Query = Record<string, unknown>;

function text(q: Query, name: string, max = 256): string | undefined {
  const v = q[name];
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string' || v.length > max) throw new HttpProblem(400, 'INVALID_ARGUMENT', `${name}: must be one string of at most ${max} characters`, name);
  return v;
}

function time(q: Query, name: string): string | undefined {
  const v = text(q, name, 64);
  if (v === undefined) return undefined;
  if (Number.isNaN(Date.parse(v))) throw new HttpProblem(400, 'INVALID_ARGUMENT', `${name}: must be an ISO-8601 time`, name);
  return new Date(v).toISOString();
}

function uuid(q: Query, name: string): string | undefined {
  const v = text(q, name, 64);
  if (v !== undefined && !isUuid(v)) throw new HttpProblem(400, 'INVALID_ARGUMENT', `${name}: must be a UUID`, name);
  return v;
}

function limit(q: Query): number {
  const v = text(q, 'limit', 4);
  if (v === undefined) return 50;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 500) throw new HttpProblem(400, 'INVALID_ARGUMENT', 'limit: must be a whole number from 1 to 500', 'limit');
  return n;
}

function oneOf<T extends string>(q: Query, name: string, values: readonly T[]): T | undefined {
  const v = text(q, name, 64);
  if (v !== undefined && !(values as readonly string[]).includes(v)) {
    throw new HttpProblem(400, 'INVALID_ARGUMENT', `${name}: must be one of ${values.join(', ')}`, name);
  }
  return v as T | undefined;
}

/** Builds "WHERE a AND b" with numbered parameters. */
class Where {
  readonly params: unknown[] = [];
  private readonly parts: string[] = [];
  add(sqlWithQ: string, value: unknown): void {
    this.params.push(value);
    this.parts.push(sqlWithQ.replace('?', `$${this.params.length}`));
  }
  raw(sql: string): void {
    this.parts.push(sql);
  }
  next(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }
  toString(): string {
    return this.parts.length === 0 ? '' : `WHERE ${this.parts.join(' AND ')}`;
  }
}

/** Read-side queries of the compliance API, over the read models only. */
export class ComplianceQueries {
  constructor(
    private readonly pool: Pool,
    private readonly clock: { now(): Date },
  ) {}

  /** Keys by purpose, state, owner, label (k=v), jurisdiction label, overdue rotation; cursor = last key id. */
  async keys(q: Query): Promise<{ items: unknown[]; nextCursor: string | null }> {
    const w = new Where();
    const purpose = oneOf(q, 'purpose', KEY_PURPOSES);
    if (purpose) w.add('purpose = ?', purpose);
    const state = oneOf(q, 'state', ['Enabled', 'Disabled'] as const);
    if (state) w.add('status = ?', state);
    const owner = text(q, 'owner');
    if (owner) w.add('owner = ?', owner);
    const label = text(q, 'label');
    if (label) {
      const [k, ...rest] = label.split('=');
      if (!k || rest.length === 0) throw new HttpProblem(400, 'INVALID_ARGUMENT', 'label: must be key=value', 'label');
      w.add('labels @> ?::jsonb', JSON.stringify({ [k]: rest.join('=') }));
    }
    const jurisdiction = text(q, 'jurisdiction');
    if (jurisdiction) w.add(`labels->>'jurisdiction' = ?`, jurisdiction);
    const overdue = oneOf(q, 'overdue', ['true', 'false'] as const);
    if (overdue) w.add(overdue === 'true' ? 'next_rotation_at < ?' : 'next_rotation_at >= ?', this.clock.now().toISOString());
    const cursor = uuid(q, 'cursor');
    if (cursor) w.add('key_id > ?', cursor);
    const n = limit(q);
    const { rows } = await this.pool.query<{ key_id: string }>(
      `SELECT key_id, tenant, name, purpose, algorithm, protection_level, owner, labels, status, primary_version, min_decryption_version,
              rotation_period_days, created_at, primary_since, next_rotation_at
         FROM rm_keys ${w} ORDER BY key_id LIMIT ${n + 1}`,
      w.params,
    );
    const more = rows.length > n;
    const items = rows.slice(0, n);
    return { items, nextCursor: more ? items[items.length - 1].key_id : null };
  }

  /** A key's current row, versions and full state ledger. */
  async keyHistory(keyId: string): Promise<unknown> {
    const key = await this.pool.query('SELECT key_id, tenant, name, purpose, algorithm, protection_level, owner, labels, status, primary_version, min_decryption_version, rotation_period_days, created_at, primary_since, next_rotation_at FROM rm_keys WHERE key_id = $1', [keyId]);
    if (!key.rows[0]) throw new HttpProblem(404, 'KEY_NOT_FOUND', `key ${keyId} is not in the read model`, 'keyId');
    const versions = await this.pool.query('SELECT version, algorithm, protection_level, state, created_at, destroy_at, destroyed_at, public_key_fingerprint, origin FROM rm_key_versions WHERE key_id = $1 ORDER BY version', [keyId]);
    const ledger = await this.pool.query(
      'SELECT "position"::text AS position, version, event_type, from_state, to_state, occurred_at, actor, approvers, approval_id, change_ticket, reason FROM rm_key_state_ledger l WHERE key_id = $1 ORDER BY l."position"',
      [keyId],
    );
    return { key: key.rows[0], versions: versions.rows, stateLedger: ledger.rows };
  }

  /** Audit records filtered by time range, actor, key, operation, outcome; cursor = last position. */
  async auditRecords(q: Query): Promise<{ items: unknown[]; nextCursor: string | null }> {
    const w = new Where();
    const from = time(q, 'from');
    if (from) w.add('"time" >= ?', from);
    const to = time(q, 'to');
    if (to) w.add('"time" < ?', to);
    const actor = text(q, 'actor');
    if (actor) w.add('actor = ?', actor);
    const keyId = uuid(q, 'keyId');
    if (keyId) w.add('key_id = ?', keyId);
    const operation = text(q, 'operation', 64);
    if (operation) w.add('operation = ?', operation);
    const outcome = oneOf(q, 'outcome', ['SUCCESS', 'FAILURE', 'DENIED'] as const);
    if (outcome) w.add('outcome = ?', outcome);
    const cursor = text(q, 'cursor', 20);
    if (cursor) {
      if (!/^\d+$/.test(cursor)) throw new HttpProblem(400, 'INVALID_ARGUMENT', 'cursor: must be a position returned as nextCursor', 'cursor');
      w.add('"position" > ?::bigint', cursor);
    }
    const n = limit(q);
    const { rows } = await this.pool.query<{ position: string }>(
      `SELECT "position"::text AS position, id, "time", actor, role, operation, key_id, key_version, outcome, error_code, request_id, source_address,
              details, leaf_index::text AS leaf_index
         FROM rm_audit_log a ${w} ORDER BY a."position" LIMIT ${n + 1}`,
      w.params,
    );
    const more = rows.length > n;
    const items = rows.slice(0, n);
    return { items, nextCursor: more ? items[items.length - 1].position : null };
  }

  async approvals(q: Query): Promise<{ items: unknown[] }> {
    const w = new Where();
    const target = text(q, 'targetId', 64);
    if (target) w.add('target_id = ?', target);
    const status = oneOf(q, 'status', ['Pending', 'Approved', 'Executed', 'ExecutionFailed', 'Rejected', 'Expired'] as const);
    if (status) w.add('status = ?', status);
    const { rows } = await this.pool.query(
      `SELECT approval_id, operation, target_id, requester, change_ticket, reason, status, approver, requested_at, expires_at, decided_at, error_code
         FROM rm_approvals ${w} ORDER BY requested_at, approval_id LIMIT ${limit(q)}`,
      w.params,
    );
    return { items: rows };
  }

  /** The policy's controls (shared/seeds/002), each with a status computed from the read models and links to evidence. */
  async controls(ledgerHealthy: { events: number; audit: number; eventsCheckpoint: number; auditCheckpoint: number }): Promise<unknown[]> {
    const now = this.clock.now().toISOString();
    const out: unknown[] = [];
    for (const purpose of KEY_PURPOSES) {
      const { rows } = await this.pool.query<{ key_id: string }>(
        `SELECT key_id FROM rm_keys WHERE purpose = $1 AND status = 'Enabled' AND next_rotation_at < $2 ORDER BY key_id`,
        [purpose, now],
      );
      const total = await this.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM rm_keys WHERE purpose = $1', [purpose]);
      out.push({
        id: `KMS-ROT-${purpose}`,
        requirement: `Rotate ${purpose} keys at least every ${PURPOSE_MAX_ROTATION_DAYS[purpose]} days`,
        status: total.rows[0].n === 0 ? 'NOT_APPLICABLE' : rows.length === 0 ? 'PASS' : 'FAIL',
        finding: rows.length === 0 ? `${total.rows[0].n} key(s), none overdue` : `${rows.length} key(s) overdue for rotation`,
        evidence: [`/v1/keys?purpose=${purpose}&overdue=true`, ...rows.map((r) => `/v1/keys/${r.key_id}/history`)],
      });
    }
    const early = await this.pool.query<{ key_id: string; version: number }>(
      `SELECT v.key_id, v.version FROM rm_key_versions v JOIN rm_keys k USING (key_id)
        WHERE k.purpose IN ('ROOT_TENANT', 'SERVICE_ENVELOPE') AND v.destroyed_at IS NOT NULL AND v.destroyed_at < v.created_at + interval '365 days'`,
    );
    out.push({
      id: 'KMS-RET-01',
      requirement: 'Retain expired root and service keys for 365 days',
      status: early.rows.length === 0 ? 'PASS' : 'FAIL',
      finding: early.rows.length === 0 ? 'no root or service key version was destroyed within 365 days of creation' : `${early.rows.length} version(s) destroyed early`,
      evidence: early.rows.map((r) => `/v1/keys/${r.key_id}/history`),
    });
    const selfApproved = await this.pool.query<{ approval_id: string }>(
      `SELECT approval_id FROM rm_approvals WHERE status IN ('Approved', 'Executed', 'ExecutionFailed') AND (approver IS NULL OR approver = requester)`,
    );
    const unapproved = await this.pool.query<{ position: string }>(
      `SELECT "position"::text AS position FROM rm_key_state_ledger WHERE approval_id IS NOT NULL AND (cardinality(approvers) = 0 OR actor = ANY(approvers))`,
    );
    const bad = selfApproved.rows.length + unapproved.rows.length;
    out.push({
      id: 'KMS-AC-02',
      requirement: 'Manual operations require dual authorization with recorded change approvals',
      status: bad === 0 ? 'PASS' : 'FAIL',
      finding: bad === 0 ? 'every approved change names a second person and a change ticket' : `${bad} change(s) without an independent approver`,
      evidence: ['/v1/approvals', ...selfApproved.rows.map((r) => `/v1/approvals?targetId=${r.approval_id}`)],
    });
    const complianceUse = await this.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM rm_audit_log WHERE role LIKE '%compliance-officer%' AND outcome = 'SUCCESS'
         AND operation IN ('Encrypt','Decrypt','ReEncrypt','GenerateDataKey','Sign','Verify','GenerateMac','VerifyMac','BatchEncrypt','BatchDecrypt','BatchReEncrypt')`,
    );
    out.push({
      id: 'KMS-AC-01',
      requirement: 'Least privilege: only SRE on-call, security engineering and compliance may act; compliance never uses keys',
      status: complianceUse.rows[0].n === 0 ? 'PASS' : 'FAIL',
      finding: `${complianceUse.rows[0].n} successful key use(s) by a compliance officer`,
      evidence: ['/v1/audit-records?outcome=DENIED'],
    });
    const logged = ledgerHealthy.audit > 0 && ledgerHealthy.auditCheckpoint >= ledgerHealthy.audit && ledgerHealthy.eventsCheckpoint >= ledgerHealthy.events;
    out.push({
      id: 'KMS-LOG-01',
      requirement: 'Log every KMS operation to immutable storage',
      status: logged ? 'PASS' : ledgerHealthy.audit === 0 ? 'NOT_EVALUATED' : 'FAIL',
      finding: `${ledgerHealthy.audit} audit record(s) and ${ledgerHealthy.events} event(s) in the Merkle ledger; signed checkpoints cover ${ledgerHealthy.auditCheckpoint} and ${ledgerHealthy.eventsCheckpoint}`,
      evidence: ['/v1/ledger/audit/checkpoint', '/v1/ledger/events/checkpoint', '/v1/audit-records'],
    });
    const softRoots = await this.pool.query<{ key_id: string }>(
      `SELECT DISTINCT k.key_id FROM rm_keys k JOIN rm_key_versions v USING (key_id)
        WHERE k.purpose = 'ROOT_TENANT' AND v.state <> 'DESTROYED' AND (v.protection_level <> 'HSM' OR v.origin IS NULL) ORDER BY k.key_id`,
    );
    const roots = await this.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM rm_keys WHERE purpose = 'ROOT_TENANT'`);
    out.push({
      id: 'KMS-HSM-01',
      requirement: 'Root tenant keys are generated in an HSM',
      status: roots.rows[0].n === 0 ? 'NOT_APPLICABLE' : softRoots.rows.length === 0 ? 'PASS' : 'FAIL',
      finding: `${softRoots.rows.length} root key(s) with a version lacking HSM origin evidence`,
      evidence: softRoots.rows.map((r) => `/v1/evidence/keys/${r.key_id}`),
    });
    out.push({
      id: 'KMS-BAK-01',
      requirement: 'Nightly backups in tamper-evident storage, monthly restore drills',
      status: 'NOT_EVALUATED',
      finding: 'the KMS records no backup or drill events yet',
      evidence: [],
    });
    return out;
  }
}
