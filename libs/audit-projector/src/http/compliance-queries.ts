import {
  DAY_MS,
  DEFAULT_JURISDICTION,
  escrowCeremonyDecider,
  type EscrowCeremonyEvent,
  escrowCeremonyEventCodec,
  type EscrowCeremonyState,
  escrowCeremonyStreamTarget,
  type DrillLogState,
  drillStatus,
  isUuid,
  type Jurisdiction,
  type LegalArtifactKind,
  type LegalArtifactState,
  KEY_PURPOSES,
  pendingDeclarations,
  PURPOSE_MAX_ROTATION_DAYS,
} from '@kms/domain';
import type { EventLeafRecord } from '@kms/ledger';
import { type DataSource, In, LessThan, type Repository } from 'typeorm';
import { ApprovalEntity } from '../read-model/approval.entity';
import { AuditLogEntity } from '../read-model/audit-log.entity';
import { KeyStateLedgerEntity } from '../read-model/key-state-ledger.entity';
import { KeyVersionEntity } from '../read-model/key-version.entity';
import { KeyEntity } from '../read-model/key.entity';
import { LedgerLeafEntity } from '../read-model/ledger-leaf.entity';
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

/** A key as the API shows it: the filterable columns, never the folded record. */
/**
 * A key's jurisdiction in the read model: the key's own (CreateKey), or — for keys without one
 * (`default`, e.g. created before jurisdictions existed) — their `jurisdiction` label, else `default`.
 */
const KEY_JURISDICTION = `COALESCE(NULLIF(k.record ->> 'jurisdiction', '${DEFAULT_JURISDICTION}'), k.labels ->> 'jurisdiction', '${DEFAULT_JURISDICTION}')`;

function jurisdictionOf(k: KeyEntity): string {
  const own = k.record?.jurisdiction;
  return own && own !== DEFAULT_JURISDICTION ? own : (k.labels['jurisdiction'] ?? DEFAULT_JURISDICTION);
}

/** An HSM instance as declared (KMS_HSM_INSTANCES), for the per-jurisdiction view. */
export interface DeclaredHsm {
  id: string;
  jurisdiction: string;
  provider: string;
  environment: string;
  certifications: readonly string[];
  evidenceOwner?: string;
  evidenceRetention?: string;
}

/** A registered legal artifact with the id of the event that registered it (its ledger record id). */
export type RegisteredLegalArtifact = LegalArtifactState & { ledgerRecordId: string };

/**
 * Which legal appendix documents bear on which control, per jurisdiction column: the custody
 * control (keys generated and held in that jurisdiction's HSM) on the transfer impact assessment and
 * the provider's statements; break-glass escrow on the emergency access plan. Other kinds (OTHER)
 * are listed by the column's `legal_appendix` link only.
 */
const LEGAL_KINDS_BY_CONTROL: Readonly<Record<string, readonly LegalArtifactKind[]>> = {
  'KMS-HSM-01': ['DTIA', 'PROVIDER_STATEMENT'],
  'KMS-ESC-01': ['EMERGENCY_ACCESS_PLAN'],
};

/** Where evidence is retained when an environment declares nothing else: the KMS's own ledger. */
const LEDGER_RETENTION = 'KMS audit ledger (hash-anchored, signed checkpoints)';
/** Who answers for evidence when an environment declares nothing else. */
const DEFAULT_EVIDENCE_OWNER = 'compliance-officer';

/** A row of the control matrix. */
/** A nightly backup with some slack for a late run: older than this, KMS-BAK-02 fails. */
const NIGHTLY_BACKUP_HOURS = 26;

interface ControlRow {
  id: string;
  requirement: string;
  status: 'PASS' | 'FAIL' | 'NOT_APPLICABLE' | 'NOT_EVALUATED';
  finding: string;
  evidence: string[];
}

/** One evidence column of the control matrix: an environment kind in a jurisdiction, and its HSM instances. */
interface EvidenceColumn {
  environment: string;
  jurisdiction: string;
  hsms: DeclaredHsm[];
}

