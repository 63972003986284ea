import { eventViolation, type IntegrityAlarm, type IntegrityViolation } from '@kms/application';
import { EventIntegrityError, type EventSealer, type StoredEvent } from '@kms/event-store';
import { eventLeafRecord, leafData, leafHash, type LedgerLog } from '@kms/ledger';
import { AuditIntegrityError, type AuditSealer, positionedAuditRecords, type StoredAuditRow } from '@kms/persistence-postgres';
import type { DataSource } from 'typeorm';
import type { LedgerStore } from '../ledger/ledger-store';
import { auditLeafRecord, type ProjectionStore } from '../projections/projection-store';
import { LedgerLeafEntity } from '../read-model/ledger-leaf.entity';

/** The source tables as stored, unchecked: the reconciliation must see a forged row to name it. */
export interface SourceHistory {
  eventsAfter(position: bigint, limit: number): Promise<StoredEvent[]>;
  /** Audit rows with their seal columns, in position order. */
  auditRecordsAfter(position: bigint, limit: number): Promise<StoredAuditRow[]>;
  /**
   * The hash the oldest stored audit row follows when retention dropped the rows before it (vouched by
   * a sealed drop record: retainedTrailAnchor), else null. Absent: no retention, the trail starts at its first record.
   */
  auditTrailAnchor?(first: StoredAuditRow): Promise<string | null>;
}

export interface ReconciliationReport {
  startedAt: string;
  finishedAt: string;
  ok: boolean;
  /** Rows and leaves read. */
  checked: { events: number; auditRecords: number; leaves: Record<LedgerLog, number> };
  /** Every divergence found, each naming its record (never its data). */
  divergences: IntegrityViolation[];
}

const BATCH = 1000;

interface Leaf {
  leafIndex: string;
  sourcePosition: bigint;
  recordId: string;
  leafHash: Buffer;
}

/**
 * Re-reads the source tables (`events`, `audit_records`) against the ledger and checks, row by row:
 * every event's seal and its stream's chain (versions without a gap, each linked to the one before);
 * every audit record's seal and chain; that every source row the
 * projection has passed is in the ledger, as it was when ledgered (the leaf recomputes from the row),
 * and that no leaf's source row is gone; and the ledger itself (contiguous leaves, hashes, signed
 * checkpoints). Every divergence raises the integrity alarm. Runs on a schedule in the projector and on
 * demand (`POST /v1/ledger/reconciliations`, `kms reconcile-ledger`).
 */
export class LedgerReconciler {
  private last?: ReconciliationReport;
  private running?: Promise<ReconciliationReport>;

  constructor(
    private readonly options: {
      source: SourceHistory;
      sealer: EventSealer;
      auditSealer: AuditSealer;
      dataSource: DataSource;
      projections: ProjectionStore;
      ledger: LedgerStore;
      attestationPublicKeyPem: () => Promise<string>;
      alarm?: IntegrityAlarm;
      clock?: { now(): Date };
    },
  ) {}

  /** The last finished run, if any. */
  latest(): ReconciliationReport | undefined {
    return this.last;
  }

  /** Run once now (a run already in progress is joined, not doubled). */
  run(): Promise<ReconciliationReport> {
    this.running ??= this.reconcile().finally(() => (this.running = undefined));
    return this.running;
  }

  private now(): Date {
    return this.options.clock?.now() ?? new Date();
  }

  private async reconcile(): Promise<ReconciliationReport> {
    const startedAt = this.now().toISOString();
    const divergences: IntegrityViolation[] = [];
    const found = (v: IntegrityViolation) => {
      divergences.push(v);
      this.options.alarm?.raise(v);
    };
    // Checkpoints first: rows the projection passed after this are checked next run.
    const eventsCp = await this.options.projections.checkpoint('events');
    const auditCp = await this.options.projections.checkpoint('audit');
    const events = await this.reconcileEvents(eventsCp.position, found);
    const audit = await this.reconcileAudit(auditCp.position, found);
    for (const problem of await this.options.ledger.audit(await this.options.attestationPublicKeyPem())) {
      found({ source: 'ledger', position: null, recordId: null, problem });
    }
    const report: ReconciliationReport = {
      startedAt,
      finishedAt: this.now().toISOString(),
      ok: divergences.length === 0,
      checked: { events: events.rows, auditRecords: audit.rows, leaves: { events: events.leaves, audit: audit.leaves } },
      divergences,
    };
    this.last = report;
    return report;
  }

  private async reconcileEvents(projected: bigint, found: (v: IntegrityViolation) => void): Promise<{ rows: number; leaves: number }> {
    const streams = new Map<string, { version: number; hash: string | null }>();
    const leaves = this.leafReader('events');
    let rows = 0;
    let after = 0n;
    for (;;) {
      const batch = await this.options.source.eventsAfter(after, BATCH);
      for (const e of batch) {
        rows += 1;
        after = e.globalPosition;
        const chain = streams.get(e.streamId);
        const expected = chain ? chain.version + 1 : 0;
        if (e.streamVersion !== expected) {
          found(eventViolation(new EventIntegrityError(e.streamId, e.streamVersion, e.globalPosition, `expected version ${expected}: an event is missing or out of place`)));
        }
        try {
          // The PostgreSQL store seals global positions too: a stream-scoped seal there is out of place.
          const seal = this.options.sealer.check(e, chain ? chain.hash : null, 'position');
          streams.set(e.streamId, { version: e.streamVersion, hash: seal.hash });
        } catch (error) {
          if (!(error instanceof EventIntegrityError)) throw error;
          found(eventViolation(error));
          // Go on from this row, so one bad row is named once rather than its whole stream after it.
          const claimed = (e.metadata['seal'] as { hash?: unknown } | undefined)?.hash;
          streams.set(e.streamId, { version: e.streamVersion, hash: typeof claimed === 'string' ? claimed : null });
        }
        if (e.globalPosition <= projected) {
          await leaves.match(e.globalPosition, e.id, leafHash(leafData(eventLeafRecord(e))), found, (problem) => ({
            ...eventViolation(new EventIntegrityError(e.streamId, e.streamVersion, e.globalPosition, problem)),
            recordId: e.id,
          }));
        }
      }
      if (batch.length < BATCH) break;
    }
    await leaves.rest(found, projected);
    return { rows, leaves: leaves.count() };
  }

