import type { Notice, OutboxRelay } from '@kms/notices';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Prometheus metrics of the notice relay; lag figures are read from the relay at scrape time. */
export class NoticeMetrics {
  private readonly latency: Histogram;
  private readonly published: Counter;
  private readonly retries: Counter;

  constructor(registry: Registry, relay: () => OutboxRelay | undefined) {
    this.latency = new Histogram({
      name: 'kms_notice_publish_latency_seconds',
      help: 'Time from the event being recorded in the store to the broker acknowledging its notice (acks=all).',
      labelNames: ['type'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
      registers: [registry],
    });
    this.published = new Counter({ name: 'kms_notices_published_total', help: 'Notices acknowledged by the broker.', labelNames: ['type'], registers: [registry] });
    this.retries = new Counter({ name: 'kms_notice_relay_retries_total', help: 'Failed attempts the relay retried, by stage.', labelNames: ['stage'], registers: [registry] });
    new Gauge({
      name: 'kms_notices_lag_positions',
      help: 'Event store head position minus the position the notice relay has handled.',
      registers: [registry],
      async collect() {
        const r = relay();
        if (r) this.set(Number((await r.lag()).positions));
      },
    });
    new Gauge({
      name: 'kms_notices_oldest_unpublished_age_seconds',
      help: 'Age of the oldest notice not yet acknowledged by the broker (0 when none waits).',
      registers: [registry],
      async collect() {
        const r = relay();
        if (r) this.set((await r.lag()).oldestUnpublishedSeconds);
      },
    });
    new Gauge({
      name: 'kms_notices_checkpoint_position',
      help: 'Event store position committed by the notice relay.',
      registers: [registry],
      collect() {
        const r = relay();
        if (r) this.set(Number(r.snapshot().checkpoint));
      },
    });
  }

  /** Pass as OutboxRelayOptions.onAcknowledged. */
  acknowledged(notice: Notice, latencyMs: number): void {
    this.latency.observe({ type: notice.type }, latencyMs / 1000);
    this.published.inc({ type: notice.type });
  }

  /** Pass as OutboxRelayOptions.onRetry. */
  retried(stage: string): void {
    this.retries.inc({ stage });
  }
}
