/** An exponentially weighted mean and variance of per-bucket counts. */
export interface EwmaBaseline {
  mean: number;
  variance: number;
  /** Buckets folded in so far (warm-up counts these). */
  samples: number;
}

export const EMPTY_BASELINE: EwmaBaseline = { mean: 0, variance: 0, samples: 0 };

/** Fold one bucket's count into the baseline (West's incremental EWMA variance). */
export function ewmaUpdate(b: EwmaBaseline, x: number, alpha: number): EwmaBaseline {
  if (b.samples === 0) return { mean: x, variance: 0, samples: 1 };
  const diff = x - b.mean;
  const incr = alpha * diff;
  return { mean: b.mean + incr, variance: (1 - alpha) * (b.variance + diff * incr), samples: b.samples + 1 };
}

/** Fold `n` empty buckets; beyond a few hundred the result no longer changes measurably. */
export function ewmaUpdateZeros(b: EwmaBaseline, n: number, alpha: number): EwmaBaseline {
  let out = b;
  const steps = Math.min(n, Math.ceil(Math.log(1e-9) / Math.log(1 - alpha)));
  for (let i = 0; i < steps; i++) out = ewmaUpdate(out, 0, alpha);
  return { ...out, samples: b.samples + n };
}

/** The count above which a bucket is anomalous: above the variance band, the ratio and the floor. */
export function spikeThreshold(b: EwmaBaseline, t: { sigma: number; minRatio: number; minCount: number }): number {
  return Math.max(b.mean + t.sigma * Math.sqrt(b.variance), b.mean * t.minRatio, t.minCount);
}
