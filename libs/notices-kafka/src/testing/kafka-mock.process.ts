import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = resolve(__dirname, '../../../..');

/** Build tools/kafka-mock (idempotent) and return the binary's path. */
export function buildKafkaMock(): string {
  return execFileSync('bash', [resolve(ROOT, 'tools/kafka-mock/build.sh')], { encoding: 'utf8', timeout: 120_000 }).trim().split('\n').pop() as string;
}

/** A running librdkafka mock cluster (tools/kafka-mock), driven over its stdin. */
export class KafkaMockProcess {
  private readonly pending: Array<{ command: string; resolve: () => void; reject: (e: Error) => void }> = [];
  private readonly exited: Promise<number | null>;

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    readonly bootstrap: string,
    lines: AsyncIterable<string>,
  ) {
    this.exited = new Promise((done) => child.once('exit', (code) => done(code)));
    void (async () => {
      for await (const line of lines) {
        const waiter = this.pending[0];
        if (waiter && line.endsWith(` ${waiter.command}`)) {
          this.pending.shift();
          if (line.startsWith('ok ')) waiter.resolve();
          else waiter.reject(new Error(`kafka-mock: ${line}`));
        }
      }
    })();
  }

  /** Start a mock cluster with `brokers` brokers and the given topics (`name[:partitions]`). */
  static async start(options: { topics: string[]; brokers?: number; startTimeoutMs?: number }): Promise<KafkaMockProcess> {
    const binary = buildKafkaMock();
    const child = spawn(binary, ['--brokers', String(options.brokers ?? 1), ...options.topics], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stderr.resume();
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const timeoutMs = options.startTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const first = await Promise.race([
      lines.next(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`kafka-mock did not start within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
    const match = typeof first.value === 'string' ? /^bootstrap=(.+)$/.exec(first.value) : null;
    if (!match?.[1]) {
      child.kill('SIGKILL');
      throw new Error(`kafka-mock printed "${String(first.value)}" instead of its bootstrap servers`);
    }
    return new KafkaMockProcess(child, match[1], { [Symbol.asyncIterator]: () => lines });
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** Take every broker off the network (connections closed, new ones refused) — a Kafka outage. */
  brokersDown(): Promise<void> {
    return this.command('down-all');
  }

  brokersUp(): Promise<void> {
    return this.command('up-all');
  }

  /** SIGTERM by pid, SIGKILL if it has not exited within 5 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    process.kill(this.pid, 'SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }

  private command(command: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ command, resolve, reject });
      this.child.stdin.write(`${command}\n`);
    });
  }
}

/** One message as `kcat -J` prints it. */
export interface KcatMessage {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  payload: string | null;
  headers?: string[];
}

/** Read a whole topic as a partner would: `kcat -b <bootstrap> -C -t <topic> -o beginning -e -J`. */
export function readTopicWithKcat(bootstrap: string, topic: string, timeoutMs = 20_000): Promise<KcatMessage[]> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('kcat', ['-b', bootstrap, '-C', '-t', topic, '-o', 'beginning', '-e', '-J', '-q'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    const timer = setTimeout(() => {
      if (child.pid) process.kill(child.pid, 'SIGKILL');
      reject(new Error(`kcat timed out after ${timeoutMs} ms: ${err}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`kcat exited ${String(code)}: ${err}`));
      resolvePromise(
        out
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as KcatMessage),
      );
    });
  });
}
