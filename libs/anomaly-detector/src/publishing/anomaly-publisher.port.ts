import type { AnomalyFinding } from '@kms/anomaly-rules';
import { CloudEvent } from 'cloudevents';

/** Topic of anomaly notices. */
export const ANOMALY_TOPIC = 'kms.anomalies.v1';
/** CloudEvents type of an anomaly notice. */
export const ANOMALY_NOTICE_TYPE = 'kms.anomaly.detected.v1';

/**
 * Sends AnomalyDetected notices. The detector's own minimal port: libs/notices' NoticePublisher
 * only carries key and approval notices. At-least-once; consumers deduplicate by the CloudEvent id
 * (the finding's deterministic id).
 */
export interface AnomalyPublisher {
  readonly description: string;
  publish(finding: AnomalyFinding, source: string): Promise<void>;
  close(): Promise<void>;
}

/** The structured-mode CloudEvent JSON of a finding. */
export function anomalyCloudEventJson(finding: AnomalyFinding, source: string, time: Date): string {
  const ce = new CloudEvent<AnomalyFinding>({
    specversion: '1.0',
    id: finding.id,
    type: ANOMALY_NOTICE_TYPE,
    source,
    subject: finding.identityId ?? finding.keyId ?? finding.source ?? 'unknown',
    time: time.toISOString(),
    datacontenttype: 'application/json',
    data: finding,
    kmsseverity: finding.severity,
    kmsurgent: finding.severity === 'critical' || finding.severity === 'high',
  });
  return JSON.stringify(ce.toJSON());
}

/** Publisher for tests and for running without a broker (keeps messages in memory). */
export class InMemoryAnomalyPublisher implements AnomalyPublisher {
  readonly description = 'in-memory';
  readonly messages: Array<{ key: string; value: string }> = [];
  async publish(finding: AnomalyFinding, source: string): Promise<void> {
    this.messages.push({ key: finding.identityId ?? finding.keyId ?? finding.id, value: anomalyCloudEventJson(finding, source, new Date(finding.window.start)) });
  }
  async close(): Promise<void> {
    return undefined;
  }
}
