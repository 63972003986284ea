import { createHash, randomUUID } from 'node:crypto';
import { EventIntegrityError, type EventSealer } from '@kms/event-store';
import { type AuditLog, type Clock, systemClock } from '../ports/audit-log.port';

/** Where a violation was found: the event store, the audit trail, or the ledger built from them. */
export type IntegritySource = 'events' | 'audit_records' | 'ledger';

/**
 * History that does not hold: a row the KMS did not write, edited or moved after it was written, or
 * missing. Names the record (never its contents) so an operator can go and look at it.
 */
export interface IntegrityViolation {
  source: IntegritySource;
  /** The record's place in its table: global position (events), position (audit), leaf index (ledger). */
  position: string | null;
  /** Event id or audit record id, when known. */
  recordId: string | null;
  /** Events only: the stream and version. */
  streamId?: string;
  streamVersion?: number;
  /** What is wrong, in words (no data of the record). */
  problem: string;
}

/** A violation as raised: the same violation found by two processes has the same `id`. */
export interface RaisedIntegrityAlarm extends IntegrityViolation {
  id: string;
  /** The process that found it (e.g. `audit-projector`). */
  detectedBy: string;
  detectedAt: Date;
}

/** Somewhere an alarm is delivered besides the log and the audit trail (urgent notices). */
export interface IntegrityAlarmSink {
  readonly name: string;
  deliver(alarm: RaisedIntegrityAlarm): Promise<void>;
}

export interface IntegrityAlarmOptions {
  /** Names the process in alarms and is the audit record's actor (`system:<detectedBy>`). */
  detectedBy: string;
  /** Each alarm is recorded here as an `IntegrityViolation` audit record (FAILURE, INTEGRITY_VIOLATION). */
  audit?: AuditLog;
  sinks?: IntegrityAlarmSink[];
  clock?: Clock;
  logger?: { error(message: string): void };
}

/** The alarm id: a UUID-shaped digest of what was found, so every process names one violation alike. */
export function integrityAlarmId(v: IntegrityViolation): string {
  const h = createHash('sha256')
    .update(JSON.stringify([v.source, v.position, v.recordId, v.streamId ?? null, v.streamVersion ?? null, v.problem]))
    .digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16] as string, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The violation an event seal check refused. */
export function eventViolation(e: EventIntegrityError): IntegrityViolation {
  return {
    source: 'events',
    position: e.globalPosition !== undefined ? e.globalPosition.toString() : null,
    recordId: null,
    streamId: e.streamId,
    streamVersion: e.streamVersion,
    problem: e.problem,
  };
}

/** How an alarm reads in logs, readiness and errors: the record named, nothing of its data. */
export function describeViolation(v: IntegrityViolation): string {
  const where =
    v.source === 'events'
      ? `event ${v.streamId ?? '?'} version ${v.streamVersion ?? '?'}${v.position !== null ? ` (position ${v.position})` : ''}`
      : `${v.source === 'ledger' ? 'ledger leaf' : 'audit record'}${v.position !== null ? ` at position ${v.position}` : ''}${v.recordId ? ` (${v.recordId})` : ''}`;
  return `${where}: ${v.problem}`;
}

/**
 * A process's integrity alarm. Raised when a reader refuses a row (through `watch(sealer)`) or the
 * ledger reconciliation finds a divergence. Each distinct violation is raised once per process: logged
 * as an error, recorded in the audit trail, handed to the sinks (the urgent notice), and kept as
 * active so readiness reports it until the process restarts — a forged row does not heal by itself.
 */
export class IntegrityAlarm {
  private readonly raised = new Map<string, RaisedIntegrityAlarm>();
  private readonly deliveries = new Set<Promise<void>>();
  private readonly listeners = new Set<(alarm: RaisedIntegrityAlarm) => void>();
  private readonly clock: Clock;
  private readonly actor: string;

