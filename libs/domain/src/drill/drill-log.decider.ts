import type { Decider } from '../events/decider';
import { invalidArgument, KmsError } from '../errors/kms-error';
import type { CommandMetadata } from '../key/key.commands';
import type { EventMetadata } from '../key/key.events';

/**
 * The record of backup-restore drills (docs/backup-and-drills.md): every drill documented with its
 * date, participants, archive, outcome and follow-up actions, each action with an owner and a due date
 * 5 business days after the drill, closed by an event of its own. One stream for every drill: a drill
 * a month keeps it small, and one read answers "when was the last drill, what is still open".
 */
export const DRILL_LOG_STREAM_ID = 'drill-log';

/** Business days a drill's gaps must be remediated within (policy: "within 5 business days"). */
export const DRILL_FOLLOW_UP_BUSINESS_DAYS = 5;
/** Drills are monthly (policy): none within this many days of now is overdue. */
export const DRILL_INTERVAL_DAYS = 31;
export const DRILL_OUTCOMES = ['PASSED', 'FAILED', 'PARTIAL'] as const;
export type DrillOutcome = (typeof DRILL_OUTCOMES)[number];

export interface DrillFollowUp {
  /** 1, 2, … within its drill. */
  followUpId: number;
  owner: string;
  action: string;
  /** YYYY-MM-DD, 5 business days after the drill's date. */
  dueDate: string;
}

export interface DrillRecord {
  drillId: string;
  /** YYYY-MM-DD, the day the drill was held. */
  date: string;
  participants: string[];
  /** The backup restored (its directory name or path). */
  archive: string;
  outcome: DrillOutcome;
  followUps: DrillFollowUp[];
}

export type DrillRecorded = { type: 'DrillRecorded'; data: DrillRecord; metadata: EventMetadata };
export type DrillFollowUpClosed = { type: 'DrillFollowUpClosed'; data: { drillId: string; followUpId: number; note: string }; metadata: EventMetadata };
/**
 * The alert the rotation scheduler raises, once per thing overdue: the monthly drill (by the date it
 * was due) or an open follow-up past its due date. Notifications (`drill.overdue`) react to it.
 */
export type DrillOverdueReported = {
  type: 'DrillOverdueReported';
  data: { subject: 'MONTHLY_DRILL'; dueDate: string } | { subject: 'FOLLOW_UP'; dueDate: string; drillId: string; followUpId: number; owner: string; action: string };
  metadata: EventMetadata;
};
export type DrillLogEvent = DrillRecorded | DrillFollowUpClosed | DrillOverdueReported;
export const DRILL_LOG_EVENT_TYPES: readonly DrillLogEvent['type'][] = ['DrillRecorded', 'DrillFollowUpClosed', 'DrillOverdueReported'];

export type RecordDrill = {
  type: 'RecordDrill';
  data: { drillId: string; date: string; participants: string[]; archive: string; outcome: DrillOutcome; followUps: Array<{ owner: string; action: string }> };
  metadata: CommandMetadata;
};
export type CloseDrillFollowUp = { type: 'CloseDrillFollowUp'; data: { drillId: string; followUpId: number; note: string }; metadata: CommandMetadata };
/** Raise the alerts of everything overdue at `metadata.now` not alerted yet (the rotation scheduler, periodically). */
export type ReportDrillsOverdue = { type: 'ReportDrillsOverdue'; metadata: CommandMetadata };
export type DrillLogCommand = RecordDrill | CloseDrillFollowUp | ReportDrillsOverdue;

export interface DrillFollowUpState extends DrillFollowUp {
  closed?: { at: string; by: string; note: string };
}
export interface DrillState extends Omit<DrillRecord, 'followUps'> {
  recordedAt: string;
  recordedBy: string;
  followUps: DrillFollowUpState[];
}
export interface DrillLogState {
  /** In the order recorded. */
  drills: DrillState[];
  /** Keys of the alerts raised (alertKey), so each overdue thing is reported once. */
  alerted?: string[];
}

/** What identifies an alert: the monthly drill by its due date (no drill: `none`), a follow-up by drill and id. */
export function alertKey(data: DrillOverdueReported['data']): string {
  return data.subject === 'MONTHLY_DRILL' ? `drill:${data.dueDate}` : `follow-up:${data.drillId}:${data.followUpId}`;
}

