import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import type { FromLoadGenerator, LoadJob, LoadResult, ToLoadGenerator } from './load-job';

/** Grace after the measured window for the in-flight calls to drain and the result to arrive. */
const RESULT_GRACE_MS = 30_000;
const STARTUP_TIMEOUT_MS = 30_000;

/**
 * The load generator child process, seen from the bench. A separate process, not a worker thread, so
 * the client has its own heap, GC and CPU time, the server process measures (and profiles) only the
 * server, and the OS can run client and server on different cores.
 */
export class LoadGenerator {
  private constructor(private readonly child: ChildProcess) {}

  /** Fork the child and wait until it listens for jobs. */
  static async start(): Promise<LoadGenerator> {
    // Inherit the tsx loader flags, but keep --cpu-prof & co. to the server process.
    const execArgv = process.execArgv.filter((a) => !a.startsWith('--cpu-prof') && !a.startsWith('--heap-prof') && !a.startsWith('--inspect'));
    const child = fork(join(__dirname, 'load-generator.process.ts'), [], { execArgv, serialization: 'advanced', stdio: 'inherit' });
    const generator = new LoadGenerator(child);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('load generator did not start within 30 s')), STARTUP_TIMEOUT_MS);
        child.once('message', (message: FromLoadGenerator) => {
          clearTimeout(timer);
          if (message.kind === 'ready') resolve();
          else reject(new Error(`load generator sent ${message.kind} before ready`));
        });
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`load generator exited with ${code} while starting`));
        });
      });
    } catch (e) {
      await generator.stop();
      throw e;
    }
    return generator;
  }

  /** Run one scenario; rejects if the child fails, exits, or overruns the job's time by RESULT_GRACE_MS. */
  run(job: LoadJob): Promise<LoadResult> {
    const child = this.child;
    return new Promise<LoadResult>((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      const onMessage = (message: FromLoadGenerator): void => {
        if (message.kind === 'ready') return;
        cleanup();
        if (message.kind === 'result') resolve(message.result);
        else reject(new Error(`load generator: ${message.message}`));
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        cleanup();
        reject(new Error(`load generator exited (${signal ?? code}) during ${job.name}`));
      };
      const timer = setTimeout(
        () => {
          cleanup();
          reject(new Error(`load generator gave no result for ${job.name} in time`));
        },
        (job.warmupSeconds + job.seconds) * 1000 + RESULT_GRACE_MS,
      );
      child.on('message', onMessage);
      child.once('exit', onExit);
      const message: ToLoadGenerator = { kind: 'run', job };
      child.send(message);
    });
  }

  /** Disconnect (the child exits on its own) and kill it if it has not gone within a second. */
  stop(): Promise<void> {
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), 1_000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      if (child.connected) child.disconnect();
      else child.kill('SIGTERM');
    });
  }
}
