import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';

/** The repository root (where package.json and tsconfig.base.json are). */
export const REPO_ROOT = resolve(__dirname, '../../..');

/** A free TCP port on 127.0.0.1 (bound and released). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolvePort(port));
    });
  });
}

/** Read until the value deep-equals `expected` or the time is up; returns the last value read. */
export async function eventually<T>(read: () => Promise<T>, expected: T, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!isDeepStrictEqual(value, expected) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    value = await read();
  }
  return value;
}

export interface MainProcess {
  child: ChildProcessWithoutNullStreams;
  output: () => string;
  /** The HTTP address the process logs as "listening on http://…". */
  url: Promise<string>;
}

/**
 * Run an app's main.ts the way production does (node --import tsx: no decorator metadata, signals
 * reach the app) and wait for the address it logs.
 */
export function startMainProcess(mainPath: string, env: Record<string, string>): MainProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', mainPath], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env, NO_COLOR: '1' },
  });
  let output = '';
  const url = new Promise<string>((resolveUrl, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const m = /listening on (http:\/\/[^\s"]+)/.exec(output);
      if (m) resolveUrl(m[1]);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`exited with ${code} before listening:\n${output}`)));
  });
  return { child, output: () => output, url };
}

/**
 * How the process ended, once its output is all read: 'close' (stdout and stderr drained), not 'exit',
 * which can come before the last lines reach output().
 */
export function exitOf(child: ChildProcessWithoutNullStreams): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((r) => child.once('close', (code, signal) => r({ code, signal })));
}

/** What a service process did in readyzThenSigterm. */
export interface ReadyThenStopped {
  /** HTTP status of GET /readyz once the process listened. */
  readyz: number;
  exit: { code: number | null; signal: NodeJS.Signals | null };
  output: string;
}

/**
 * Start an app's main.ts (startMainProcess), ask its /readyz once it listens, then stop it with
 * SIGTERM and wait for it to end: what each service's "runs as a process" test checks.
 */
export async function readyzThenSigterm(mainPath: string, env: Record<string, string>): Promise<ReadyThenStopped> {
  const main = startMainProcess(mainPath, env);
  const exited = exitOf(main.child);
  let readyz: number;
  try {
    readyz = (await fetch(`${await main.url}/readyz`)).status;
  } finally {
    main.child.kill('SIGTERM');
  }
  return { readyz, exit: await exited, output: main.output() };
}
