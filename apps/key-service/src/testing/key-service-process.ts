import { status } from '@grpc/grpc-js';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { resolve } from 'node:path';
import { KmsCallError, createKmsClient } from '@kms/contracts';
import { ConsoleCeremonies, type ConsolePeople, consolePeople, freePort, realCeremonyClock } from '@kms/testing';
export { freePort };

const MAIN = resolve(__dirname, '..', 'main.ts');
const REPO_ROOT = resolve(__dirname, '../../../..');
/** Enough of the child's output to explain a failed start, without growing without bound. */
const OUTPUT_TAIL_CHARS = 20_000;

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The key service's main.ts running as a child process. */
export interface KeyServiceProcess {
  child: ChildProcessWithoutNullStreams;
  pid: number;
  grpcAddress: string;
  /** The port of its HTTP server (health, console routes). */
  httpPort: number;
  /** Resolves when the process has exited (already resolved if it has). */
  exited: Promise<ProcessExit>;
  /** True until the process has exited. */
  alive(): boolean;
  /** The tail of stdout and stderr, for failure messages. */
  output(): string;
}

/**
 * Run apps/key-service/src/main.ts the way production does (`node --import tsx`, not npx, which does
 * not forward signals), on the given ports. Not detached: the child stays in the test's process group.
 */
export function spawnKeyService(env: Record<string, string>, ports: { grpc: number; http: number }): KeyServiceProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    cwd: REPO_ROOT,
    detached: false,
    env: {
      ...process.env,
      ...env,
      KMS_GRPC_ADDRESS: `127.0.0.1:${ports.grpc}`,
      KMS_HTTP_ADDRESS: `127.0.0.1:${ports.http}`,
      NO_COLOR: '1',
    },
  });
  if (child.pid === undefined) throw new Error('could not spawn the key service');
  let output = '';
  let running = true;
  // Always drain the pipes: a child blocked on a full pipe would look like a hung service.
  const onData = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<ProcessExit>((resolveExit) =>
    child.once('exit', (code, signal) => {
      running = false;
      resolveExit({ code, signal });
    }),
  );
  return { child, pid: child.pid, grpcAddress: `127.0.0.1:${ports.grpc}`, httpPort: ports.http, exited, alive: () => running, output: () => output };
}

/**
 * Wait until the service answers GenerateRandom over gRPC (UNAUTHENTICATED counts: the service is up
 * and checked the call). Each probe uses a fresh client, so the
 * channel's reconnect back-off (which grows to minutes) cannot delay noticing a service that is up.
 */
export async function waitForGrpc(svc: KeyServiceProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = 'no probe answered';
  while (Date.now() < deadline) {
    if (!svc.alive()) throw new Error(`the key service exited before serving gRPC:\n${svc.output()}`);
    const client = createKmsClient(svc.grpcAddress);
    try {
      await client.call('GenerateRandom', { length_bytes: 16 }, { deadlineMs: 2_000 });
      return;
    } catch (e) {
      if (e instanceof KmsCallError && e.code === status.UNAUTHENTICATED) return;
      lastError = e instanceof Error ? e.message : String(e);
    } finally {
      client.close();
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the key service did not serve gRPC within ${timeoutMs} ms (last: ${lastError}):\n${svc.output()}`);
}

/** Send SIGKILL now (a crash: no shutdown hooks, no flush) unless the process has already exited. */
export function sigkill(svc: KeyServiceProcess): void {
  if (!svc.alive()) return;
  try {
    process.kill(svc.pid, 'SIGKILL');
  } catch (e) {
    // ESRCH: it exited between the check and the signal.
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}

/** SIGKILL the process if it is still running and wait for it to be gone. */
export async function killHard(svc: KeyServiceProcess | undefined): Promise<ProcessExit | undefined> {
  if (!svc) return undefined;
  sigkill(svc);
  return svc.exited;
}

/** What the service writes to KMS_BOOTSTRAP_CREDENTIAL_FILE on first start: the administrator's one-time enrolment link. */
export interface BootstrapEnrolmentFile {
  name: string;
  identity_id: string;
  enrolment_url: string;
  enrolment_token: string;
  expires_at: string;
}

/**
 * The bootstrap administrator's enrolment file, once the service has written it. gRPC answers
 * before the first administrator is created (the service reports SERVING only afterwards), so a
 * test that starts a fresh service waits for the file rather than assume it is there.
 */
export async function readBootstrapEnrolment(file: string, timeoutMs = 30_000): Promise<BootstrapEnrolmentFile> {
  const { readFile } = await import('node:fs/promises');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return JSON.parse(await readFile(file, 'utf8')) as BootstrapEnrolmentFile;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * People of a key service running in its own process (real time), starting with the bootstrap
 * administrator, who enrols a test security key and authenticator app with the link in `file`.
 */
export async function processPeople(file: string, httpPort: number): Promise<{ people: ConsolePeople; admin: BootstrapEnrolmentFile }> {
  const admin = await readBootstrapEnrolment(file);
  const ceremonies = new ConsoleCeremonies({ httpUrl: `http://127.0.0.1:${httpPort}`, origin: `http://localhost:${httpPort}`, clock: realCeremonyClock });
  return { people: consolePeople(ceremonies, { identityId: admin.identity_id, enrolmentToken: admin.enrolment_token }), admin };
}
