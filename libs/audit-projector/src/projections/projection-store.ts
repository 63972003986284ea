import {
  type ApprovalState,
  initialState,
  IDENTITY_TARGETED_OPERATIONS,
  isUuid,
  APPROVAL_STREAM_PREFIX,
  approvalEventCodec,
  KEY_STREAM_PREFIX,
  keyEventCodec,
  type KeyState,
  escrowCeremonyEventCodec,
  escrowCeremonyStreamTarget,
} from '@kms/domain';
import type { StoredEvent } from '@kms/event-store';
import { isNotificationDelivery } from '@kms/notifications';
import { appendToEdge, type AuditLeafRecord, eventLeafRecord, type LeafRecord, leafData, leafHash, type LedgerLog, rangeNodes } from '@kms/ledger';
import type { PositionedAuditRecord } from '@kms/persistence-postgres';
import type { DataSource, EntityManager, EntityTarget, ObjectLiteral, QueryDeepPartialEntity } from 'typeorm';
import { ApprovalEntity } from '../read-model/approval.entity';
import { AuditLogEntity } from '../read-model/audit-log.entity';
import { insertBatch } from '../read-model/insert-batch';
import { KeyStateLedgerEntity } from '../read-model/key-state-ledger.entity';
import { KeyVersionEntity } from '../read-model/key-version.entity';
import { KeyEntity } from '../read-model/key.entity';
import { ledgerNodeHashes, insertLedgerNodes } from '../ledger/ledger-nodes';
import { LedgerLeafEntity } from '../read-model/ledger-leaf.entity';
import { ProjectionCheckpointEntity } from '../read-model/projection-checkpoint.entity';
import { type ApprovalRow, evolveApprovalReadModel } from './approval-read-model.projection';
import { evolveKeyReadModel, type KeyProjection, type KeyRow, type KeyStateLedgerRow, type KeyVersionRow } from './key-read-model.projection';

export type ProjectionName = LedgerLog;

export interface ProjectionCheckpoint {
  position: bigint;
  leafCount: number;
}

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

/** The columns an upsert of a key row may change: identity, tenant, purpose and creation never do. */
const KEY_MUTABLE_COLUMNS = ['labels', 'status', 'primary_version', 'min_decryption_version', 'rotation_period_days', 'primary_since', 'next_rotation_at', 'record', 'last_position'];
const VERSION_MUTABLE_COLUMNS = ['state', 'destroy_at', 'destroyed_at'];
const APPROVAL_MUTABLE_COLUMNS = ['status', 'approver', 'decided_at', 'error_code', 'record', 'last_position'];

const dateOrNull = (v: string | null): Date | null => (v === null ? null : new Date(v));

function keyEntity(k: KeyRow): KeyEntity {
  return {
    ...k,
    createdAt: new Date(k.createdAt),
    primarySince: new Date(k.primarySince),
    nextRotationAt: new Date(k.nextRotationAt),
  };
}

function keyVersionEntity(v: KeyVersionRow): KeyVersionEntity {
  return { ...v, createdAt: new Date(v.createdAt), destroyAt: dateOrNull(v.destroyAt), destroyedAt: dateOrNull(v.destroyedAt) };
}

function keyStateLedgerEntity(l: KeyStateLedgerRow): KeyStateLedgerEntity {
  return { ...l, occurredAt: new Date(l.occurredAt) };
}

function approvalEntity(a: ApprovalRow): ApprovalEntity {
  return { ...a, requestedAt: new Date(a.requestedAt), expiresAt: new Date(a.expiresAt), decidedAt: dateOrNull(a.decidedAt) };
}

function auditLogEntity(r: AuditLeafRecord, leafIndex: number): AuditLogEntity {
  return {
    position: r.position,
    id: r.id,
    time: new Date(r.time),
    actor: r.actor,
    role: r.actorRole,
    operation: r.operation,
    keyId: r.keyId,
    keyVersion: r.keyVersion,
    outcome: r.outcome,
    errorCode: r.errorCode,
    requestId: r.requestId,
    sourceAddress: r.sourceAddress,
    details: r.details,
    leafIndex: String(leafIndex),
  };
}

