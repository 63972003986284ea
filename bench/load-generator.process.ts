/*
 * Load generator, run as a child process of kms.bench.ts (never on its own). It drives every
 * scenario, baseline and KMS alike, with the same code (unary-caller.ts) and the same loop.
 */
import { performance } from 'node:perf_hooks';
import { type FromLoadGenerator, type LoadJob, type LoadResult, percentile, type ToLoadGenerator } from './load-job';
import { type Message, unaryCaller } from './unary-caller';

function failedItems(response: Message): number {
  const results = response['results'];
  if (!Array.isArray(results)) return 0;
  // proto-loader's `oneofs: true` names the member that is set in `result`.
  return results.filter((r: Message) => r['result'] !== 'response').length;
}

async function run(job: LoadJob): Promise<LoadResult> {
  const caller = unaryCaller(job);
  try {
    await caller.waitForReady(job.deadlineMs);
    // Sized for tens of thousands of calls per second; grows if needed.
    let latencies = new Float64Array(1 << 16);
    let calls = 0;
    let totalCalls = 0;
    let failedCalls = 0;
    let failed = 0;
    let firstError: string | undefined;
    const cpuBefore = process.cpuUsage();
    const start = performance.now();
    const measureFrom = start + job.warmupSeconds * 1000;
    const stopAt = measureFrom + job.seconds * 1000;

    // Closed loop: each lane keeps exactly one call in flight until the window ends. Only calls that
    // complete inside the window count, so the pipeline is full for the whole of it.
    const lane = async (index: number): Promise<void> => {
      let next = index;
      while (performance.now() < stopAt) {
        const request = job.requests[next++ % job.requests.length];
        const sent = performance.now();
        let itemErrors = 0;
        let error: unknown;
        try {
          const response = await caller.call(request, job.metadata, job.deadlineMs);
          if (job.batchResults) itemErrors = failedItems(response);
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
    await Promise.all(Array.from({ length: job.concurrency }, (_, i) => lane(i)));
    const cpu = process.cpuUsage(cpuBefore);

    const sorted = latencies.slice(0, calls).sort();
    const items = calls * job.itemsPerCall - failed;
    return {
      name: job.name,
      totalCalls,
      calls,
      items,
      seconds: job.seconds,
      callsPerSecond: calls / job.seconds,
      itemsPerSecond: items / job.seconds,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      failedCalls,
      failedItems: failed,
      clientCpuUsPerCall: (cpu.user + cpu.system) / Math.max(1, totalCalls),
      ...(firstError !== undefined ? { firstError } : {}),
    };
  } finally {
    caller.close();
  }
}

function send(message: FromLoadGenerator): void {
  process.send?.(message);
}

if (!process.send) {
  console.error('load-generator.process.ts is started by kms.bench.ts; run `npm run bench`');
  process.exit(1);
}
// The bench owns this process: when it goes away, so do we.
process.on('disconnect', () => process.exit(0));
process.on('message', (message: ToLoadGenerator) => {
  if (message.kind !== 'run') return;
  run(message.job).then(
    (result) => send({ kind: 'result', result }),
    (e: unknown) => send({ kind: 'failed', message: e instanceof Error ? e.message : String(e) }),
  );
});
// Messages sent before this listener existed could be lost, so the bench waits for this.
send({ kind: 'ready' });