const DAY_MS = 86_400_000;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A YYYY-MM-DD date that exists (2026-02-30 does not). */
export function parseDrillDate(raw: unknown, field = 'date'): string {
  if (typeof raw !== 'string' || !ISO_DATE.test(raw)) throw invalidArgument(field, 'must be a date as YYYY-MM-DD');
  const d = new Date(`${raw}T00:00:00.000Z`);
  if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== raw) throw invalidArgument(field, 'is not a calendar date');
  return raw;
}

/** The date `days` business days (Monday to Friday) after `date` (YYYY-MM-DD); public holidays are not known here. */
export function addBusinessDays(date: string, days: number): string {
  let t = new Date(`${parseDrillDate(date)}T00:00:00.000Z`).getTime();
  for (let left = days; left > 0; ) {
    t += DAY_MS;
    const weekday = new Date(t).getUTCDay();
    if (weekday !== 0 && weekday !== 6) left -= 1;
  }
  return new Date(t).toISOString().slice(0, 10);
}

/** `owner:action` (the CLI's --follow-up), both parts non-empty. */
export function parseFollowUp(raw: string, field = 'follow_ups'): { owner: string; action: string } {
  const i = raw.indexOf(':');
  const owner = i > 0 ? raw.slice(0, i).trim() : '';
  const action = i > 0 ? raw.slice(i + 1).trim() : '';
  if (!owner || !action) throw invalidArgument(field, `"${raw}" must be owner:action`);
  return { owner, action };
}

function text(raw: unknown, field: string, max: number): string {
  if (typeof raw !== 'string' || raw.trim() === '') throw invalidArgument(field, 'is required');
  if (raw.length > max) throw invalidArgument(field, `must be at most ${max} characters`);
  return raw.trim();
}

/** A drill as a caller sends it, validated: each problem names its field. */
export function validateDrill(input: { date: unknown; participants: unknown; archive: unknown; outcome: unknown; followUps: unknown }): Omit<RecordDrill['data'], 'drillId'> {
  const date = parseDrillDate(input.date);
  if (!Array.isArray(input.participants) || input.participants.length === 0) throw invalidArgument('participants', 'name at least one participant');
  if (input.participants.length > 50) throw invalidArgument('participants', 'at most 50');
  const participants = input.participants.map((p) => text(p, 'participants', 128));
  const archive = text(input.archive, 'archive', 512);
  if (typeof input.outcome !== 'string' || !(DRILL_OUTCOMES as readonly string[]).includes(input.outcome)) throw invalidArgument('outcome', `must be one of ${DRILL_OUTCOMES.join(', ')}`);
  if (!Array.isArray(input.followUps)) throw invalidArgument('follow_ups', 'must be a list');
  if (input.followUps.length > 50) throw invalidArgument('follow_ups', 'at most 50');
  const followUps = input.followUps.map((f: unknown) => {
    const o = (f ?? {}) as { owner?: unknown; action?: unknown };
    return { owner: text(o.owner, 'follow_ups.owner', 128), action: text(o.action, 'follow_ups.action', 1024) };
  });
  return { date, participants, archive, outcome: input.outcome as DrillOutcome, followUps };
}

function metadataOf(m: CommandMetadata): EventMetadata {
  return { actor: m.actor, correlationId: m.correlationId, occurredAt: m.now.toISOString() };
}

