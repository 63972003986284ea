import { buildKeyFacts, createRuleContext, evaluateStream, type UsageRecord } from '../index';
import { MONDAY, poisson, seededRandom, spread, testConfig, usage } from '../testing';

const MIN = 60_000;
const WEEK_MINUTES = 7 * 24 * 60;

/**
 * A week of steady traffic with normal noise: three workloads, Poisson counts per minute around a
 * daily curve (busy afternoons, quiet nights), a few refusals, two regions for one of them.
 */
function steadyWeek(seed: number): UsageRecord[] {
  const rnd = seededRandom(seed);
  const out: UsageRecord[] = [];
  const workloads = [
    { actor: 'wl-orders', op: 'Decrypt', key: 'key-orders', mean: 40, sources: ['ipv4:10.1.0.5:4000'] },
    { actor: 'wl-billing', op: 'Sign', key: 'key-invoices', mean: 12, sources: ['ipv4:10.1.0.9:4000', 'ipv4:10.200.0.9:4000'] },
    { actor: 'wl-reports', op: 'GenerateDataKey', key: 'key-reports', mean: 6, sources: ['ipv4:10.1.0.7:4000'] },
  ];
  for (let m = 0; m < WEEK_MINUTES; m++) {
    const hour = (m / 60) % 24;
    const daily = 0.55 + 0.45 * Math.sin(((hour - 8) / 24) * 2 * Math.PI);
    const start = new Date(MONDAY.getTime() + m * MIN);
    for (const w of workloads) {
      const n = poisson(w.mean * daily, rnd);
      for (const r of spread(n, start, MIN, { actor: w.actor, operation: w.op, keyId: w.key })) {
        out.push({ ...r, sourceAddress: w.sources[Math.floor(rnd() * w.sources.length)] ?? '' });
      }
      if (rnd() < 0.02) out.push(usage({ time: start, actor: w.actor, keyId: w.key, outcome: 'DENIED', errorCode: 'PERMISSION_DENIED' }));
    }
  }
  return out;
}

const config = testConfig((c) => {
  // Low floors so the EWMA band, not the floor, is what keeps the week quiet.
  for (const t of Object.values(c.spike.thresholds)) t.minCount = 10;
  c.origin.networks = [
    { cidr: '10.1.0.0/16', region: 'eu-west' },
    { cidr: '10.200.0.0/16', region: 'eu-central' },
  ];
});
const facts = buildKeyFacts(['key-orders', 'key-invoices', 'key-reports'].map((keyId) => ({ type: 'KeyCreated', data: { keyId, purpose: 'SERVICE_ENVELOPE' }, metadata: {} })));

describe('a simulated week of steady traffic', () => {
  const week = steadyWeek(20260302);

  it('given a week of noisy but steady traffic, then no rule fires', () => {
    const { findings } = evaluateStream(week, createRuleContext(config, facts));
    expect(week.length).toBeGreaterThan(300_000);
    expect(findings).toEqual([]);
  });

  it('given the same week with one 20x minute on Thursday, then exactly that minute is reported for the identity and the key', () => {
    const thursday = new Date(MONDAY.getTime() + 3 * 86_400_000 + 15 * 3_600_000);
    const burst = spread(800, thursday, 50_000, { actor: 'wl-orders', operation: 'Decrypt', keyId: 'key-orders', sourceAddress: 'ipv4:10.1.0.5:4000' });
    const withBurst = [...week, ...burst].sort((a, b) => a.time.getTime() - b.time.getTime());
    const { findings } = evaluateStream(withBurst, createRuleContext(config, facts));
    expect(findings.map((f) => [f.rule, f.identityId, f.keyId, f.window.start])).toEqual([
      ['spike', 'wl-orders', 'key-orders', thursday.toISOString()],
      ['spike', null, 'key-orders', thursday.toISOString()],
    ]);
  });
});
