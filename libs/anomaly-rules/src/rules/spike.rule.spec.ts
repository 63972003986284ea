import { createRuleContext, evaluateStream, type AnomalyFinding } from '../index';
import { MONDAY, spread, testConfig } from '../testing';

const MIN = 60_000;
const config = testConfig((c) => {
  c.spike.bucketSeconds = 60;
  c.spike.warmupBuckets = 10;
  c.spike.thresholds.decrypt = { sigma: 6, minRatio: 4, minCount: 20 };
  c.spike.thresholds.sign = { sigma: 6, minRatio: 4, minCount: 1000 };
});
const ctx = createRuleContext(config, new Map());

/** `perMinute` decrypts per minute for `minutes` minutes from `start`. */
function steady(minutes: number, perMinute: number, start = MONDAY, overrides = {}): ReturnType<typeof spread> {
  return Array.from({ length: minutes }, (_, m) => spread(perMinute, new Date(start.getTime() + m * MIN), MIN, overrides)).flat();
}
const spikes = (fs: AnomalyFinding[]) => fs.filter((f) => f.rule === 'spike');

describe('spike rule', () => {
  it('given a warm baseline of 10 decrypts a minute, when 200 arrive in one minute, then the identity and the key spike once each', () => {
    const given = steady(30, 10);
    const burstStart = new Date(MONDAY.getTime() + 30 * MIN);
    const burst = spread(200, burstStart, 50_000);
    const { findings } = evaluateStream([...given, ...burst], ctx);
    const found = spikes(findings);
    expect(found.map((f) => [f.identityId, f.keyId, f.evidence.facts['subjectKind']])).toEqual([
      ['wl-orders', 'key-payments', 'identity'],
      [null, 'key-payments', 'key'],
    ]);
    expect(found[0]?.severity).toBe('high');
    expect(found[0]?.window.start).toBe(burstStart.toISOString());
    expect(found[0]?.evidence.facts['baselineMean']).toBeCloseTo(10, 0);
    // Reported as soon as the count crossed the threshold (max(10 + 6*0, 40, 20) = 40), not at the bucket's end.
    expect(found[0]?.evidence.count).toBe(41);
    expect(found[0]?.evidence.auditRecordIds).toHaveLength(config.evidenceMaxRecordIds);
  });

  it('given the same stream replayed from the same state, then the findings carry the same ids', () => {
    const stream = [...steady(30, 10), ...spread(200, new Date(MONDAY.getTime() + 30 * MIN), 50_000)];
    const a = spikes(evaluateStream(stream, ctx).findings).map((f) => f.id);
    const b = spikes(evaluateStream(stream, ctx).findings).map((f) => f.id);
    expect(a).toHaveLength(2);
    expect(b).toEqual(a);
  });

  it('given a subject still warming up, when it bursts, then nothing is reported', () => {
    const stream = [...steady(5, 10), ...spread(200, new Date(MONDAY.getTime() + 5 * MIN), 50_000)];
    expect(spikes(evaluateStream(stream, ctx).findings)).toEqual([]);
  });

  it('given separate thresholds, when sign bursts below its own floor, then sign does not spike while decrypt would', () => {
    const signs = [...steady(30, 10, MONDAY, { operation: 'Sign' }), ...spread(200, new Date(MONDAY.getTime() + 30 * MIN), 50_000, { operation: 'Sign' })];
    expect(spikes(evaluateStream(signs, ctx).findings)).toEqual([]);
  });

  it('given a long quiet gap, when traffic resumes at its old rate, then the decayed baseline still has the floor and nothing spikes', () => {
    const stream = [...steady(30, 10), ...steady(10, 10, new Date(MONDAY.getTime() + 24 * 60 * MIN))];
    expect(spikes(evaluateStream(stream, ctx).findings)).toEqual([]);
  });

  it('given a burst lasting two buckets, then each bucket is its own window and finding', () => {
    const start = new Date(MONDAY.getTime() + 30 * MIN);
    const stream = [...steady(30, 10), ...spread(400, start, 2 * MIN)];
    const identity = spikes(evaluateStream(stream, ctx).findings).filter((f) => f.identityId !== null);
    expect(identity.map((f) => f.window.start)).toEqual([start.toISOString(), new Date(start.getTime() + MIN).toISOString()]);
  });
});

describe('spike rule after a reload', () => {
  const burstAt = new Date(MONDAY.getTime() + 30 * MIN);

  it('given a baseline warmed in 60 s buckets, when thresholds are lowered, then the same burst that passed before is a spike', () => {
    const strict = testConfig((c) => {
      c.spike.warmupBuckets = 10;
      c.spike.thresholds.decrypt = { sigma: 6, minRatio: 4, minCount: 100 };
    });
    const lowered = testConfig((c) => {
      c.spike.warmupBuckets = 10;
      c.spike.thresholds.decrypt = { sigma: 6, minRatio: 2, minCount: 20 };
    });
    const { state } = evaluateStream(steady(30, 10), createRuleContext(strict, new Map()));
    // 60 decrypts: under the floor of 100 before, above max(2 x 10, 20) after.
    const before = evaluateStream(spread(60, burstAt, 50_000), createRuleContext(strict, new Map()), structuredClone(state));
    const after = evaluateStream(spread(60, burstAt, 50_000), createRuleContext(lowered, new Map()), structuredClone(state));
    expect(spikes(before.findings)).toEqual([]);
    expect(spikes(after.findings).map((f) => f.evidence.facts['threshold'])).toEqual([20, 20]);
  });

  it('given a baseline learned in 60 s buckets, when the bucket size changes to 10 s, then the subject warms up again instead of judging 10 s counts against a 60 s mean', () => {
    const tenSeconds = testConfig((c) => {
      c.spike.bucketSeconds = 10;
      c.spike.warmupBuckets = 10;
      c.spike.thresholds.decrypt = { sigma: 6, minRatio: 4, minCount: 20 };
    });
    const { state } = evaluateStream(steady(30, 10), ctx);
    const next = evaluateStream(spread(100, burstAt, 9_000), createRuleContext(tenSeconds, new Map()), state);
    // Within the first 10 s bucket after the change: nothing (warming up), and the baseline restarted in 10 s units.
    expect(spikes(next.findings)).toEqual([]);
    expect(next.state.get('identity:wl-orders')?.spike?.decrypt).toMatchObject({ bucketSeconds: 10, baseline: { samples: 0 }, count: 100 });
  });
});
