import type { StoredEvent } from '@kms/event-store';

/** Stream of the deliveries of one source event: `notification-deliveries-<event id>`. */
export const NOTIFICATION_DELIVERY_STREAM_PREFIX = 'notification-deliveries-';
export const notificationDeliveryStreamId = (sourceEventId: string): string => `${NOTIFICATION_DELIVERY_STREAM_PREFIX}${sourceEventId}`;

/** One delivery (or dead letter) as recorded: who was told, how, and what the server answered. */
export interface DeliveryRecord {
  outcome: 'DELIVERED' | 'DEAD_LETTERED';
  sourceEventId: string;
  sourcePosition: string;
  kind: string;
  severity: string;
  list: string;
  channel: string;
  recipients: string[];
  attempts: number;
  at: string;
  approvalId?: string;
  keyId?: string;
  operation?: string;
  smtpMessageId?: string;
  smtpResponse?: string;
  httpStatus?: number;
  error?: string;
}

/** Delivery records read from NotificationDelivered / NotificationDeliveryFailed events, by approval and key. */
export class NotificationDeliveries {
  private readonly all: DeliveryRecord[] = [];
  private readonly seen = new Set<string>();

  /** Apply a store event (others are ignored). */
  apply(e: StoredEvent): void {
    if (e.type !== 'NotificationDelivered' && e.type !== 'NotificationDeliveryFailed') return;
    if (this.seen.has(e.id)) return;
    this.seen.add(e.id);
    this.add(e.type, e.data);
  }

  /** Turn a delivery event's data into a record (the relay keeps its own before the store echoes it). */
  record(type: string, data: Record<string, unknown>): DeliveryRecord {
    return toRecord(type, data);
  }

  private add(type: string, data: Record<string, unknown>): void {
    this.all.push(toRecord(type, data));
  }

  /** Records matching every given filter, oldest first. */
  find(filter: { approvalId?: string; keyId?: string; kind?: string } = {}): DeliveryRecord[] {
    return this.all.filter(
      (r) => (!filter.approvalId || r.approvalId === filter.approvalId) && (!filter.keyId || r.keyId === filter.keyId) && (!filter.kind || r.kind === filter.kind),
    );
  }
}

function toRecord(type: string, d: Record<string, unknown>): DeliveryRecord {
  const str = (k: string): string | undefined => (typeof d[k] === 'string' ? (d[k] as string) : undefined);
  const optional = <K extends string, V>(k: K, v: V | undefined): Partial<Record<K, V>> => (v === undefined ? {} : ({ [k]: v } as Record<K, V>));
  return {
    outcome: type === 'NotificationDelivered' ? 'DELIVERED' : 'DEAD_LETTERED',
    sourceEventId: str('sourceEventId') ?? '',
    sourcePosition: str('sourcePosition') ?? '',
    kind: str('kind') ?? '',
    severity: str('severity') ?? '',
    list: str('list') ?? '',
    channel: str('channel') ?? '',
    recipients: Array.isArray(d['recipients']) ? d['recipients'].map(String) : [],
    attempts: typeof d['attempts'] === 'number' ? d['attempts'] : 0,
    at: str('at') ?? '',
    ...optional('approvalId', str('approvalId')),
    ...optional('keyId', str('keyId')),
    ...optional('operation', str('operation')),
    ...optional('smtpMessageId', str('smtpMessageId')),
    ...optional('smtpResponse', str('smtpResponse')),
    ...optional('httpStatus', typeof d['httpStatus'] === 'number' ? d['httpStatus'] : undefined),
    ...optional('error', str('error')),
  };
}

/** True for a NotificationDelivered / NotificationDeliveryFailed event (the ledger files it under its key). */
export function isNotificationDelivery(e: { streamId: string; type: string }): boolean {
  return e.streamId.startsWith(NOTIFICATION_DELIVERY_STREAM_PREFIX) && (e.type === 'NotificationDelivered' || e.type === 'NotificationDeliveryFailed');
}