  constructor(private readonly options: IntegrityAlarmOptions) {
    this.clock = options.clock ?? systemClock;
    this.actor = `system:${options.detectedBy}`;
  }

  /** Raise an alarm for every violation the sealer's checks find. Returns the unsubscribe. */
  watch(sealer: Pick<EventSealer, 'onViolation'>): () => void {
    return sealer.onViolation((e) => {
      if (e instanceof EventIntegrityError) this.raise(eventViolation(e));
    });
  }

  /** Raise an alarm for every violation an audit-trail sealer's checks find (AuditSealer, structurally). */
  watchAudit(sealer: { onViolation(observer: (violation: { position: bigint; recordId: string; problem: string }) => void): () => void }): () => void {
    return sealer.onViolation((e) => this.raise({ source: 'audit_records', position: e.position.toString(), recordId: e.recordId, problem: e.problem }));
  }

  /** Raise `v` (once: a violation already raised returns its first alarm). Delivery runs in the background. */
  raise(v: IntegrityViolation): RaisedIntegrityAlarm {
    const id = integrityAlarmId(v);
    const known = this.raised.get(id);
    if (known) return known;
    const alarm: RaisedIntegrityAlarm = { ...v, id, detectedBy: this.options.detectedBy, detectedAt: this.clock.now() };
    this.raised.set(id, alarm);
    this.options.logger?.error(`INTEGRITY ALARM ${id}: ${describeViolation(alarm)} (found by ${alarm.detectedBy})`);
    for (const listen of this.listeners) listen(alarm);
    const delivery = this.deliver(alarm).finally(() => this.deliveries.delete(delivery));
    this.deliveries.add(delivery);
    return alarm;
  }

  /** Call `listener` with every alarm raised so far and every one raised later (metrics). Returns the unsubscribe. */
  subscribe(listener: (alarm: RaisedIntegrityAlarm) => void): () => void {
    for (const alarm of this.raised.values()) listener(alarm);
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Every alarm raised since the process started, oldest first. */
  active(): RaisedIntegrityAlarm[] {
    return [...this.raised.values()];
  }

  /** Readiness: fails naming the records while any alarm is active. */
  healthCheck(name: string): { name: string; check(): Promise<void> } {
    return {
      name,
      check: async () => {
        const alarms = this.active();
        if (alarms.length === 0) return;
        const named = alarms.slice(0, 5).map(describeViolation).join('; ');
        throw new Error(`${alarms.length} integrity alarm(s): ${named}${alarms.length > 5 ? '; …' : ''}`);
      },
    };
  }

  /** Resolves when every delivery started so far has ended (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.deliveries.size > 0) await Promise.allSettled([...this.deliveries]);
  }

  private async deliver(alarm: RaisedIntegrityAlarm): Promise<void> {
    const failures: string[] = [];
    if (this.options.audit) {
      try {
        await this.options.audit.append({
          id: randomUUID(),
          time: alarm.detectedAt,
          requestId: alarm.id,
          operation: 'IntegrityViolation',
          actor: this.actor,
          actorRole: 'SYSTEM',
          outcome: 'FAILURE',
          errorCode: 'INTEGRITY_VIOLATION',
          details: {
            alarmId: alarm.id,
            source: alarm.source,
            problem: alarm.problem,
            ...(alarm.position !== null ? { position: alarm.position } : {}),
            ...(alarm.recordId !== null ? { recordId: alarm.recordId } : {}),
            ...(alarm.streamId !== undefined ? { streamId: alarm.streamId } : {}),
            ...(alarm.streamVersion !== undefined ? { streamVersion: alarm.streamVersion } : {}),
          },
        });
      } catch (e) {
        failures.push(`audit trail: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    for (const sink of this.options.sinks ?? []) {
      try {
        await sink.deliver(alarm);
      } catch (e) {
        failures.push(`${sink.name}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    if (failures.length > 0) this.options.logger?.error(`INTEGRITY ALARM ${alarm.id} not fully delivered: ${failures.join('; ')}`);
  }
}
