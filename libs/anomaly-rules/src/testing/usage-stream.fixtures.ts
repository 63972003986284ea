import { DEFAULT_ANOMALY_RULES, type AnomalyRulesConfig } from '../config/anomaly-rules.config';
import type { UsageRecord } from '../model/anomaly.model';

/** A seeded PRNG (mulberry32): the same seed gives the same synthetic week. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Poisson sample (Knuth for small means, normal approximation above 30). */
export function poisson(mean: number, rnd: () => number): number {
  if (mean > 30) {
    const u = Math.max(rnd(), 1e-12);
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
    return Math.max(0, Math.round(mean + z * Math.sqrt(mean)));
  }
  const l = Math.exp(-mean);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= rnd();
  } while (p > l);
  return k - 1;
}

let seq = 0;
/** One synthetic audit record; ids are sequential so evidence is easy to assert on. */
export function usage(overrides: Partial<UsageRecord> & { time: Date }): UsageRecord {
  seq++;
  return {
    id: `rec-${seq}`,
    operation: 'Decrypt',
    actor: 'wl-orders',
    outcome: 'SUCCESS',
    keyId: 'key-payments',
    keyVersion: 1,
    sourceAddress: 'ipv4:10.1.2.3:50000',
    ...overrides,
  };
}

/** Records spread evenly over [start, start + ms). */
export function spread(n: number, start: Date, ms: number, overrides: Partial<UsageRecord> = {}): UsageRecord[] {
  return Array.from({ length: n }, (_, i) => usage({ ...overrides, time: new Date(start.getTime() + Math.floor((i * ms) / Math.max(n, 1))) }));
}

/** Defaults with a few overrides, for tests that want a short warm-up. */
export function testConfig(patch: (c: AnomalyRulesConfig) => void = () => undefined): AnomalyRulesConfig {
  const c = structuredClone(DEFAULT_ANOMALY_RULES);
  patch(c);
  return c;
}

/** Monday 2026-03-02 00:00 UTC: the start of the synthetic weeks. */
export const MONDAY = new Date('2026-03-02T00:00:00.000Z');
