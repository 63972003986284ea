import { buildKeyFacts, createRuleContext, evaluateStream, type AnomalyFinding, type LifecycleEvent } from '@kms/anomaly-rules';
import { testConfig, usage } from '@kms/anomaly-rules/testing';
import { InMemoryEventStore } from '@kms/event-store';
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { MemoryAuditFeed, MemoryStateStore, RecordingContainment, memoryDetector } from './detector-test-doubles';
import type { AnomalyDetectorService } from './anomaly-detector.service';

// Only the rules that depend on lifecycle facts.
const rules = testConfig((c) => {
  c.spike.enabled = false;
  c.origin.enabled = false;
  c.offHours.enabled = false;
  c.refusedBurst.enabled = false;
  c.bulkAccess.enabled = false;
});

const created = (keyId: string, purpose = 'SERVICE_ENVELOPE'): LifecycleEvent => ({ type: 'KeyCreated', data: { keyId, purpose }, metadata: { occurredAt: '2026-03-02T08:00:00.000Z' } });
const compromised = (keyId: string, version: number, at: string): LifecycleEvent => ({ type: 'KeyVersionCompromised', data: { keyId, version }, metadata: { occurredAt: at } });
/** A decrypt by wl-orders with version 1 of key-payments at 12:30, after the 12:00 compromise. */
const lateUse = () => usage({ time: new Date('2026-03-02T12:30:00.000Z'), operation: 'Decrypt', actor: 'wl-orders', keyId: 'key-payments', keyVersion: 1 });

type Parts = { feed: MemoryAuditFeed; events: InMemoryEventStore; state: MemoryStateStore; containment: RecordingContainment };
const parts = (): Parts => ({ feed: new MemoryAuditFeed(), events: new InMemoryEventStore(), state: new MemoryStateStore(), containment: new RecordingContainment() });

async function append(events: InMemoryEventStore, e: LifecycleEvent): Promise<void> {
  const keyId = String(e.data['keyId']);
  await events.appendToStream(`key-${keyId}`, [{ id: randomUUID(), ...e }], { expectedVersion: 'any' });
  // The in-memory subscription delivers on later ticks of the event loop.
  await new Promise((r) => setTimeout(r, 5));
}

/** The AnomalyDetected events in the store, with the types of each finding's stream. */
async function recorded(events: InMemoryEventStore): Promise<Array<{ finding: AnomalyFinding; stream: string[] }>> {
  const all: Array<{ streamId: string; type: string; data: Record<string, unknown> }> = [];
  const sub = events.subscribeToAll({}, { onEvent: (e) => void all.push(e) });
  await new Promise((r) => setTimeout(r, 5));
  await sub.stop();
  return all.filter((e) => e.type === 'AnomalyDetected').map((e) => ({ finding: e.data as unknown as AnomalyFinding, stream: all.filter((x) => x.streamId === e.streamId).map((x) => x.type) }));
}