/** The columns: one per (environment kind, jurisdiction) pair the configuration declares, in a stable order. */
function evidenceColumns(declared: readonly DeclaredHsm[]): EvidenceColumn[] {
  const columns = new Map<string, EvidenceColumn>();
  for (const h of declared) {
    const key = `${h.environment}/${h.jurisdiction}`;
    const column = columns.get(key) ?? { environment: h.environment, jurisdiction: h.jurisdiction, hsms: [] };
    column.hsms.push(h);
    columns.set(key, column);
  }
  return [...columns.values()].sort((a, b) => `${a.environment}/${a.jurisdiction}`.localeCompare(`${b.environment}/${b.jurisdiction}`));
}

/**
 * What proves a control in one environment column: an artifact of that environment where the KMS
 * produces one, otherwise the compensating evidence (the central artifact that covers every
 * environment), with the owner and retention location the environment declares.
 */
function columnEvidence(control: ControlRow, column: EvidenceColumn, legal: readonly RegisteredLegalArtifact[]): Record<string, unknown> {
  const j = encodeURIComponent(column.jurisdiction);
  const owner = [...new Set(column.hsms.map((h) => h.evidenceOwner ?? DEFAULT_EVIDENCE_OWNER))].join(', ');
  const retention = [...new Set(column.hsms.map((h) => h.evidenceRetention ?? LEDGER_RETENTION))].join(', ');
  const kinds = LEGAL_KINDS_BY_CONTROL[control.id];
  const base = {
    environment: column.environment,
    jurisdiction: column.jurisdiction,
    hsm_instances: column.hsms.map((h) => h.id),
    owner,
    retention,
    legal_appendix: `/v1/legal-artifacts?jurisdiction=${j}`,
    ...(kinds
      ? {
          legal_artifacts: legal
            .filter((a) => kinds.includes(a.kind))
            .map((a) => ({
              artifactId: a.artifactId,
              kind: a.kind,
              title: a.title,
              sha256: a.sha256,
              hashOrigin: a.hashOrigin,
              owner: a.owner,
              retentionLocation: a.retentionLocation,
              ...(a.url ? { url: a.url } : {}),
              inclusion_proof: `/v1/ledger/events/inclusion?recordId=${encodeURIComponent(a.ledgerRecordId)}`,
            })),
        }
      : {}),
  };
  if (control.id === 'KMS-HSM-01') return { ...base, artifacts: column.hsms.map((h) => `/v1/evidence/hsms/${h.id}`) };
  if (control.id.startsWith('KMS-ROT-')) return { ...base, artifacts: [`/v1/keys?purpose=${control.id.slice('KMS-ROT-'.length)}&jurisdiction=${j}&overdue=true`] };
  if (control.id === 'KMS-RET-01') return { ...base, artifacts: [`/v1/keys?jurisdiction=${j}`] };
  return {
    ...base,
    compensating_evidence: `central control, the same in every environment: ${control.evidence[0] ?? 'no artifact is recorded yet'}`,
  };
}

function keyView(k: KeyEntity): Record<string, unknown> {
  return {
    key_id: k.keyId,
    tenant: k.tenant,
    name: k.name,
    purpose: k.purpose,
    algorithm: k.algorithm,
    protection_level: k.protectionLevel,
    owner: k.owner,
    labels: k.labels,
    jurisdiction: jurisdictionOf(k),
    status: k.status,
    primary_version: k.primaryVersion,
    min_decryption_version: k.minDecryptionVersion,
    rotation_period_days: k.rotationPeriodDays,
    created_at: k.createdAt,
    primary_since: k.primarySince,
    next_rotation_at: k.nextRotationAt,
  };
}

function versionView(v: KeyVersionEntity): Record<string, unknown> {
  return {
    version: v.version,
    algorithm: v.algorithm,
    protection_level: v.protectionLevel,
    state: v.state,
    created_at: v.createdAt,
    destroy_at: v.destroyAt,
    destroyed_at: v.destroyedAt,
    public_key_fingerprint: v.publicKeyFingerprint,
    origin: v.origin,
  };
}

function stateChangeView(l: KeyStateLedgerEntity): Record<string, unknown> {
  return {
    position: l.position,
    version: l.version,
    event_type: l.eventType,
    from_state: l.fromState,
    to_state: l.toState,
    occurred_at: l.occurredAt,
    actor: l.actor,
    approvers: l.approvers,
    approval_id: l.approvalId,
    change_ticket: l.changeTicket,
    reason: l.reason,
  };
}