/**
 * INSERT of whole entities in one statement, optionally ON CONFLICT (target) DO UPDATE of the given
 * columns. The cast: jsonb properties typed `unknown` do not fit TypeORM's deep-partial value type,
 * and these rows are complete entities anyway.
 */
function insertRows<T extends ObjectLiteral>(
  manager: EntityManager,
  entity: EntityTarget<T>,
  rows: T[],
  upsert?: { conflict: string[]; update: string[] },
): Promise<unknown> {
  const insert = manager.createQueryBuilder().insert().into(entity).values(rows as QueryDeepPartialEntity<T>[]).updateEntity(false);
  return (upsert ? insert.orUpdate(upsert.update, upsert.conflict) : insert).execute();
}

/**
 * Writes projections and ledger leaves through TypeORM. Every batch is one transaction that also
 * moves the projection's checkpoint, and positions at or below the checkpoint are skipped:
 * redelivery after a crash or a second projector instance changes nothing (the checkpoint row is
 * locked FOR UPDATE). Rows go through TypeORM's insert query builder, one statement per table and
 * batch (audit records and leaves as column arrays, insertBatch), never entity-by-entity saves.
 */
export class ProjectionStore {
  constructor(private readonly dataSource: DataSource) {}

  async checkpoint(name: ProjectionName): Promise<ProjectionCheckpoint> {
    const row = await this.dataSource.getRepository(ProjectionCheckpointEntity).findOneBy({ name });
    if (!row) throw new Error(`projection checkpoint ${name} is missing: are the audit projector migrations applied?`);
    return { position: BigInt(row.position), leafCount: Number(row.leafCount) };
  }

  /** Project stored events (in global order). Returns how many were new. */
  async projectEvents(events: readonly StoredEvent[]): Promise<number> {
    return this.inTransaction('events', async (manager, cp) => {
      const fresh = events.filter((e) => e.globalPosition > cp.position);
      const leaves: PendingLeaf[] = [];
      const keys = new Map<string, KeyState>();
      const approvals = new Map<string, ApprovalState>();
      for (const e of fresh) {
        let subjectKeyId: string | null = null;
        if (e.streamId.startsWith(KEY_STREAM_PREFIX) && keyEventCodec.accepts(e.type)) {
          const event = keyEventCodec.parse(e);
          const keyId = event.data.keyId;
          const current = keys.get(keyId) ?? (await this.loadKey(manager, keyId));
          const projection = evolveKeyReadModel(current, event, e.globalPosition);
          keys.set(keyId, projection.state);
          await this.writeKey(manager, projection);
          subjectKeyId = keyId;
        } else if (e.streamId.startsWith(APPROVAL_STREAM_PREFIX) && approvalEventCodec.accepts(e.type)) {
          const event = approvalEventCodec.parse(e);
          const id = event.data.approvalId;
          const current = approvals.get(id) ?? (await this.loadApproval(manager, id));
          const row = evolveApprovalReadModel(current, event, e.globalPosition);
          approvals.set(id, row.record);
          await insertRows(manager, ApprovalEntity, [approvalEntity(row)], { conflict: ['approval_id'], update: APPROVAL_MUTABLE_COLUMNS });
          // Approvals of key operations are evidence about that key.
          if (!(IDENTITY_TARGETED_OPERATIONS as readonly string[]).includes(row.operation) && isUuid(row.targetId)) subjectKeyId = row.targetId;
        } else if (escrowCeremonyEventCodec.accepts(e.type) && escrowCeremonyStreamTarget(e.streamId)) {
          // A break-glass key's escrow ceremonies (transcripts, declarations, reconstructions) are evidence about it.
          subjectKeyId = escrowCeremonyStreamTarget(e.streamId)?.keyId ?? null;
        } else if (isNotificationDelivery(e) && typeof e.data['keyId'] === 'string' && isUuid(e.data['keyId'])) {
          // Telling compliance about a key's operation (docs/notifications.md) is evidence about that key.
          subjectKeyId = e.data['keyId'];
        }
        leaves.push({
          sourcePosition: e.globalPosition.toString(),
          recordId: e.id,
          subjectKeyId,
          recordTime: e.recordedAt.toISOString(),
          record: eventLeafRecord(e),
        });
      }
      await this.appendLeaves(manager, 'events', cp.leafCount, leaves);
      const last = fresh.at(-1);
      return { applied: fresh.length, position: last ? last.globalPosition : cp.position, leafCount: cp.leafCount + leaves.length };
    });
  }

