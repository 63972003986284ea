import { randomUUID } from 'node:crypto';
import {
  DRILL_LOG_STREAM_ID,
  drillLogDecider,
  type DrillOverdueReported,
  drillLogEventCodec,
  type DrillLogState,
  type DrillState,
  type DrillStatus,
  drillStatus,
  invalidArgument,
  validateDrill,
} from '@kms/domain';
import type { EventStore } from '@kms/event-store';
import { handleCommand, loadAggregate, StreamLocks } from '../changes/handle-command';
import type { OperationFacts } from '../crypto/crypto.service';
import type { Clock } from '../ports/audit-log.port';

/** What a caller sends to record a drill (validated by validateDrill). */
export interface DrillInput {
  date: unknown;
  participants: unknown;
  archive: unknown;
  outcome: unknown;
  followUps: unknown;
}

/**
 * Backup-restore drills (docs/backup-and-drills.md): record a drill, close a follow-up, read the
 * status (last drill, open follow-ups, what is overdue). Every change is an event of the drill log.
 */
export class DrillLogService {
  private readonly locks = new StreamLocks();

  constructor(
    private readonly store: EventStore,
    private readonly clock: Clock,
  ) {}

  /** Record a drill; its follow-ups are due 5 business days after its date. */
  async record(input: DrillInput, actor: string, correlationId: string, facts: OperationFacts = {}): Promise<{ drill: DrillState; status: DrillStatus }> {
    const drill = validateDrill(input);
    const drillId = randomUUID();
    const handled = await handleCommand(this.store, drillLogDecider, drillLogEventCodec, DRILL_LOG_STREAM_ID, () => ({
      command: { type: 'RecordDrill' as const, data: { drillId, ...drill }, metadata: { now: this.clock.now(), actor, correlationId } },
    }), { locks: this.locks });
    facts.details = { drillId, date: drill.date, outcome: drill.outcome, followUps: drill.followUps.length };
    const recorded = handled.state.drills.find((d) => d.drillId === drillId) as DrillState;
    return { drill: recorded, status: drillStatus(handled.state, this.clock.now()) };
  }

  /** Close an open follow-up of a drill, with a note (what was done). */
  async closeFollowUp(drillIdRaw: unknown, followUpIdRaw: unknown, noteRaw: unknown, actor: string, correlationId: string, facts: OperationFacts = {}): Promise<DrillStatus> {
    if (typeof drillIdRaw !== 'string' || drillIdRaw === '') throw invalidArgument('drill_id', 'is required');
    if (typeof followUpIdRaw !== 'number' || !Number.isSafeInteger(followUpIdRaw) || followUpIdRaw < 1) throw invalidArgument('follow_up_id', 'must be a positive whole number');
    const note = typeof noteRaw === 'string' ? noteRaw.trim() : '';
    if (note.length > 1024) throw invalidArgument('note', 'must be at most 1024 characters');
    const handled = await handleCommand(this.store, drillLogDecider, drillLogEventCodec, DRILL_LOG_STREAM_ID, () => ({
      command: { type: 'CloseDrillFollowUp' as const, data: { drillId: drillIdRaw, followUpId: followUpIdRaw, note }, metadata: { now: this.clock.now(), actor, correlationId } },
    }), { locks: this.locks });
    facts.details = { drillId: drillIdRaw, followUpId: followUpIdRaw };
    return drillStatus(handled.state, this.clock.now());
  }

  /**
   * Raise the alert of everything overdue now and not alerted yet (DrillOverdueReported events, which
   * the `drill.overdue` notification reacts to): the rotation scheduler calls it on every round.
   */
  async reportOverdue(actor: string, correlationId: string, facts: OperationFacts = {}): Promise<{ reported: DrillOverdueReported['data'][]; status: DrillStatus }> {
    const handled = await handleCommand(this.store, drillLogDecider, drillLogEventCodec, DRILL_LOG_STREAM_ID, () => ({
      command: { type: 'ReportDrillsOverdue' as const, metadata: { now: this.clock.now(), actor, correlationId } },
    }), { locks: this.locks });
    const reported = handled.events.flatMap((e) => (e.type === 'DrillOverdueReported' ? [e.data] : []));
    facts.details = { reported: reported.length };
    return { reported, status: drillStatus(handled.state, this.clock.now()) };
  }

  /** The drill log's status now: the last drill, whether the monthly drill is overdue, the open follow-ups. */
  async status(): Promise<DrillStatus> {
    return drillStatus(await this.log(), this.clock.now());
  }

  /** Every drill recorded. */
  async log(): Promise<DrillLogState> {
    return (await loadAggregate(this.store, drillLogDecider, drillLogEventCodec, DRILL_LOG_STREAM_ID)).state;
  }
}
