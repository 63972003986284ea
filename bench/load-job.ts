import type { Message, UnaryTarget } from './unary-caller';

/** One load scenario, sent from the bench to the load generator process. */
export interface LoadJob extends UnaryTarget {
  name: string;
  /** Request messages (proto-loader shape), used round-robin. */
  requests: Message[];
  /** Sent with every call (e.g. authorization); the same for the baseline and the KMS. */
  metadata: Record<string, string>;
  /** Items one call carries: 1, or the batch size. */
  itemsPerCall: number;
  /** Batch responses carry a repeated `results` oneof whose failed items count as errors. */
  batchResults: boolean;
  concurrency: number;
  /** Paced at this many calls per second instead of a closed loop (see closed-loop.ts). */
  ratePerSecond?: number;
  warmupSeconds: number;
  seconds: number;
  /** Per-call deadline, so a stuck server cannot hold the bench. */
  deadlineMs: number;
}

/** What one scenario measured. Only calls completed inside the measured window count. */
export interface LoadResult {
  name: string;
  /** Calls that succeeded in any phase (warm-up, window, drain): what the server did work for. */
  totalCalls: number;
  calls: number;
  items: number;
  seconds: number;
  callsPerSecond: number;
  itemsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  failedCalls: number;
  failedItems: number;
  /** CPU time of the load generator process per successful call, warm-up included: shows whether the client was the limit. */
  clientCpuUsPerCall: number;
  firstError?: string;
}

export type ToLoadGenerator = { kind: 'run'; job: LoadJob };
export type FromLoadGenerator = { kind: 'ready' } | { kind: 'result'; result: LoadResult } | { kind: 'failed'; message: string };

/** Nearest-rank percentile of ascending-sorted values; NaN when there are none. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
