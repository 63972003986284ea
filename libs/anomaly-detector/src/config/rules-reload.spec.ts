import { InMemoryEventStore } from '@kms/event-store';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { MemoryAuditFeed, MemoryStateStore, RecordingContainment, memoryDetector, refusedCalls } from '../follower/detector-test-doubles';
import type { AnomalyDetectorService } from '../follower/anomaly-detector.service';
import { loadRulesFile, RulesReloader, rulesVersion } from './anomaly-detector.config';

// Only the refused-burst rule per identity, so the threshold alone decides.
const rulesDoc = (threshold: number | string) => ({
  spike: { enabled: false },
  origin: { enabled: false },
  offHours: { enabled: false },
  versionState: { enabled: false },
  breakGlass: { enabled: false },
  bulkAccess: { enabled: false },
  refusedBurst: { threshold, perSource: false },
});

describe('rules reload', () => {
  let dir: string;
  let file: string;
  let reloader: RulesReloader | undefined;
  const logs: Array<[string, string]> = [];
  const log = (level: 'log' | 'error', m: string) => void logs.push([level, m]);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kms-anomaly-rules-'));
    file = join(dir, 'rules.json');
    logs.length = 0;
  });
  afterEach(() => {
    reloader?.close();
    reloader = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const write = (doc: unknown) => writeFileSync(file, typeof doc === 'string' ? doc : JSON.stringify(doc));
  const setup = (): { detector: AnomalyDetectorService; feed: MemoryAuditFeed; findings: () => Promise<Array<{ threshold: unknown; count: number }>> } => {
    const parts = { feed: new MemoryAuditFeed(), events: new InMemoryEventStore(), state: new MemoryStateStore(), containment: new RecordingContainment() };
    const detector = memoryDetector(loadRulesFile(file), parts);
    const findings = async () => {
      const found: Array<{ threshold: unknown; count: number }> = [];
      const sub = parts.events.subscribeToAll({}, { onEvent: (e) => void (e.type === 'AnomalyDetected' && found.push({ threshold: (e.data['evidence'] as { facts: Record<string, unknown> }).facts['threshold'], count: (e.data['evidence'] as { count: number }).count })) });
      await new Promise((r) => setTimeout(r, 10));
      await sub.stop();
      return found;
    };
    return { detector, feed: parts.feed, findings };
  };
  const minute = (m: number) => new Date(Date.UTC(2026, 2, 2, 9, m));

  it('given threshold 20, when the file is changed to 10 and reloaded, then a stream of 15 refusals that passed before is a finding', async () => {
    write(rulesDoc(20));
    const { detector, feed, findings } = setup();
    const before = detector.rulesVersion;
    feed.append(...refusedCalls(15, 'wl-orders', minute(0)));
    await detector.tick();
    expect(await findings()).toEqual([]);

    write(rulesDoc(10));
    reloader = new RulesReloader(file, detector, log);
    expect(reloader.reload('SIGHUP')).toEqual({ outcome: 'applied', version: rulesVersion(loadRulesFile(file)) });
    expect(detector.rulesVersion).not.toBe(before);
    feed.append(...refusedCalls(15, 'wl-orders', minute(2)));
    await detector.tick();
    expect(await findings()).toEqual([{ threshold: 10, count: 10 }]);
    expect(logs).toEqual([['log', expect.stringMatching(new RegExp(`^anomaly rules reloaded from ${file} \\(SIGHUP\\): version ${before} -> [0-9a-f]{16}$`))]]);
  });

  it('given an invalid file, when reloaded, then it is refused naming the field, and the previous rules stay in force and keep detecting', async () => {
    write(rulesDoc(10));
    const { detector, feed, findings } = setup();
    const inForce = detector.rulesVersion;
    const registry = new Registry();
    detector.metrics(registry);
    reloader = new RulesReloader(file, detector, log);

    write(rulesDoc('twenty'));
    const refused = reloader.reload('SIGHUP');
    expect(refused).toEqual({ outcome: 'refused', version: inForce, error: `KMS_ANOMALY_RULES_FILE: refusedBurst.threshold: must be a number in [1, ${Number.MAX_SAFE_INTEGER}] (in ${file})` });
    write('{ "refusedBurst": { "threshold": 5 }');
    expect(reloader.reload('file change')).toMatchObject({ outcome: 'refused', error: expect.stringContaining(`KMS_ANOMALY_RULES_FILE: cannot read ${file} as JSON`) });
    write({ ...rulesDoc(5), spike: { enabled: false, sigmaa: 3 } });
    expect(reloader.reload()).toMatchObject({ outcome: 'refused', error: expect.stringContaining('spike.sigmaa: unknown setting') });
    expect(detector.rulesVersion).toBe(inForce);
    expect(logs.map(([level]) => level)).toEqual(['error', 'error', 'error']);
    expect(logs[0]?.[1]).toContain(`anomaly rules not reloaded (SIGHUP), version ${inForce} stays in force: KMS_ANOMALY_RULES_FILE: refusedBurst.threshold`);

    // Threshold 10 still applies: 9 refusals pass, the 10th of a minute is a finding.
    feed.append(...refusedCalls(9, 'wl-orders', minute(0)), ...refusedCalls(10, 'wl-orders', minute(2)));
    await detector.tick();
    expect(await findings()).toEqual([{ threshold: 10, count: 10 }]);
    const text = await registry.metrics();
    expect(text).toContain(`kms_anomaly_detector_rules_info{version="${inForce}"} 1`);
    expect(text).toContain('kms_anomaly_detector_rules_reloads_total{outcome="refused"} 3');
    expect(text).toContain('kms_anomaly_detector_rules_reloads_total{outcome="applied"} 0');
  });

  it('given an unchanged file, when reloaded, then nothing is swapped or counted', () => {
    write(rulesDoc(10));
    const { detector } = setup();
    reloader = new RulesReloader(file, detector, log);
    write(`${JSON.stringify(rulesDoc(10), null, 2)}\n`);
    expect(reloader.reload()).toEqual({ outcome: 'unchanged', version: detector.rulesVersion });
    expect(detector.stats.rulesReloads).toEqual({ applied: 0, refused: 0 });
  });

  it('given the file is watched, when it changes, then the new rules are in force without a signal', async () => {
    write(rulesDoc(20));
    const { detector } = setup();
    reloader = new RulesReloader(file, detector, log).watch({ signal: false, fileIntervalMs: 20 });
    expect(process.listeners('SIGHUP')).toHaveLength(0);
    write(rulesDoc(7));
    const expected = rulesVersion(loadRulesFile(file));
    const deadline = Date.now() + 5000;
    while (detector.rulesVersion !== expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(detector.rulesVersion).toBe(expected);
    expect(logs).toEqual([['log', expect.stringContaining('(file change)')]]);
  });

  it('given the file changed between the start-up read and the start of the watch, then the watch puts it in force at once', () => {
    write(rulesDoc(20));
    const { detector } = setup();
    write(rulesDoc(9));
    reloader = new RulesReloader(file, detector, log).watch({ signal: false, fileIntervalMs: 60_000 });
    expect(detector.rulesVersion).toBe(rulesVersion(loadRulesFile(file)));
    expect(logs).toEqual([['log', expect.stringContaining('(watch start)')]]);
  });

  it('given the file is deleted while watched, then the reload is refused and the rules stay', async () => {
    write(rulesDoc(20));
    const { detector } = setup();
    const inForce = detector.rulesVersion;
    reloader = new RulesReloader(file, detector, log).watch({ signal: false, fileIntervalMs: 20 });
    rmSync(file);
    const deadline = Date.now() + 5000;
    while (detector.stats.rulesReloads.refused === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(detector.stats.rulesReloads).toEqual({ applied: 0, refused: 1 });
    expect(detector.rulesVersion).toBe(inForce);
    expect(logs).toEqual([['error', expect.stringContaining(`stays in force: KMS_ANOMALY_RULES_FILE: cannot read ${file}: ENOENT: no such file or directory`)]]);
  });

  it('rulesVersion ignores key order and changes with any setting', () => {
    write(rulesDoc(10));
    const a = loadRulesFile(file);
    const reverse = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).reverse()) as T;
    const reordered = { ...reverse(a), spike: reverse(a.spike) };
    expect(Object.keys(reordered)).not.toEqual(Object.keys(a));
    expect(rulesVersion(reordered)).toBe(rulesVersion(a));
    expect(rulesVersion({ ...a, refusedBurst: { ...a.refusedBurst, threshold: 11 } })).not.toBe(rulesVersion(a));
  });
});
