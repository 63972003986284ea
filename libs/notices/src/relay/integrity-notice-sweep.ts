import type { CheckpointStore } from '@kms/event-store';
import { type IntegrityNotice, NOTICE_TYPES } from '../notice/notice.model';
import type { NoticePublisher } from '../ports/notice-publisher.port';

/** The audit operation an integrity alarm is recorded under (IntegrityAlarm in @kms/application). */
export const INTEGRITY_VIOLATION_OPERATION = 'IntegrityViolation';

/** An `IntegrityViolation` audit record as read back, with its audit position. */
export interface IntegrityAlarmRecord {
  position: bigint;
  time: Date;
  actor: string;
  details?: Record<string, string | number | boolean>;
}

/** Where the sweep reads alarms: audit records of one operation, after a position, up to the head. */
export interface IntegrityAlarmFeed {
  readOperation(operation: string, afterPosition: bigint, throughPosition: bigint, limit: number): Promise<IntegrityAlarmRecord[]>;
  headPosition(): Promise<bigint>;
}

function text(details: IntegrityAlarmRecord['details'], key: string): string | null {
  const v = details?.[key];
  return typeof v === 'string' ? v : null;
}

/** The urgent notice of an alarm record. Its id is the alarm id: every process that found it sends the same. */
export function integrityNotice(record: IntegrityAlarmRecord, source: string): IntegrityNotice | undefined {
  const alarmId = text(record.details, 'alarmId');
  const kind = text(record.details, 'source');
  if (!alarmId || (kind !== 'events' && kind !== 'audit_records' && kind !== 'ledger')) return undefined;
  const version = record.details?.['streamVersion'];
  return {
    id: alarmId,
    type: NOTICE_TYPES.integrityViolation,
    source,
    subject: `integrity/${kind}`,
    time: record.time.toISOString(),
    position: record.position,
    urgent: true,
    data: {
      alarmId,
      source: kind,
      position: text(record.details, 'position'),
      recordId: text(record.details, 'recordId'),
      streamId: text(record.details, 'streamId'),
      streamVersion: typeof version === 'number' ? version : null,
      problem: text(record.details, 'problem') ?? 'unknown',
      detectedBy: record.actor.replace(/^system:/, ''),
      detectedAt: record.time.toISOString(),
      tenant: null,
      urgent: true,
    },
  };
}

export interface IntegrityNoticeSweepOptions {
  feed: IntegrityAlarmFeed;
  /** Keeps the sweep's checkpoint (the notice store). */
  checkpoints: Pick<CheckpointStore, 'loadCheckpoint'> & { commit(relay: string, position: bigint): Promise<void> };
  publisher: NoticePublisher;
  /** CloudEvents `source` of the notices. */
  source: string;
  /** Checkpoint name. Default `kms-integrity-alarms`. */
  name?: string;
  /** How often the audit trail is read for new alarms. Default 2000 ms. */
  intervalMs?: number;
  onError?: (error: Error) => void;
  onPublished?: (notice: IntegrityNotice) => void;
}

/**
 * Sends every integrity alarm as an urgent notice (`kms.integrity.violation.v1`). Alarms are recorded
 * in the audit trail by whichever process found them (the key service, the projector, a follower);
 * the sweep reads them from there in position order and publishes each before moving its checkpoint,
 * so an alarm is sent at least once even if the process that found it has no broker. Alarms do not go
 * through the event store on purpose: its followers stop at the forged row and would never reach them.
 */
export class IntegrityNoticeSweep {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = true;
  private readonly name: string;

  constructor(private readonly options: IntegrityNoticeSweepOptions) {
    this.name = options.name ?? 'kms-integrity-alarms';
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** Publish every alarm recorded since the checkpoint; answers how many were published. */
  async sweepOnce(): Promise<number> {
    const { feed, publisher, checkpoints } = this.options;
    let after = await checkpoints.loadCheckpoint(this.name);
    const head = await feed.headPosition();
    let published = 0;
    while (after < head) {
      const records = await feed.readOperation(INTEGRITY_VIOLATION_OPERATION, after, head, 100);
      for (const r of records) {
        const notice = integrityNotice(r, this.options.source);
        if (notice) {
          await publisher.publish(notice);
          this.options.onPublished?.(notice);
          published += 1;
        }
        await checkpoints.commit(this.name, r.position);
      }
      if (records.length < 100) break;
      after = (records[records.length - 1] as IntegrityAlarmRecord).position;
    }
    await checkpoints.commit(this.name, head);
    return published;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.running = this.sweepOnce()
        .then(
          () => undefined,
          (e: unknown) => this.options.onError?.(e instanceof Error ? e : new Error(String(e))),
        )
        .finally(() => {
          if (!this.stopped) this.schedule(this.options.intervalMs ?? 2000);
        });
    }, delayMs);
  }
}
