import { Counter, Gauge, type Registry } from 'prom-client';
import type { NotificationRelay } from '../relay/notification-relay';
import type { DeliveryRecord } from '../relay/notification-deliveries';

/** Prometheus metrics of the notification relay; backlog figures are read from the relay at scrape time. */
export class NotificationMetrics {
  private readonly deliveredTotal: Counter;
  private readonly deadLetteredTotal: Counter;
  private readonly retries: Counter;

  constructor(registry: Registry, relay: () => NotificationRelay | undefined) {
    this.deliveredTotal = new Counter({ name: 'kms_notifications_delivered_total', help: 'Notifications accepted by the SMTP server or Slack webhook.', labelNames: ['channel', 'kind'], registers: [registry] });
    this.deadLetteredTotal = new Counter({
      name: 'kms_notifications_dead_lettered_total',
      help: 'Notifications given up on after the last attempt (recorded as NotificationDeliveryFailed).',
      labelNames: ['channel', 'kind'],
      registers: [registry],
    });
    this.retries = new Counter({ name: 'kms_notification_retries_total', help: 'Failed attempts retried, by channel (or store stage).', labelNames: ['channel'], registers: [registry] });
    new Gauge({
      name: 'kms_notifications_lag_positions',
      help: 'Event store head position minus the position the notification relay has handled.',
      registers: [registry],
      async collect() {
        const r = relay();
        if (r) this.set(Number((await r.lag()).positions));
      },
    });
    new Gauge({
      name: 'kms_notifications_oldest_undelivered_age_seconds',
      help: 'Age of the event whose notification is being delivered (0 when none waits).',
      registers: [registry],
      async collect() {
        const r = relay();
        if (r) this.set((await r.lag()).oldestUndeliveredSeconds);
      },
    });
    new Gauge({
      name: 'kms_notifications_checkpoint_position',
      help: 'Event store position committed by the notification relay.',
      registers: [registry],
      collect() {
        const r = relay();
        if (r) this.set(Number(r.snapshot().checkpoint));
      },
    });
  }

  delivered(r: DeliveryRecord): void {
    this.deliveredTotal.inc({ channel: r.channel, kind: r.kind });
  }

  deadLettered(r: DeliveryRecord): void {
    this.deadLetteredTotal.inc({ channel: r.channel, kind: r.kind });
  }

  retried(channel: string): void {
    this.retries.inc({ channel });
  }
}