  /** Project audit records (in position order) into rm_audit_log and the audit log's leaves. */
  async projectAuditRecords(records: readonly PositionedAuditRecord[]): Promise<number> {
    return this.inTransaction('audit', async (manager, cp) => {
      const fresh = records.filter((r) => r.position > cp.position);
      if (fresh.length > 0) {
        const leafRecords = fresh.map(auditLeafRecord);
        await insertBatch(manager, AuditLogEntity, leafRecords.map((r, i) => auditLogEntity(r, cp.leafCount + i)));
        await this.appendLeaves(
          manager,
          'audit',
          cp.leafCount,
          leafRecords.map((r) => ({ sourcePosition: r.position, recordId: r.id, subjectKeyId: r.keyId, recordTime: r.time, record: r })),
        );
      }
      const last = fresh.at(-1);
      return { applied: fresh.length, position: last ? last.position : cp.position, leafCount: cp.leafCount + fresh.length };
    });
  }

  private inTransaction(
    name: ProjectionName,
    work: (manager: EntityManager, cp: ProjectionCheckpoint) => Promise<{ applied: number; position: bigint; leafCount: number }>,
  ): Promise<number> {
    return this.dataSource.transaction(async (manager) => {
      const row = await manager
        .createQueryBuilder(ProjectionCheckpointEntity, 'c')
        .setLock('pessimistic_write')
        .where('c.name = :name', { name })
        .getOne();
      if (!row) throw new Error(`projection checkpoint ${name} is missing`);
      const result = await work(manager, { position: BigInt(row.position), leafCount: Number(row.leafCount) });
      if (result.applied > 0) {
        await manager.update(ProjectionCheckpointEntity, { name }, { position: result.position.toString(), leafCount: String(result.leafCount) });
      }
      return result.applied;
    });
  }

  private async loadKey(manager: EntityManager, keyId: string): Promise<KeyState> {
    const row = await manager.findOne(KeyEntity, { select: { status: true, record: true }, where: { keyId } });
    return row ? ({ status: row.status, key: row.record } as KeyState) : initialState();
  }

  private async loadApproval(manager: EntityManager, approvalId: string): Promise<ApprovalState> {
    const row = await manager.findOne(ApprovalEntity, { select: { record: true }, where: { approvalId } });
    return row?.record ?? { status: 'None' };
  }

  private async writeKey(manager: EntityManager, p: KeyProjection): Promise<void> {
    await insertRows(manager, KeyEntity, [keyEntity(p.key)], { conflict: ['key_id'], update: KEY_MUTABLE_COLUMNS });
    if (p.versions.length > 0) {
      await insertRows(manager, KeyVersionEntity, p.versions.map(keyVersionEntity), { conflict: ['key_id', 'version'], update: VERSION_MUTABLE_COLUMNS });
    }
    await insertRows(manager, KeyStateLedgerEntity, [keyStateLedgerEntity(p.ledger)]);
  }

  private async appendLeaves(manager: EntityManager, log: LedgerLog, firstIndex: number, leaves: PendingLeaf[]): Promise<void> {
    if (leaves.length === 0) return;
    const rows: LedgerLeafEntity[] = leaves.map((l, i) => {
      const data = leafData(l.record);
      return {
        log,
        leafIndex: String(firstIndex + i),
        sourcePosition: l.sourcePosition,
        recordId: l.recordId,
        subjectKeyId: l.subjectKeyId,
        recordTime: new Date(l.recordTime),
        leafHash: leafHash(data),
        leafData: data,
      };
    });
    await insertBatch(manager, LedgerLeafEntity, rows);
    // The perfect subtrees these leaves complete, so proofs never read every leaf.
    const edge = rangeNodes(0, firstIndex);
    const hashes = await ledgerNodeHashes(manager, log, edge);
    const { completed } = appendToEdge(firstIndex, edge.map((n, i) => ({ ...n, hash: hashes[i] as Buffer })), rows.map((r) => r.leafHash));
    await insertLedgerNodes(manager, log, completed);
  }
}