function auditView(a: AuditLogEntity): Record<string, unknown> {
  return {
    position: a.position,
    id: a.id,
    time: a.time,
    actor: a.actor,
    role: a.role,
    operation: a.operation,
    key_id: a.keyId,
    key_version: a.keyVersion,
    outcome: a.outcome,
    error_code: a.errorCode,
    request_id: a.requestId,
    source_address: a.sourceAddress,
    details: a.details,
    leaf_index: a.leafIndex,
  };
}

function approvalView(a: ApprovalEntity): Record<string, unknown> {
  return {
    approval_id: a.approvalId,
    operation: a.operation,
    target_id: a.targetId,
    requester: a.requester,
    change_ticket: a.changeTicket,
    reason: a.reason,
    status: a.status,
    approver: a.approver,
    requested_at: a.requestedAt,
    expires_at: a.expiresAt,
    decided_at: a.decidedAt,
    error_code: a.errorCode,
  };
}

/** How often a break-glass key is resealed and drilled at least (policy: "sealed and rotated every 30 days"). */
const ESCROW_PERIOD_DAYS = 30;

/** A break-glass key's escrow as the compliance API shows it: current seal, custodians, last drill, pending declarations. */
export interface EscrowView {
  key_id: string;
  name: string;
  primary_version: number;
  current_seal: { version: number; ceremony_id: string; status: string; threshold: number; share_count: number; custodians: string[]; counter_signed: string[]; sealed_at: string | null } | null;
  last_drill_at: string | null;
  pending_declarations: Array<{ version: number; ceremony_id: string; custodians: string[]; declare_by: string | null; overdue: boolean }>;
  findings: string[];
}

const KEY_USE_OPERATIONS = ['Encrypt', 'Decrypt', 'ReEncrypt', 'GenerateDataKey', 'Sign', 'Verify', 'GenerateMac', 'VerifyMac', 'BatchEncrypt', 'BatchDecrypt', 'BatchReEncrypt', 'AsymmetricDecrypt', 'Decapsulate'];

/** Read-side queries of the compliance API, over the read models only (TypeORM repositories and query builders). */
export class ComplianceQueries {
  private readonly keyRows: Repository<KeyEntity>;
  private readonly versionRows: Repository<KeyVersionEntity>;
  private readonly stateLedgerRows: Repository<KeyStateLedgerEntity>;
  private readonly approvalRows: Repository<ApprovalEntity>;
  private readonly auditRows: Repository<AuditLogEntity>;
  private readonly leafRows: Repository<LedgerLeafEntity>;

  constructor(
    dataSource: DataSource,
    private readonly clock: { now(): Date },
    /** The drill log as the event store holds it (docs/backup-and-drills.md); without it drills are not evaluated. */
    private readonly drillLog?: () => Promise<DrillLogState>,
    /** A jurisdiction's legal appendix (docs/jurisdictions.md): the control matrix's columns point at it. */
    private readonly legalArtifacts?: (jurisdiction: Jurisdiction) => Promise<RegisteredLegalArtifact[]>,
  ) {
    this.keyRows = dataSource.getRepository(KeyEntity);
    this.versionRows = dataSource.getRepository(KeyVersionEntity);
    this.stateLedgerRows = dataSource.getRepository(KeyStateLedgerEntity);
    this.approvalRows = dataSource.getRepository(ApprovalEntity);
    this.auditRows = dataSource.getRepository(AuditLogEntity);
    this.leafRows = dataSource.getRepository(LedgerLeafEntity);
  }

  /** Keys by purpose, state, owner, label (k=v), jurisdiction, overdue rotation; cursor = last key id. */
  async keys(q: Query): Promise<{ items: unknown[]; nextCursor: string | null }> {
    const qb = this.keyRows.createQueryBuilder('k');
    const purpose = oneOf(q, 'purpose', KEY_PURPOSES);
    if (purpose) qb.andWhere('k.purpose = :purpose', { purpose });
    const state = oneOf(q, 'state', ['Enabled', 'Disabled'] as const);
    if (state) qb.andWhere('k.status = :state', { state });
    const owner = text(q, 'owner');
    if (owner) qb.andWhere('k.owner = :owner', { owner });
    const label = text(q, 'label');
    if (label) {
      const [k, ...rest] = label.split('=');
      if (!k || rest.length === 0) throw new HttpProblem(400, 'INVALID_ARGUMENT', 'label: must be key=value', 'label');
      qb.andWhere('k.labels @> CAST(:label AS jsonb)', { label: JSON.stringify({ [k]: rest.join('=') }) });
    }
    const jurisdiction = text(q, 'jurisdiction');
    if (jurisdiction) qb.andWhere(`${KEY_JURISDICTION} = :jurisdiction`, { jurisdiction: jurisdiction.toLowerCase() });
    const overdue = oneOf(q, 'overdue', ['true', 'false'] as const);
    if (overdue) qb.andWhere(overdue === 'true' ? 'k.nextRotationAt < :now' : 'k.nextRotationAt >= :now', { now: this.clock.now() });
    const cursor = uuid(q, 'cursor');
    if (cursor) qb.andWhere('k.keyId > :cursor', { cursor });
    const n = limit(q);
    const rows = await qb.orderBy('k.keyId').limit(n + 1).getMany();
    const more = rows.length > n;
    const items = rows.slice(0, n);
    return { items: items.map(keyView), nextCursor: more ? items[items.length - 1].keyId : null };
  }

