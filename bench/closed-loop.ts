import { performance } from 'node:perf_hooks';
import { type LoadResult, percentile } from './load-job';

/** The shape of one closed-loop run: the same for calls over gRPC (load generator) and in-process calls. */
export interface ClosedLoopShape {
  name: string;
  concurrency: number;
  warmupSeconds: number;
  seconds: number;
  /** Items one call carries: 1, or the batch size. */
  itemsPerCall: number;
  /**
   * Paced instead of closed: calls are due at this many per second (call k at start + k / rate),
   * whichever lane is free takes the next one, and its latency counts from when it was due, so a
   * server that falls behind shows it in the percentiles (no coordinated omission). A call due within
   * the next millisecond (finer than a timer) is sent at once and counts from then. Unset: each lane
   * sends its next call as soon as the last one returns.
   */
  ratePerSecond?: number;
}

/**
 * One call: `n` counts the lane's calls (starting at the lane's index, so lanes spread over a list of
 * requests). Resolves to the number of items that failed inside a successful call (batches), else 0.
 */
export type LoopCall = (n: number) => Promise<number>;

/**
 * Closed loop: `concurrency` lanes, each keeping exactly one call in flight until the window ends.
 * Only calls that complete inside the measured window (after the warm-up) count, so the pipeline is
 * full for the whole of it. `clientCpuUsPerCall` is this process's CPU per successful call, warm-up included.
 */
export async function closedLoop(shape: ClosedLoopShape, call: LoopCall): Promise<LoadResult> {
  // Sized for tens of thousands of calls per second; grows if needed.
  let latencies = new Float64Array(1 << 16);
  let calls = 0;
  let totalCalls = 0;
  let failedCalls = 0;
  let failed = 0;
  let firstError: string | undefined;
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  const measureFrom = start + shape.warmupSeconds * 1000;
  const stopAt = measureFrom + shape.seconds * 1000;

  const rate = shape.ratePerSecond;
  let due = 0;
  /**
   * When the next paced call is due (ms, performance.now() clock), waiting for it; now when not paced.
   * Latency counts from the earlier of when it was due and when it was sent: late, from when it was
   * due; sent up to a millisecond early (not worth a timer), from when it was sent.
   */
  const slot = async (): Promise<number> => {
    if (rate === undefined) return performance.now();
    const at = start + (due++ * 1000) / rate;
    const wait = at - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    return Math.min(at, performance.now());
  };

  const lane = async (index: number): Promise<void> => {
    let next = index;
    while (performance.now() < stopAt) {
      const sent = await slot();
      if (sent >= stopAt) break;
      let itemErrors = 0;
      let error: unknown;
      try {
        itemErrors = await call(next++);
      } catch (e) {
        error = e;
      }
      const done = performance.now();
      if (error === undefined) totalCalls++;
      if (done < measureFrom || done > stopAt) continue;
      if (error !== undefined) {
        failedCalls++;
        firstError ??= error instanceof Error ? error.message : String(error);
        continue;
      }
      if (itemErrors > 0) {
        failed += itemErrors;
        firstError ??= `${itemErrors} batch items failed`;
      }
      if (calls === latencies.length) {
        const grown = new Float64Array(latencies.length * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[calls++] = done - sent;
    }
  };
  await Promise.all(Array.from({ length: shape.concurrency }, (_, i) => lane(i)));
  const cpu = process.cpuUsage(cpuBefore);

  const sorted = latencies.slice(0, calls).sort();
  const items = calls * shape.itemsPerCall - failed;
  return {
    name: shape.name,
    totalCalls,
    calls,
    items,
    seconds: shape.seconds,
    callsPerSecond: calls / shape.seconds,
    itemsPerSecond: items / shape.seconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    failedCalls,
    failedItems: failed,
    clientCpuUsPerCall: (cpu.user + cpu.system) / Math.max(1, totalCalls),
    ...(firstError !== undefined ? { firstError } : {}),
  };
}