function decide(command: DrillLogCommand, state: DrillLogState): DrillLogEvent[] {
  switch (command.type) {
    case 'RecordDrill': {
      const d = command.data;
      if (state.drills.some((x) => x.drillId === d.drillId)) throw new KmsError('CONCURRENCY_CONFLICT', `drill ${d.drillId} is already recorded`);
      const dueDate = addBusinessDays(d.date, DRILL_FOLLOW_UP_BUSINESS_DAYS);
      const followUps = d.followUps.map((f, i) => ({ followUpId: i + 1, owner: f.owner, action: f.action, dueDate }));
      return [{ type: 'DrillRecorded', data: { ...d, followUps }, metadata: metadataOf(command.metadata) }];
    }
    case 'CloseDrillFollowUp': {
      const { drillId, followUpId } = command.data;
      const drill = state.drills.find((x) => x.drillId === drillId);
      if (!drill) throw invalidArgument('drill_id', 'no drill with this id');
      const followUp = drill.followUps.find((f) => f.followUpId === followUpId);
      if (!followUp) throw invalidArgument('follow_up_id', `drill ${drillId} has no follow-up ${followUpId}`);
      if (followUp.closed) throw new KmsError('ILLEGAL_TRANSITION', `follow-up ${followUpId} of drill ${drillId} was closed on ${followUp.closed.at}`, 'follow_up_id');
      return [{ type: 'DrillFollowUpClosed', data: { ...command.data }, metadata: metadataOf(command.metadata) }];
    }
    case 'ReportDrillsOverdue': {
      const status = drillStatus(state, command.metadata.now);
      const alerts: Array<DrillOverdueReported['data']> = [
        ...(status.monthlyDrillOverdue ? [{ subject: 'MONTHLY_DRILL' as const, dueDate: status.nextDrillDue ?? 'none' }] : []),
        ...status.openFollowUps
          .filter((f) => f.overdue)
          .map((f) => ({ subject: 'FOLLOW_UP' as const, dueDate: f.dueDate, drillId: f.drillId, followUpId: f.followUpId, owner: f.owner, action: f.action })),
      ];
      const done = new Set(state.alerted ?? []);
      return alerts.filter((a) => !done.has(alertKey(a))).map((data) => ({ type: 'DrillOverdueReported' as const, data, metadata: metadataOf(command.metadata) }));
    }
    default: {
      const never: never = command;
      throw new Error(`unknown command ${String(never)}`);
    }
  }
}

function evolve(state: DrillLogState, event: DrillLogEvent): DrillLogState {
  switch (event.type) {
    case 'DrillRecorded':
      return { ...state, drills: [...state.drills, { ...event.data, recordedAt: event.metadata.occurredAt, recordedBy: event.metadata.actor, followUps: event.data.followUps.map((f) => ({ ...f })) }] };
    case 'DrillFollowUpClosed': {
      const { drillId, followUpId, note } = event.data;
      const closed = { at: event.metadata.occurredAt, by: event.metadata.actor, note };
      return {
        ...state,
        drills: state.drills.map((d) => (d.drillId !== drillId ? d : { ...d, followUps: d.followUps.map((f) => (f.followUpId === followUpId ? { ...f, closed } : f)) })),
      };
    }
    case 'DrillOverdueReported':
      return { ...state, alerted: [...(state.alerted ?? []), alertKey(event.data)] };
    default: {
      const never: never = event;
      return never;
    }
  }
}

/** The drill log's decider: drills are recorded once, follow-ups closed once. */
export const drillLogDecider: Decider<DrillLogCommand, DrillLogEvent, DrillLogState> = {
  decide,
  evolve,
  initialState: () => ({ drills: [] }),
};

/** What is overdue at `now`: the monthly drill (none dated within DRILL_INTERVAL_DAYS) and open follow-ups past their due date. */
export interface DrillStatus {
  lastDrill?: DrillState;
  monthlyDrillOverdue: boolean;
  /** The day the next drill is due by (the last one's date + DRILL_INTERVAL_DAYS), absent without any drill. */
  nextDrillDue?: string;
  openFollowUps: Array<DrillFollowUpState & { drillId: string; overdue: boolean }>;
}

/** The drill log's status at `now` (the scheduler's alerts and the compliance view read this). */
export function drillStatus(state: DrillLogState, now: Date): DrillStatus {
  const today = now.toISOString().slice(0, 10);
  const lastDrill = [...state.drills].sort((a, b) => a.date.localeCompare(b.date) || a.recordedAt.localeCompare(b.recordedAt)).at(-1);
  const nextDrillDue = lastDrill ? new Date(new Date(`${lastDrill.date}T00:00:00.000Z`).getTime() + DRILL_INTERVAL_DAYS * DAY_MS).toISOString().slice(0, 10) : undefined;
  const openFollowUps = state.drills.flatMap((d) => d.followUps.filter((f) => !f.closed).map((f) => ({ ...f, drillId: d.drillId, overdue: f.dueDate < today })));
  return { ...(lastDrill ? { lastDrill, nextDrillDue } : {}), monthlyDrillOverdue: !nextDrillDue || nextDrillDue < today, openFollowUps };
}