  /**
   * Keys grouped by jurisdiction: how many, by protection level and status, with the HSM instances
   * declared there (and where their attestation bundle is). Every jurisdiction with a key or an HSM.
   */
  async jurisdictions(declared: readonly DeclaredHsm[]): Promise<{ jurisdictions: unknown[] }> {
    const rows = await this.keyRows
      .createQueryBuilder('k')
      .select(KEY_JURISDICTION, 'jurisdiction')
      .addSelect('k.protectionLevel', 'protectionLevel')
      .addSelect('k.status', 'status')
      .addSelect('count(*)::int', 'n')
      .groupBy(`${KEY_JURISDICTION}, k.protectionLevel, k.status`)
      .getRawMany<{ jurisdiction: string; protectionLevel: string; status: string; n: number }>();
    const names = [...new Set([...rows.map((r) => r.jurisdiction), ...declared.map((h) => h.jurisdiction)])].sort();
    return {
      jurisdictions: names.map((jurisdiction) => {
        const mine = rows.filter((r) => r.jurisdiction === jurisdiction);
        const count = (field: 'protectionLevel' | 'status') => Object.fromEntries([...new Set(mine.map((r) => r[field]))].sort().map((v) => [v, mine.filter((r) => r[field] === v).reduce((a, r) => a + r.n, 0)]));
        return {
          jurisdiction,
          keys: mine.reduce((a, r) => a + r.n, 0),
          by_protection_level: count('protectionLevel'),
          by_status: count('status'),
          keys_url: `/v1/keys?jurisdiction=${encodeURIComponent(jurisdiction)}`,
          hsm_instances: declared
            .filter((h) => h.jurisdiction === jurisdiction)
            .map((h) => ({ id: h.id, provider: h.provider, environment: h.environment, certifications: [...h.certifications], attestation_bundle: `/v1/evidence/hsms/${h.id}` })),
        };
      }),
    };
  }

  /** A key's current row, versions and full state ledger. */
  async keyHistory(keyId: string): Promise<unknown> {
    const key = await this.keyRows.findOneBy({ keyId });
    if (!key) throw new HttpProblem(404, 'KEY_NOT_FOUND', `key ${keyId} is not in the read model`, 'keyId');
    const versions = await this.versionRows.find({ where: { keyId }, order: { version: 'ASC' } });
    const ledger = await this.stateLedgerRows.find({ where: { keyId }, order: { position: 'ASC' } });
    return { key: keyView(key), versions: versions.map(versionView), stateLedger: ledger.map(stateChangeView) };
  }

  /** Audit records filtered by time range, actor, key, operation, outcome; cursor = last position. */
  async auditRecords(q: Query): Promise<{ items: unknown[]; nextCursor: string | null }> {
    const qb = this.auditRows.createQueryBuilder('a');
    const from = time(q, 'from');
    if (from) qb.andWhere('a.time >= :from', { from });
    const to = time(q, 'to');
    if (to) qb.andWhere('a.time < :to', { to });
    const actor = text(q, 'actor');
    if (actor) qb.andWhere('a.actor = :actor', { actor });
    const keyId = uuid(q, 'keyId');
    if (keyId) qb.andWhere('a.keyId = :keyId', { keyId });
    const operation = text(q, 'operation', 64);
    if (operation) qb.andWhere('a.operation = :operation', { operation });
    const outcome = oneOf(q, 'outcome', ['SUCCESS', 'FAILURE', 'DENIED'] as const);
    if (outcome) qb.andWhere('a.outcome = :outcome', { outcome });
    const cursor = text(q, 'cursor', 20);
    if (cursor) {
      if (!/^\d+$/.test(cursor)) throw new HttpProblem(400, 'INVALID_ARGUMENT', 'cursor: must be a position returned as nextCursor', 'cursor');
      qb.andWhere('a.position > CAST(:cursor AS bigint)', { cursor });
    }
    const n = limit(q);
    const rows = await qb.orderBy('a.position').limit(n + 1).getMany();
    const more = rows.length > n;
    const items = rows.slice(0, n);
    return { items: items.map(auditView), nextCursor: more ? items[items.length - 1].position : null };
  }

