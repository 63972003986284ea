import { testConfig } from '@kms/anomaly-rules/testing';
import { loadConfig } from '@kms/config';
import { InMemoryEventStore } from '@kms/event-store';
import { ensureDatabase, testDatabaseUrl } from '@kms/persistence-postgres';
import { createHttpApp } from '@kms/platform';
import { randomBytes } from 'node:crypto';
import { AnomalyDetectorModule } from './anomaly-detector.module';
import { MemoryAuditFeed, MemoryStateStore, RecordingContainment, memoryDetector, refusedCalls } from './follower/detector-test-doubles';

const DATABASE_URL = testDatabaseUrl();
const config = () =>
  loadConfig({
    KMS_HTTP_ADDRESS: '127.0.0.1:0',
    KMS_DATABASE_URL: DATABASE_URL,
    KMS_REDIS_URL: process.env['KMS_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379',
    KMS_MASTER_KEY: randomBytes(32).toString('base64'),
  });
const rules = testConfig((c) => {
  c.spike.enabled = false;
  c.origin.enabled = false;
  c.refusedBurst.perSource = false;
});

describe('AnomalyDetectorModule given the follower', () => {
  beforeAll(() => ensureDatabase(DATABASE_URL));

  it('reports "anomaly-detector.follower" on /readyz (ok while running, failed when behind or stopped) and its metrics on /metrics', async () => {
    const parts = { feed: new MemoryAuditFeed(), events: new InMemoryEventStore(), state: new MemoryStateStore(), containment: new RecordingContainment() };
    parts.feed.append(...refusedCalls(25, 'wl-orders'));
    const detector = memoryDetector(rules, parts, { pollMs: 60_000 });
    const { app, url } = await createHttpApp(AnomalyDetectorModule.forRoot(config(), { detector, maxLagPositions: 5 }), config().http, { logger: false });
    try {
      const notStarted = await fetch(`${url}/readyz`);
      expect(notStarted.status).toBe(503);
      expect(await notStarted.json()).toMatchObject({ checks: expect.arrayContaining([expect.objectContaining({ name: 'anomaly-detector.follower', status: 'failed', error: 'follower is stopped' })]) });

      await detector.start();
      const deadline = Date.now() + 5000;
      while (detector.stats.position < 25n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(200);
      expect((await ready.json()) as { checks: Array<{ name: string }> }).toMatchObject({
        status: 'ok',
        checks: [{ name: 'anomaly-detector.redis' }, { name: 'anomaly-detector.postgres' }, { name: 'anomaly-detector.follower', status: 'ok' }],
      });
      const text = await (await fetch(`${url}/metrics`)).text();
      expect(text).toContain('kms_anomaly_detector_records_evaluated_total 25');
      expect(text).toContain('kms_anomaly_detector_findings_total{rule="refused-burst",severity="high"} 1');
      expect(text).toContain('kms_anomaly_detector_up 1');
      expect(text).toContain('kms_health_check_up{check="anomaly-detector.follower"} 1');

      // Six records arrive while the follower is not polling (60 s): more than 5 behind.
      parts.feed.append(...refusedCalls(6, 'wl-billing', new Date('2026-03-02T10:00:00.000Z')));
      const behind = await fetch(`${url}/readyz`);
      expect(behind.status).toBe(503);
      expect(await behind.json()).toMatchObject({ checks: expect.arrayContaining([expect.objectContaining({ name: 'anomaly-detector.follower', error: '6 audit records behind (more than 5)' })]) });
    } finally {
      await app.close();
    }
    // Closing the app stops the follower.
    expect(detector.isRunning).toBe(false);
  });
});