describe('AnomalyDetectorService when the audit poll runs ahead of the lifecycle subscription', () => {
  const running: AnomalyDetectorService[] = [];
  afterEach(async () => {
    while (running.length > 0) await running.pop()?.stop();
  });
  /** Start a detector and let its first scheduled batch finish; later batches run only when a test calls tick(). */
  const started = async (p: Parts): Promise<AnomalyDetectorService> => {
    const d = memoryDetector(rules, p, { pollMs: 600_000 });
    running.push(d);
    const head = await p.feed.headPosition();
    await d.start();
    // stats.head is set only at the end of a batch (the feed is never empty here).
    for (let i = 0; i < 400 && !(d.stats.head >= head && d.stats.position === head); i++) await new Promise((r) => setTimeout(r, 5));
    expect(d.stats.position).toBe(head);
    return d;
  };

  it('given a use evaluated before KeyVersionCompromised is applied, when the event arrives, then the use is found once, high, with the id a timely evaluation gives, and the identity is suspended', async () => {
    const p = parts();
    await append(p.events, created('key-payments'));
    const use = lateUse();
    p.feed.append(use);
    const detector = await started(p);
    // The use was judged while the compromise was unknown to the detector.
    expect(await recorded(p.events)).toEqual([]);

    // The compromise was reported at 12:00; the detector applies it only now.
    const event = compromised('key-payments', 1, '2026-03-02T12:00:00.000Z');
    await append(p.events, event);
    await detector.tick();

    const found = await recorded(p.events);
    expect(found.map((f) => [f.finding.rule, f.finding.severity, f.finding.identityId, f.finding.keyId, f.finding.keyVersion, f.finding.evidence.auditRecordIds, f.stream])).toEqual([
      ['version-state', 'high', 'wl-orders', 'key-payments', 1, [use.id], ['AnomalyDetected', 'AnomalyContained']],
    ]);
    const timely = evaluateStream([use], createRuleContext(rules, buildKeyFacts([created('key-payments'), event]))).findings;
    expect(found.map((f) => f.finding.id)).toEqual(timely.map((f) => f.id));
    expect(p.containment.suspendCalls).toEqual(['wl-orders']);

    // Nothing more: the fact is checked once, and a later use in the same window is not a second finding.
    p.feed.append(usage({ ...lateUse(), time: new Date('2026-03-02T12:31:00.000Z') }));
    await detector.tick();
    await detector.tick();
    expect(await recorded(p.events)).toHaveLength(1);
    expect(detector.stats).toMatchObject({ findingsRecorded: 1, findingsReplayed: 0, factRechecks: 1 });
    const registry = new Registry();
    detector.metrics(registry);
    expect(await registry.metrics()).toContain('kms_anomaly_detector_fact_rechecks_total 1');
    expect(p.feed.useQueries).toHaveLength(1);
    expect(p.feed.useQueries[0]).toMatchObject({ keyId: 'key-payments', version: 1, from: new Date('2026-03-02T12:00:00.000Z'), afterPosition: 0n, throughPosition: 1n });
  });

  it('gives the same findings whichever feed is read first', async () => {
    const outcome = async (eventFirst: boolean) => {
      const p = parts();
      await append(p.events, created('key-payments'));
      const records = [
        usage({ time: new Date('2026-03-02T11:59:00.000Z'), actor: 'wl-orders', keyId: 'key-payments', keyVersion: 1 }), // before the compromise: fine
        usage({ time: new Date('2026-03-02T12:30:00.000Z'), actor: 'wl-orders', keyId: 'key-payments', keyVersion: 1, id: 'use-1' }),
        usage({ time: new Date('2026-03-02T12:41:00.000Z'), actor: 'wl-billing', keyId: 'key-payments', keyVersion: 1, operation: 'Encrypt', id: 'use-2' }),
        usage({ time: new Date('2026-03-02T12:42:00.000Z'), actor: 'wl-billing', keyId: 'key-payments', keyVersion: 2, id: 'use-3' }), // another version: fine
      ];
      if (eventFirst) await append(p.events, compromised('key-payments', 1, '2026-03-02T12:00:00.000Z'));
      p.feed.append(...records);
      const d = await started(p);
      if (!eventFirst) await append(p.events, compromised('key-payments', 1, '2026-03-02T12:00:00.000Z'));
      await d.tick();
      await d.tick();
      const found = await recorded(p.events);
      return { ids: found.map((f) => f.finding.id).sort(), evidence: found.map((f) => f.finding.evidence.auditRecordIds).sort(), suspended: [...p.containment.suspended].sort() };
    };
    const inOrder = await outcome(true);
    const auditFirst = await outcome(false);
    expect(inOrder.evidence).toEqual([['use-1'], ['use-2']]);
    expect(inOrder.suspended).toEqual(['wl-billing', 'wl-orders']);
    expect(auditFirst).toEqual(inOrder);
  });

  it('given the compromise arrived but the process stopped before checking again, when a new detector starts from the checkpoint, then the use is found', async () => {
    const p = parts();
    await append(p.events, created('key-payments'));
    const use = lateUse();
    p.feed.append(use);
    const first = await started(p);
    await append(p.events, compromised('key-payments', 1, '2026-03-02T12:00:00.000Z'));
    await first.stop();
    expect(p.state.checkpoint).toBe(1n);
    expect(p.state.factsCheckpoint).toBe(1n); // only KeyCreated was reflected in the committed record

    const second = await started(p);
    await second.tick();
    expect((await recorded(p.events)).map((f) => [f.finding.rule, f.finding.evidence.auditRecordIds])).toEqual([['version-state', [use.id]]]);
    expect(p.state.factsCheckpoint).toBe(2n);

    // A third start has nothing left to check again.
    await second.stop();
    const queries = p.feed.useQueries.length;
    const third = await started(p);
    await third.tick();
    expect(p.feed.useQueries).toHaveLength(queries);
    expect(third.stats).toMatchObject({ findingsRecorded: 0, findingsReplayed: 0, factRechecks: 0 });
  });

  it('given the compromise is applied while a later batch is read, and the process stops after committing that batch, when it restarts, then the earlier use is still found', async () => {
    const p = parts();
    await append(p.events, created('key-payments'));
    const use = lateUse();
    p.feed.append(use);
    const first = await started(p);
    // The next batch (an unrelated record) is judged with the fact; the earlier use was not, and is not checked again before the stop.
    p.feed.append(usage({ time: new Date('2026-03-02T12:35:00.000Z'), actor: 'wl-billing', keyId: 'key-other' }));
    p.feed.beforeNextRead = () => append(p.events, compromised('key-payments', 1, '2026-03-02T12:00:00.000Z'));
    await first.tick();
    await first.stop();
    expect(p.state.checkpoint).toBe(2n);
    expect(await recorded(p.events)).toEqual([]);
    // The committed facts position stops before the compromise, since a committed record has not seen it.
    expect(p.state.factsCheckpoint).toBe(1n);

    const second = await started(p);
    await second.tick();
    expect((await recorded(p.events)).map((f) => [f.finding.rule, f.finding.evidence.auditRecordIds])).toEqual([['version-state', [use.id]]]);
  });

  it('given the checkpoint commit of the recheck fails, when it restarts, then the finding is still recorded and contained exactly once', async () => {
    const p = parts();
    await append(p.events, created('key-payments'));
    p.feed.append(lateUse());
    const first = await started(p);
    await append(p.events, compromised('key-payments', 1, '2026-03-02T12:00:00.000Z'));
    p.state.failNextCommit = true;
    await expect(first.tick()).rejects.toThrow('crash before the checkpoint commit');
    await first.stop();

    const second = await started(p);
    await second.tick();
    const found = await recorded(p.events);
    expect(found.map((f) => f.stream)).toEqual([['AnomalyDetected', 'AnomalyContained']]);
    expect(second.stats).toMatchObject({ findingsRecorded: 0, findingsReplayed: 1, containments: 0 });
    expect(p.containment.suspendCalls).toEqual(['wl-orders']);
    // Past the compromise (position 2); the detector's own events follow it.
    expect(p.state.factsCheckpoint).toBeGreaterThanOrEqual(2n);
  });

  it('given a use of a key evaluated before its break-glass KeyCreated is applied, when the event arrives, then the use is reported', async () => {
    const p = parts();
    const use = usage({ time: new Date('2026-03-02T09:00:00.000Z'), actor: 'wl-ops', keyId: 'key-bg', operation: 'Decrypt', outcome: 'DENIED', errorCode: 'PERMISSION_DENIED' });
    p.feed.append(usage({ time: new Date('2026-03-02T08:59:00.000Z'), actor: 'wl-orders', keyId: 'key-payments' }), use);
    const detector = await started(p);
    await append(p.events, created('key-bg', 'BREAK_GLASS'));
    await append(p.events, created('key-payments'));
    await detector.tick();
    expect((await recorded(p.events)).map((f) => [f.finding.rule, f.finding.severity, f.finding.identityId, f.finding.evidence.auditRecordIds, f.stream])).toEqual([
      ['break-glass', 'medium', 'wl-ops', [use.id], ['AnomalyDetected', 'AnomalyContained']],
    ]);
    // Only the break-glass key is looked up; an ordinary key's creation concerns no rule.
    expect(p.feed.useQueries.map((q) => [q.keyId, q.version])).toEqual([['key-bg', null]]);
    expect(p.containment.suspendCalls).toEqual([]);
  });
});