  async approvals(q: Query): Promise<{ items: unknown[] }> {
    const qb = this.approvalRows.createQueryBuilder('p');
    const target = text(q, 'targetId', 64);
    if (target) qb.andWhere('p.targetId = :target', { target });
    const status = oneOf(q, 'status', ['Pending', 'Approved', 'Executed', 'ExecutionFailed', 'Rejected', 'Expired'] as const);
    if (status) qb.andWhere('p.status = :status', { status });
    const rows = await qb.orderBy('p.requestedAt').addOrderBy('p.approvalId').limit(limit(q)).getMany();
    const told = await this.notificationsOf(rows);
    return { items: rows.map((r) => ({ ...approvalView(r), notifications: told.get(r.approvalId) ?? [] })) };
  }

  /**
   * Who compliance told about these approvals (docs/notifications.md): the ledgered delivery events
   * of their keys, by approval, oldest first.
   */
  private async notificationsOf(rows: ApprovalEntity[]): Promise<Map<string, unknown[]>> {
    const keys = [...new Set(rows.map((r) => r.targetId).filter((t) => isUuid(t)))];
    const out = new Map<string, unknown[]>();
    if (keys.length === 0) return out;
    const wanted = new Set(rows.map((r) => r.approvalId));
    const leaves = await this.leafRows
      .createQueryBuilder('l')
      .select(['l.log', 'l.leafIndex', 'l.leafData'])
      .where("l.log = 'events'")
      .andWhere('l.subjectKeyId IN (:...keys)', { keys })
      .andWhere("position(convert_to('NotificationDeliver', 'UTF8') in l.leafData) > 0")
      .orderBy('l.leafIndex')
      .getMany();
    for (const leaf of leaves) {
      const e = JSON.parse(leaf.leafData.toString('utf8')) as { type?: string; data?: Record<string, unknown> };
      const d = e.data ?? {};
      const approvalId = typeof d['approvalId'] === 'string' ? d['approvalId'] : '';
      if ((e.type !== 'NotificationDelivered' && e.type !== 'NotificationDeliveryFailed') || !wanted.has(approvalId)) continue;
      out.set(approvalId, [
        ...(out.get(approvalId) ?? []),
        {
          kind: d['kind'],
          outcome: e.type === 'NotificationDelivered' ? 'DELIVERED' : 'DEAD_LETTERED',
          list: d['list'],
          channel: d['channel'],
          recipients: d['recipients'],
          at: d['at'],
          attempts: d['attempts'],
          ...(d['smtpMessageId'] !== undefined ? { smtp_message_id: d['smtpMessageId'] } : {}),
          ...(d['httpStatus'] !== undefined ? { http_status: d['httpStatus'] } : {}),
          ...(d['error'] !== undefined ? { error: d['error'] } : {}),
        },
      ]);
    }
    return out;
  }

