import { testConfig } from '@kms/anomaly-rules/testing';
import { InMemoryEventStore } from '@kms/event-store';
import { Registry } from 'prom-client';
import { MemoryAuditFeed, MemoryStateStore, RecordingContainment, memoryDetector, refusedCalls } from './detector-test-doubles';
import type { AnomalyDetectorService } from './anomaly-detector.service';

const rules = testConfig((c) => {
  c.spike.enabled = false;
  c.origin.enabled = false;
  c.offHours.enabled = false;
  c.versionState.enabled = false;
  c.breakGlass.enabled = false;
  c.bulkAccess.enabled = false;
  c.refusedBurst.perSource = false;
});

async function until(what: string, probe: () => boolean | Promise<boolean>, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('AnomalyDetectorService health() and metrics()', () => {
  let detector: AnomalyDetectorService | undefined;
  afterEach(async () => {
    await detector?.stop();
    detector = undefined;
  });
  const parts = () => ({ feed: new MemoryAuditFeed(), events: new InMemoryEventStore(), state: new MemoryStateStore(), containment: new RecordingContainment() });

  it('is not ready before start and after stop, and ready once running and caught up', async () => {
    const p = parts();
    p.feed.append(...refusedCalls(3, 'wl-a'));
    detector = memoryDetector(rules, p, { pollMs: 10 });
    await expect(detector.health()).rejects.toThrow('follower is stopped');
    await detector.start();
    await until('catch-up', () => detector?.stats.position === 3n);
    await expect(detector.health()).resolves.toBeUndefined();
    await detector.stop();
    await expect(detector.health()).rejects.toThrow('follower is stopped');
  });

  it('is not ready when more than maxLagPositions records are waiting', async () => {
    const p = parts();
    detector = memoryDetector(rules, p, { pollMs: 60_000 });
    await detector.start();
    await until('first (empty) batch', () => detector?.health().then(() => true, () => false) ?? false);
    p.feed.append(...refusedCalls(5, 'wl-a'));
    await expect(detector.health({ maxLagPositions: 10 })).resolves.toBeUndefined();
    await expect(detector.health({ maxLagPositions: 3 })).rejects.toThrow('5 audit records behind (more than 3)');
  });

  it('is not ready while batches fail, and ready again once one succeeds', async () => {
    const p = parts();
    p.feed.append(...refusedCalls(2, 'wl-a'));
    p.state.failNextCommit = true;
    const errors: string[] = [];
    detector = memoryDetector(rules, p, { pollMs: 200, log: (level, m) => void (level === 'error' && errors.push(m)) });
    await detector.start();
    await until('the failed batch', () => errors.length > 0);
    await expect(detector.health()).rejects.toThrow('last batch failed: crash before the checkpoint commit');
    await until('recovery', () => detector?.stats.position === 2n && detector.stats.lastError === null);
    await expect(detector.health()).resolves.toBeUndefined();
  });

  it('exports records evaluated, findings by rule and severity, containments and lag to Prometheus', async () => {
    const p = parts();
    p.feed.append(...refusedCalls(25, 'wl-orders'));
    detector = memoryDetector(rules, p, { batchSize: 10 });
    const registry = new Registry();
    detector.metrics(registry);
    await detector.tick();
    // a full batch refreshes the head: 25 stored, 10 evaluated
    let text = await registry.metrics();
    expect(text).toContain('kms_anomaly_detector_records_evaluated_total 10');
    expect(text).toContain('kms_anomaly_detector_lag_positions 15');
    expect(text).toContain('kms_anomaly_detector_position 10');
    expect(text).toContain('# TYPE kms_anomaly_detector_findings_total counter');
    while (await detector.tick());
    text = await registry.metrics();
    expect(text).toContain('kms_anomaly_detector_records_evaluated_total 25');
    expect(text).toContain('kms_anomaly_detector_findings_total{rule="refused-burst",severity="high"} 1');
    expect(text).toContain('kms_anomaly_detector_containments_total 1');
    expect(text).toContain('kms_anomaly_detector_lag_positions 0');
    expect(text).toContain('kms_anomaly_detector_up 0'); // never started
  });
});
