import {
  type ApprovalEvent,
  type ApprovalState,
  initialState,
  isUuid,
  KEY_EVENT_TYPES,
  type KeyEvent,
  type KeyState,
} from '@kms/domain';
import type { StoredEvent } from '@kms/event-store';
import { type AuditLeafRecord, eventLeafRecord, type LeafRecord, leafData, leafHash, type LedgerLog } from '@kms/ledger';
import type { PositionedAuditRecord } from '@kms/persistence-postgres';
import type { Pool, PoolClient } from 'pg';
import { evolveApprovalReadModel } from './approval-read-model.projection';
import { evolveKeyReadModel, type KeyProjection } from './key-read-model.projection';

export type ProjectionName = LedgerLog;

export interface ProjectionCheckpoint {
  position: bigint;
  leafCount: number;
}

const APPROVAL_EVENT_TYPES: ReadonlySet<string> = new Set(['ApprovalRequested', 'ApprovalGranted', 'ApprovalRejected', 'ApprovalExpired', 'ApprovedOperationExecuted']);
const KEY_TYPES: ReadonlySet<string> = new Set(KEY_EVENT_TYPES);

interface PendingLeaf {
  sourcePosition: string;
  recordId: string;
  subjectKeyId: string | null;
  recordTime: string;
  record: LeafRecord;
}

/** The normalised audit record a leaf and rm_audit_log are both made from. */
export function auditLeafRecord(r: PositionedAuditRecord): AuditLeafRecord {
  return {
    kind: 'audit',
    position: r.position.toString(),
    id: r.id,
    time: r.time.toISOString(),
    requestId: r.requestId,
    operation: r.operation,
    keyId: r.keyId ?? null,
    keyVersion: r.keyVersion ?? null,
    actor: r.actor,
    actorRole: r.actorRole ?? null,
    outcome: r.outcome,
    errorCode: r.errorCode ?? null,
    sourceAddress: r.sourceAddress ?? null,
    details: r.details ?? null,
  };
}

/**
 * Writes projections and ledger leaves. Every batch is one transaction that also moves the
 * projection's checkpoint, and positions at or below the checkpoint are skipped: redelivery after a
 * crash or a second projector instance changes nothing (the checkpoint row is locked FOR UPDATE).
 */
export class ProjectionStore {
  constructor(private readonly pool: Pool) {}

  async checkpoint(name: ProjectionName): Promise<ProjectionCheckpoint> {
    const { rows } = await this.pool.query<{ position: string; leaf_count: string }>(
      'SELECT "position"::text AS position, leaf_count::text AS leaf_count FROM projection_checkpoints WHERE name = $1',
      [name],
    );
    if (!rows[0]) throw new Error(`projection checkpoint ${name} is missing: are the audit projector migrations applied?`);
    return { position: BigInt(rows[0].position), leafCount: Number(rows[0].leaf_count) };
  }