  private async reconcileAudit(projected: bigint, found: (v: IntegrityViolation) => void): Promise<{ rows: number; leaves: number }> {
    const leaves = this.leafReader('audit');
    const seals = this.options.auditSealer;
    let prev: string | null = null;
    let rows = 0;
    let after = 0n;
    for (;;) {
      const batch = await this.options.source.auditRecordsAfter(after, BATCH);
      for (const r of batch) {
        if (rows === 0 && this.options.source.auditTrailAnchor) {
          prev = await this.options.source.auditTrailAnchor(r);
          // Leaves of rows a retention drop removed (archived first) are not missing rows.
          if (prev !== null) leaves.retainedFrom(r.position);
        }
        rows += 1;
        after = r.position;
        const named = (problem: string): IntegrityViolation => ({ source: 'audit_records', position: r.position.toString(), recordId: r.id, problem });
        try {
          prev = seals.check(r, prev).hash;
        } catch (error) {
          if (!(error instanceof AuditIntegrityError)) throw error;
          found(named(error.problem));
          // Go on from this row's claimed hash, so one bad row is named once.
          prev = r.seal_hash;
        }
        // A batch call's row was ledgered as one leaf per item (positionedAuditRecords), each matched here.
        for (const item of positionedAuditRecords(r)) {
          const namedItem = (problem: string): IntegrityViolation => ({ source: 'audit_records', position: item.position.toString(), recordId: item.id, problem });
          if (item.position <= projected) await leaves.match(item.position, item.id, leafHash(leafData(auditLeafRecord(item))), found, namedItem);
        }
      }
      if (batch.length < BATCH) break;
    }
    await leaves.rest(found, projected);
    return { rows, leaves: leaves.count() };
  }

  /**
   * A merge-join cursor over one log's leaves in source order: each source row the projection passed
   * must meet its leaf; a leaf passed over without its row names a row that is gone.
   */
  private leafReader(log: LedgerLog) {
    const repo = this.options.dataSource.getRepository(LedgerLeafEntity);
    let buffer: Leaf[] = [];
    let nextIndex = 0n;
    let exhausted = false;
    let seen = 0;
    let retained = 0n;
    const fill = async () => {
      if (buffer.length > 0 || exhausted) return;
      const rows = await repo
        .createQueryBuilder('l')
        .select(['l.leafIndex', 'l.sourcePosition', 'l.recordId', 'l.leafHash'])
        .where('l.log = :log', { log })
        .andWhere('l.leafIndex >= :from', { from: nextIndex.toString() })
        .orderBy('l.leafIndex')
        .limit(BATCH)
        .getMany();
      buffer = rows.map((r) => ({ leafIndex: r.leafIndex, sourcePosition: BigInt(r.sourcePosition), recordId: r.recordId, leafHash: r.leafHash }));
      seen += buffer.length;
      if (rows.length < BATCH) exhausted = true;
      const last = buffer[buffer.length - 1];
      if (last) nextIndex = BigInt(last.leafIndex) + 1n;
    };
    const gone = (l: Leaf): IntegrityViolation => ({
      source: log === 'events' ? 'events' : 'audit_records',
      position: l.sourcePosition.toString(),
      recordId: l.recordId,
      problem: `ledgered at leaf ${l.leafIndex} but no longer in the source (deleted or moved)`,
    });
    return {
      count: () => seen,
      /** Source rows before `position` were dropped by retention: their leaves stay, unmatched. */
      retainedFrom: (position: bigint) => {
        retained = position;
      },
      match: async (position: bigint, recordId: string, hash: Buffer, found: (v: IntegrityViolation) => void, named: (problem: string) => IntegrityViolation) => {
        for (;;) {
          await fill();
          const leaf = buffer[0];
          if (!leaf || leaf.sourcePosition > position) {
            found(named('the projection passed it but it is not in the ledger (inserted behind the projector)'));
            return;
          }
          buffer.shift();
          if (leaf.sourcePosition < position) {
            if (leaf.sourcePosition >= retained) found(gone(leaf));
            continue;
          }
          if (leaf.recordId !== recordId) found(named(`differs from ledger leaf ${leaf.leafIndex}: it was record ${leaf.recordId} (replaced)`));
          else if (!leaf.leafHash.equals(hash)) found(named(`differs from ledger leaf ${leaf.leafIndex} (edited after it was ledgered)`));
          return;
        }
      },
      rest: async (found: (v: IntegrityViolation) => void, projected: bigint) => {
        for (;;) {
          await fill();
          const leaf = buffer.shift();
          if (!leaf) return;
          if (leaf.sourcePosition <= projected && leaf.sourcePosition >= retained) found(gone(leaf));
        }
      },
    };
  }
}
