import { spawn } from 'node:child_process';

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