  /** Project stored events (in global order). Returns how many were new. */
  async projectEvents(events: readonly StoredEvent[]): Promise<number> {
    return this.inTransaction('events', async (client, cp) => {
      const fresh = events.filter((e) => e.globalPosition > cp.position);
      const leaves: PendingLeaf[] = [];
      const keys = new Map<string, KeyState>();
      const approvals = new Map<string, ApprovalState>();
      for (const e of fresh) {
        let subjectKeyId: string | null = null;
        if (e.streamId.startsWith('key-') && KEY_TYPES.has(e.type)) {
          const event = { type: e.type, data: e.data, metadata: e.metadata } as unknown as KeyEvent;
          const keyId = event.data.keyId;
          const current = keys.get(keyId) ?? (await this.loadKey(client, keyId));
          const projection = evolveKeyReadModel(current, event, e.globalPosition);
          keys.set(keyId, projection.state);
          await this.writeKey(client, projection);
          subjectKeyId = keyId;
        } else if (e.streamId.startsWith('approval-') && APPROVAL_EVENT_TYPES.has(e.type)) {
          const event = { type: e.type, data: e.data, metadata: e.metadata } as unknown as ApprovalEvent;
          const id = event.data.approvalId;
          const current = approvals.get(id) ?? (await this.loadApproval(client, id));
          const row = evolveApprovalReadModel(current, event, e.globalPosition);
          approvals.set(id, row.record);
          await client.query(
            `INSERT INTO rm_approvals (approval_id, operation, target_id, requester, change_ticket, reason, status, approver, requested_at,
                                       expires_at, decided_at, error_code, params, record, last_position)
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)
             ON CONFLICT (approval_id) DO UPDATE SET status = EXCLUDED.status, approver = EXCLUDED.approver, decided_at = EXCLUDED.decided_at,
               error_code = EXCLUDED.error_code, record = EXCLUDED.record, last_position = EXCLUDED.last_position`,
            [row.approvalId, row.operation, row.targetId, row.requester, row.changeTicket, row.reason, row.status, row.approver, row.requestedAt,
             row.expiresAt, row.decidedAt, row.errorCode, JSON.stringify(row.params), JSON.stringify(row.record), row.lastPosition],
          );
          // Approvals of key operations are evidence about that key.
          if (row.operation !== 'ReEnableIdentity' && isUuid(row.targetId)) subjectKeyId = row.targetId;
        }
        leaves.push({
          sourcePosition: e.globalPosition.toString(),
          recordId: e.id,
          subjectKeyId,
          recordTime: e.recordedAt.toISOString(),
          record: eventLeafRecord(e),
        });
      }
      await this.appendLeaves(client, 'events', cp.leafCount, leaves);
      const last = fresh.at(-1);
      return { applied: fresh.length, position: last ? last.globalPosition : cp.position, leafCount: cp.leafCount + leaves.length };
    });
  }

  /** Project audit records (in position order) into rm_audit_log and the audit log's leaves. */
  async projectAuditRecords(records: readonly PositionedAuditRecord[]): Promise<number> {
    return this.inTransaction('audit', async (client, cp) => {
      const fresh = records.filter((r) => r.position > cp.position);
      if (fresh.length > 0) {
        const leafRecords = fresh.map(auditLeafRecord);
        await client.query(
          `INSERT INTO rm_audit_log ("position", id, "time", actor, role, operation, key_id, key_version, outcome, error_code, request_id,
                                     source_address, details, leaf_index)
           SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::uuid[], $8::int[],
                                $9::text[], $10::text[], $11::text[], $12::text[], $13::jsonb[], $14::bigint[])`,
          [
            leafRecords.map((r) => r.position),
            leafRecords.map((r) => r.id),
            leafRecords.map((r) => r.time),
            leafRecords.map((r) => r.actor),
            leafRecords.map((r) => r.actorRole),
            leafRecords.map((r) => r.operation),
            leafRecords.map((r) => r.keyId),
            leafRecords.map((r) => r.keyVersion),
            leafRecords.map((r) => r.outcome),
            leafRecords.map((r) => r.errorCode),
            leafRecords.map((r) => r.requestId),
            leafRecords.map((r) => r.sourceAddress),
            leafRecords.map((r) => (r.details === null ? null : JSON.stringify(r.details))),
            leafRecords.map((_, i) => String(cp.leafCount + i)),
          ],
        );
        await this.appendLeaves(
          client,
          'audit',
          cp.leafCount,
          leafRecords.map((r) => ({ sourcePosition: r.position, recordId: r.id, subjectKeyId: r.keyId, recordTime: r.time, record: r })),
        );
      }
      const last = fresh.at(-1);
      return { applied: fresh.length, position: last ? last.position : cp.position, leafCount: cp.leafCount + fresh.length };
    });
  }

