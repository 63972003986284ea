import type { IntegrityAlarm } from '@kms/application';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { HealthRegistry } from './health-registry';

/**
 * Make a process's integrity alarm visible: the readiness check `name` fails naming the records while
 * an alarm is active, `kms_integrity_alarm{…}` is 1 per alarm (labels name the record, never its data)
 * and `kms_integrity_alarms_total{source}` counts them. Returns the unsubscribe (module destroy).
 */
export function exposeIntegrityAlarm(alarm: IntegrityAlarm, health: HealthRegistry, metrics: Registry, name: string): () => void {
  health.register(alarm.healthCheck(name));
  const active =
    (metrics.getSingleMetric('kms_integrity_alarm') as Gauge | undefined) ??
    new Gauge({
      name: 'kms_integrity_alarm',
      help: '1 for each integrity alarm raised since the process started: a forged, edited, moved or missing history record, named by its labels.',
      labelNames: ['alarm_id', 'source', 'position', 'record', 'detected_by', 'problem'],
      registers: [metrics],
    });
  const total =
    (metrics.getSingleMetric('kms_integrity_alarms_total') as Counter | undefined) ??
    new Counter({ name: 'kms_integrity_alarms_total', help: 'Integrity alarms raised since the process started.', labelNames: ['source'], registers: [metrics] });
  return alarm.subscribe((a) => {
    const record = a.source === 'events' ? `${a.streamId ?? ''}@${a.streamVersion ?? ''}` : (a.recordId ?? '');
    active.set({ alarm_id: a.id, source: a.source, position: a.position ?? '', record, detected_by: a.detectedBy, problem: a.problem }, 1);
    total.inc({ source: a.source });
  });
}
