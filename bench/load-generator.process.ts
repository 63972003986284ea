/*
 * Load generator, run as a child process of kms.bench.ts (never on its own). It drives every
 * scenario, baseline and KMS alike, with the same code (unary-caller.ts) and the same loop
 * (closed-loop.ts, which the bench also runs in-process for the raw PKCS#11 and backend figures).
 */
import { closedLoop } from './closed-loop';
import type { FromLoadGenerator, LoadJob, LoadResult, ToLoadGenerator } from './load-job';
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
    return await closedLoop(job, async (n) => {
      const response = await caller.call(job.requests[n % job.requests.length], job.metadata, job.deadlineMs);
      return job.batchResults ? failedItems(response) : 0;
    });
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