  /**
   * Each break-glass key's escrow (docs/break-glass.md), folded from its ledgered escrow ceremony
   * events: the seal of its primary version, its custodians, the last drill and the declarations
   * still owed for superseded packages. `findings` says what the control KMS-ESC-01 holds against it.
   */
  async escrow(): Promise<EscrowView[]> {
    const now = this.clock.now().getTime();
    const keys = await this.keyRows.find({ select: { keyId: true, name: true, primaryVersion: true }, where: { purpose: 'BREAK_GLASS' }, order: { keyId: 'ASC' } });
    const out: EscrowView[] = [];
    for (const k of keys) {
      const leaves = await this.leafRows.find({ select: { leafIndex: true, leafData: true }, where: { log: 'events', subjectKeyId: k.keyId }, order: { leafIndex: 'ASC' } });
      const ceremonies = new Map<number, { state: EscrowCeremonyState; sealedAt: string | null }>();
      for (const l of leaves) {
        const e = JSON.parse(l.leafData.toString('utf8')) as EventLeafRecord;
        const target = escrowCeremonyStreamTarget(e.streamId);
        if (!target || !escrowCeremonyEventCodec.accepts(e.type)) continue;
        const event = escrowCeremonyEventCodec.parse(e as unknown as { type: string; data: Record<string, unknown>; metadata: Record<string, unknown> }) as EscrowCeremonyEvent;
        const c = ceremonies.get(target.version) ?? { state: escrowCeremonyDecider.initialState(), sealedAt: null };
        ceremonies.set(target.version, { state: escrowCeremonyDecider.evolve(c.state, event), sealedAt: event.type === 'SealingTranscriptSigned' ? event.metadata.occurredAt : c.sealedAt });
      }
      const primary = ceremonies.get(k.primaryVersion);
      const lastDrillAt = [...ceremonies.values()].map((c) => c.state.lastDrillAt).filter((t): t is string => t !== null).sort().at(-1) ?? null;
      const pending = [...ceremonies.entries()]
        .filter(([, c]) => pendingDeclarations(c.state).length > 0)
        .map(([version, c]) => ({
          version,
          ceremony_id: c.state.ceremonyId,
          custodians: pendingDeclarations(c.state),
          declare_by: c.state.declareBy,
          overdue: c.state.declareBy !== null && Date.parse(c.state.declareBy) <= now,
        }));
      const findings: string[] = [];
      if (!primary || primary.state.status === 'NONE') findings.push(`primary version ${k.primaryVersion} is not sealed in escrow`);
      else if (primary.state.status !== 'SEALED') findings.push(`primary version ${k.primaryVersion} is ${primary.state.status}: not every custodian counter-signed`);
      if (primary?.sealedAt && now - Date.parse(primary.sealedAt) > ESCROW_PERIOD_DAYS * DAY_MS) findings.push(`sealed more than ${ESCROW_PERIOD_DAYS} days ago`);
      for (const p of pending.filter((x) => x.overdue)) findings.push(`declarations for version ${p.version} overdue from ${p.custodians.join(', ')}`);
      if (lastDrillAt === null || now - Date.parse(lastDrillAt) > ESCROW_PERIOD_DAYS * DAY_MS) findings.push(`no recovery drill in the last ${ESCROW_PERIOD_DAYS} days`);
      out.push({
        key_id: k.keyId,
        name: k.name,
        primary_version: k.primaryVersion,
        current_seal: primary && primary.state.status !== 'NONE'
          ? {
              version: k.primaryVersion,
              ceremony_id: primary.state.ceremonyId,
              status: primary.state.status,
              threshold: primary.state.threshold,
              share_count: primary.state.shareCount,
              custodians: primary.state.participants.map((p) => p.custodianId),
              counter_signed: primary.state.participants.filter((p) => p.counterSigned).map((p) => p.custodianId),
              sealed_at: primary.sealedAt,
            }
          : null,
        last_drill_at: lastDrillAt,
        pending_declarations: pending,
        findings,
      });
    }
    return out;
  }

  /** The policy's controls (docs/policy.md), each with a status computed from the read models and links to evidence. */
  /**
   * The control matrix; with HSM instances declared, each control gains one evidence column per
   * environment kind and jurisdiction (`evidence_by_environment`).
   */
  async controls(ledgerHealthy: { events: number; audit: number; eventsCheckpoint: number; auditCheckpoint: number }, declared: readonly DeclaredHsm[] = []): Promise<unknown[]> {
    const rows = await this.controlRows(ledgerHealthy);
    const columns = evidenceColumns(declared);
    if (columns.length === 0) return rows;
    const legal = new Map<string, RegisteredLegalArtifact[]>();
    for (const j of new Set(columns.map((c) => c.jurisdiction))) {
      legal.set(j, this.legalArtifacts ? (await this.legalArtifacts(j as Jurisdiction)).filter((a) => a.status === 'ACTIVE') : []);
    }
    return rows.map((c) => ({ ...c, evidence_by_environment: columns.map((column) => columnEvidence(c, column, legal.get(column.jurisdiction) ?? [])) }));
  }