  private async inTransaction(
    name: ProjectionName,
    work: (client: PoolClient, cp: ProjectionCheckpoint) => Promise<{ applied: number; position: bigint; leafCount: number }>,
  ): Promise<number> {
    const client = await this.pool.connect();
    let failed: Error | undefined;
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ position: string; leaf_count: string }>(
        'SELECT "position"::text AS position, leaf_count::text AS leaf_count FROM projection_checkpoints WHERE name = $1 FOR UPDATE',
        [name],
      );
      if (!rows[0]) throw new Error(`projection checkpoint ${name} is missing`);
      const result = await work(client, { position: BigInt(rows[0].position), leafCount: Number(rows[0].leaf_count) });
      if (result.applied > 0) {
        await client.query('UPDATE projection_checkpoints SET "position" = $2, leaf_count = $3 WHERE name = $1', [
          name,
          result.position.toString(),
          String(result.leafCount),
        ]);
      }
      await client.query('COMMIT');
      return result.applied;
    } catch (e) {
      failed = e instanceof Error ? e : new Error(String(e));
      await client.query('ROLLBACK').catch(() => undefined);
      throw failed;
    } finally {
      client.release(failed);
    }
  }

  private async loadKey(client: PoolClient, keyId: string): Promise<KeyState> {
    const { rows } = await client.query<{ status: 'Enabled' | 'Disabled'; record: Extract<KeyState, { key: unknown }>['key'] }>(
      'SELECT status, record FROM rm_keys WHERE key_id = $1',
      [keyId],
    );
    return rows[0] ? { status: rows[0].status, key: rows[0].record } : initialState();
  }

  private async loadApproval(client: PoolClient, approvalId: string): Promise<ApprovalState> {
    const { rows } = await client.query<{ record: ApprovalState }>('SELECT record FROM rm_approvals WHERE approval_id = $1', [approvalId]);
    return rows[0]?.record ?? { status: 'None' };
  }

  private async writeKey(client: PoolClient, p: KeyProjection): Promise<void> {
    const k = p.key;
    await client.query(
      `INSERT INTO rm_keys (key_id, tenant, name, purpose, algorithm, protection_level, owner, labels, status, primary_version,
                            min_decryption_version, rotation_period_days, created_at, primary_since, next_rotation_at, record, last_position)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17)
       ON CONFLICT (key_id) DO UPDATE SET labels = EXCLUDED.labels, status = EXCLUDED.status, primary_version = EXCLUDED.primary_version,
         min_decryption_version = EXCLUDED.min_decryption_version, rotation_period_days = EXCLUDED.rotation_period_days,
         primary_since = EXCLUDED.primary_since, next_rotation_at = EXCLUDED.next_rotation_at, record = EXCLUDED.record,
         last_position = EXCLUDED.last_position`,
      [k.keyId, k.tenant, k.name, k.purpose, k.algorithm, k.protectionLevel, k.owner, JSON.stringify(k.labels), k.status, k.primaryVersion,
       k.minDecryptionVersion, k.rotationPeriodDays, k.createdAt, k.primarySince, k.nextRotationAt, JSON.stringify(k.record), k.lastPosition],
    );
    for (const v of p.versions) {
      await client.query(
        `INSERT INTO rm_key_versions (key_id, version, algorithm, protection_level, state, created_at, destroy_at, destroyed_at,
                                      public_key_fingerprint, origin)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)
         ON CONFLICT (key_id, version) DO UPDATE SET state = EXCLUDED.state, destroy_at = EXCLUDED.destroy_at, destroyed_at = EXCLUDED.destroyed_at`,
        [v.keyId, v.version, v.algorithm, v.protectionLevel, v.state, v.createdAt, v.destroyAt, v.destroyedAt, v.publicKeyFingerprint,
         v.origin === null ? null : JSON.stringify(v.origin)],
      );
    }
    const l = p.ledger;
    await client.query(
      `INSERT INTO rm_key_state_ledger ("position", key_id, version, event_type, from_state, to_state, occurred_at, actor, approvers,
                                        approval_id, change_ticket, reason, correlation_id)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)`,
      [l.position, l.keyId, l.version, l.eventType, l.fromState, l.toState, l.occurredAt, l.actor, l.approvers, l.approvalId, l.changeTicket,
       l.reason, l.correlationId],
    );
  }

  private async appendLeaves(client: PoolClient, log: LedgerLog, firstIndex: number, leaves: PendingLeaf[]): Promise<void> {
    if (leaves.length === 0) return;
    const data = leaves.map((l) => leafData(l.record));
    await client.query(
      `INSERT INTO ledger_leaves (log, leaf_index, source_position, record_id, subject_key_id, record_time, leaf_hash, leaf_data)
       SELECT $1, * FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::uuid[], $6::timestamptz[], $7::bytea[], $8::bytea[])`,
      [
        log,
        leaves.map((_, i) => String(firstIndex + i)),
        leaves.map((l) => l.sourcePosition),
        leaves.map((l) => l.recordId),
        leaves.map((l) => l.subjectKeyId),
        leaves.map((l) => l.recordTime),
        data.map((d) => leafHash(d)),
        data,
      ],
    );
  }
}
