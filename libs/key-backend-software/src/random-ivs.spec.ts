import { RandomIvs } from './random-ivs';

describe('RandomIvs', () => {
  it('hands out IVs of the asked length, never the same twice, across refills of the pool', () => {
    const ivs = new RandomIvs(12);
    const seen = new Set<string>();
    // 341 IVs fit in one pool: 2,000 cross five refills.
    for (let i = 0; i < 2000; i++) {
      const iv = ivs.next();
      expect(iv).toHaveLength(12);
      seen.add(iv.toString('hex'));
    }
    expect(seen.size).toBe(2000);
  });

  it('gives each caller its own copy: changing one IV changes no other', () => {
    const ivs = new RandomIvs(12);
    const first = ivs.next();
    const kept = Buffer.from(first);
    const second = ivs.next();
    second.fill(0);
    expect(first.equals(kept)).toBe(true);
  });

  it('refuses a length the pool cannot serve', () => {
    expect(() => new RandomIvs(0)).toThrow(RangeError);
    expect(() => new RandomIvs(5000)).toThrow(RangeError);
  });
});