  private async controlRows(ledgerHealthy: { events: number; audit: number; eventsCheckpoint: number; auditCheckpoint: number }): Promise<ControlRow[]> {
    const now = this.clock.now();
    const out: ControlRow[] = [];
    for (const purpose of KEY_PURPOSES) {
      const overdue = await this.keyRows.find({
        select: { keyId: true },
        where: { purpose, status: 'Enabled', nextRotationAt: LessThan(now) },
        order: { keyId: 'ASC' },
      });
      const total = await this.keyRows.countBy({ purpose });
      out.push({
        id: `KMS-ROT-${purpose}`,
        requirement: `Rotate ${purpose} keys at least every ${PURPOSE_MAX_ROTATION_DAYS[purpose]} days`,
        status: total === 0 ? 'NOT_APPLICABLE' : overdue.length === 0 ? 'PASS' : 'FAIL',
        finding: overdue.length === 0 ? `${total} key(s), none overdue` : `${overdue.length} key(s) overdue for rotation`,
        evidence: [`/v1/keys?purpose=${purpose}&overdue=true`, ...overdue.map((r) => `/v1/keys/${r.keyId}/history`)],
      });
    }
    const early = await this.versionRows
      .createQueryBuilder('v')
      .select(['v.keyId', 'v.version'])
      .innerJoin(KeyEntity, 'k', 'k.keyId = v.keyId')
      .where('k.purpose IN (:...purposes)', { purposes: ['ROOT_TENANT', 'SERVICE_ENVELOPE'] })
      .andWhere('v.destroyedAt IS NOT NULL')
      .andWhere(`v.destroyedAt < v.createdAt + interval '365 days'`)
      .getMany();
    out.push({
      id: 'KMS-RET-01',
      requirement: 'Retain expired root and service keys for 365 days',
      status: early.length === 0 ? 'PASS' : 'FAIL',
      finding: early.length === 0 ? 'no root or service key version was destroyed within 365 days of creation' : `${early.length} version(s) destroyed early`,
      evidence: early.map((r) => `/v1/keys/${r.keyId}/history`),
    });
    const selfApproved = await this.approvalRows
      .createQueryBuilder('p')
      .select(['p.approvalId'])
      .where('p.status IN (:...decided)', { decided: ['Approved', 'Executed', 'ExecutionFailed'] })
      .andWhere('(p.approver IS NULL OR p.approver = p.requester)')
      .getMany();
    const unapproved = await this.stateLedgerRows
      .createQueryBuilder('l')
      .where('l.approvalId IS NOT NULL')
      .andWhere('(cardinality(l.approvers) = 0 OR l.actor = ANY(l.approvers))')
      .getCount();
    const bad = selfApproved.length + unapproved;
    out.push({
      id: 'KMS-AC-02',
      requirement: 'Manual operations require dual authorization with recorded change approvals',
      status: bad === 0 ? 'PASS' : 'FAIL',
      finding: bad === 0 ? 'every approved change names a second person and a change ticket' : `${bad} change(s) without an independent approver`,
      evidence: ['/v1/approvals', ...selfApproved.map((r) => `/v1/approvals?targetId=${r.approvalId}`)],
    });
    const complianceUse = await this.auditRows
      .createQueryBuilder('a')
      // Literally the predicate of rm_audit_log_compliance_use_idx, so the count reads that index only.
      .where(`a.role LIKE '%compliance-officer%'`)
      .andWhere(`a.outcome = 'SUCCESS'`)
      .andWhere({ operation: In(KEY_USE_OPERATIONS) })
      .getCount();
    out.push({
      id: 'KMS-AC-01',
      requirement: 'Least privilege: only SRE on-call, security engineering and compliance may act; compliance never uses keys',
      status: complianceUse === 0 ? 'PASS' : 'FAIL',
      finding: `${complianceUse} successful key use(s) by a compliance officer`,
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
    // getMany() returns each key once however many of its versions match.
    const softRoots = await this.keyRows
      .createQueryBuilder('k')
      .select(['k.keyId'])
      .innerJoin(KeyVersionEntity, 'v', `v.keyId = k.keyId AND v.state <> 'DESTROYED' AND (v.protectionLevel <> 'HSM' OR v.origin IS NULL)`)
      .where('k.purpose = :root', { root: 'ROOT_TENANT' })
      .orderBy('k.keyId')
      .getMany();
    const roots = await this.keyRows.countBy({ purpose: 'ROOT_TENANT' });
    out.push({
      id: 'KMS-HSM-01',
      requirement: 'Root tenant keys are generated in an HSM',
      status: roots === 0 ? 'NOT_APPLICABLE' : softRoots.length === 0 ? 'PASS' : 'FAIL',
      finding: `${softRoots.length} root key(s) with a version lacking HSM origin evidence`,
      evidence: softRoots.map((r) => `/v1/evidence/keys/${r.keyId}`),
    });
    const escrow = await this.escrow();
    const failing = escrow.filter((e) => e.findings.length > 0);
    out.push({
      id: 'KMS-ESC-01',
      requirement: 'Break-glass keys are held in escrow, sealed every 30 days even if unused, old packages validated destroyed, recovery drilled',
      status: escrow.length === 0 ? 'NOT_APPLICABLE' : failing.length === 0 ? 'PASS' : 'FAIL',
      finding:
        failing.length === 0
          ? `${escrow.length} break-glass key(s), each sealed, drilled and with no declaration overdue`
          : failing.map((e) => `${e.name}: ${e.findings.join('; ')}`).join(' | '),
      evidence: ['/v1/escrow', ...failing.map((e) => `/v1/evidence/keys/${e.key_id}`)],
    });
    out.push(await this.drillControl());
    out.push(await this.backupControl());
    return out;
  }

  /**
   * KMS-BAK-02 from the audit trail: the newest successful `Backup` record (scripts/backup.sh writes it,
   * sealed, before any copy exists; the ledger anchors it) is at most NIGHTLY_BACKUP_HOURS old.
   */
  private async backupControl(): Promise<ControlRow> {
    const row = await this.auditRows
      .createQueryBuilder('a')
      .select('max(a.time)', 'last')
      .addSelect('count(*)', 'total')
      .where({ operation: 'Backup', outcome: 'SUCCESS' })
      .getRawOne<{ last: Date | string | null; total: string }>();
    const last = row?.last ? new Date(row.last) : null;
    const ageHours = last ? (this.clock.now().getTime() - last.getTime()) / 3_600_000 : Number.POSITIVE_INFINITY;
    return {
      id: 'KMS-BAK-02',
      requirement: 'Nightly encrypted, signed backups anchored in the tamper-evident ledger',
      status: ageHours <= NIGHTLY_BACKUP_HOURS ? 'PASS' : 'FAIL',
      finding: last
        ? `last backup ${last.toISOString()} (${Math.floor(ageHours)} h ago, at most ${NIGHTLY_BACKUP_HOURS} h), ${row?.total ?? '0'} in the audit trail`
        : 'no backup recorded in the audit trail',
      evidence: ['/v1/audit-records?operation=Backup'],
    };
  }

  /** KMS-BAK-01 from the drill log: a drill within the month and no follow-up past its 5-business-day due date. */
  private async drillControl(): Promise<ControlRow> {
    const requirement = 'Monthly restore drills, documented, their gaps remediated within 5 business days';
    if (!this.drillLog) return { id: 'KMS-BAK-01', requirement, status: 'NOT_EVALUATED', finding: 'the drill log is not read by this projector', evidence: [] };
    const status = drillStatus(await this.drillLog(), this.clock.now());
    const overdue = status.openFollowUps.filter((f) => f.overdue);
    const last = status.lastDrill;
    return {
      id: 'KMS-BAK-01',
      requirement,
      status: status.monthlyDrillOverdue || overdue.length > 0 ? 'FAIL' : 'PASS',
      finding: `${last ? `last drill ${last.date} (${last.outcome}), next due by ${status.nextDrillDue}` : 'no drill recorded'}; ${status.openFollowUps.length} open follow-up(s), ${overdue.length} overdue`,
      evidence: ['/v1/drills'],
    };
  }

  /** GET /v1/drills: the last drill, whether the monthly drill is overdue, the open follow-ups, and every drill recorded. */
  async drills(): Promise<unknown> {
    if (!this.drillLog) throw new HttpProblem(503, 'UNAVAILABLE', 'the drill log is not read by this projector');
    const log = await this.drillLog();
    const status = drillStatus(log, this.clock.now());
    return { ...status, drills: log.drills };
  }
}
