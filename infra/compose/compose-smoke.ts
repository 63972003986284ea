// Runs the compose file's KMS services as local processes, with the environment the file gives each
// container, and checks that each boots and reports ready — the proof that the stack's wiring
// (provisioned credentials, service addresses, secrets) works, on a machine without a Docker engine.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureLoginRole } from '@kms/persistence-postgres';
import { Client } from 'pg';
import { type LocalProcessPlan, planLocalProcesses, renderCompose } from './compose-stack';

const REPO_ROOT = resolve(__dirname, '../..');
/** The KMS services of docker-compose.yml; the rest (postgres, redis, kafka) is infrastructure. */
export const KMS_SERVICES = ['kms-init', 'key-service', 'rotation-scheduler', 'audit-projector', 'anomaly-detector'];
/** The KMS services that run their work in a loop with a day's sleep between runs (never ready, never done). */
export const DAILY_SERVICES = ['audit-maintenance'];
const OUTPUT_TAIL = 20_000;

export interface SmokeOptions {
  composeFile?: string;
  /** Kafka bootstrap servers for `kafka:9092`; default: a closed local port (the stack must boot without a broker). */
  kafka?: string;
  /** ms to wait for each service. */
  timeoutMs?: number;
  log?: (line: string) => void;
}

export interface ServiceOutcome {
  service: string;
  ok: boolean;
  /** "exited 0", "ready", or what went wrong. */
  detail: string;
  seconds: number;
  pid?: number;
  env: Record<string, string>;
  output: () => string;
}

export interface SmokeRun {
  outcomes: ServiceOutcome[];
  /** Local paths standing in for the compose volumes and secrets. */
  mounts: Record<string, string>;
  database: string;
  /**
   * One round of a daily service's loop (DAILY_SERVICES), with its compose environment: its command
   * runs as written, with a `sleep` on PATH that ends the loop instead of waiting a day.
   */
  runOneRound(service: string): Promise<{ signal: NodeJS.Signals | null; code: number | null; output: string; env: Record<string, string> }>;
  /** SIGTERM every started process by pid (SIGKILL after 15 s), drop the database, remove the temp folder. */
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return import('node:net').then(
    ({ createServer }) =>
      new Promise<number>((ok, fail) => {
        const srv = createServer();
        srv.once('error', fail);
        srv.listen(0, '127.0.0.1', () => {
          const { port } = srv.address() as { port: number };
          srv.close(() => ok(port));
        });
      }),
  );
}

async function waitReady(url: string, child: ChildProcess, timeoutMs: number): Promise<string | null> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return `exited (${child.exitCode ?? child.signalCode}) before it was ready`;
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) });
      const body = await res.text();
      if (res.status === 200) return null;
      last = `/readyz ${res.status} ${body.slice(0, 300)}`;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return `not ready within ${timeoutMs} ms (last: ${last})`;
}

/** A process run from the repository root, with the tail of its standard output and error. */
function spawnCollecting(cmd: string, args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string } {
  const child = spawn(cmd, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (c: Buffer): void => void (output = (output + c.toString()).slice(-OUTPUT_TAIL));
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  return { child, output: () => output };
}

/** Start the compose file's KMS services locally in dependency order and report how each came up. */
export async function runComposeSmoke(options: SmokeOptions = {}): Promise<SmokeRun> {
  const log = options.log ?? (() => undefined);
  const timeoutMs = options.timeoutMs ?? 90_000;
  const doc = await renderCompose(options.composeFile ?? join(REPO_ROOT, 'docker-compose.yml'));
  const tmp = mkdtempSync(join(tmpdir(), 'ops-compose-smoke-'));
  const id = `${process.pid}_${randomBytes(3).toString('hex')}`;
  const database = `ops_compose_${id}`;

  // Stand-ins for the secret and volumes, with the modes Docker gives them.
  const masterKey = join(tmp, 'secrets', 'master.key');
  mkdirSync(join(tmp, 'secrets'), { mode: 0o700 });
  writeFileSync(masterKey, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  const mounts: Record<string, string> = { kms_master_key: masterKey };
  for (const volume of Object.keys(doc.volumes ?? {})) {
    mounts[volume] = join(tmp, 'volumes', volume);
    mkdirSync(mounts[volume], { recursive: true });
    chmodSync(mounts[volume], 0o700);
  }

  // What the postgres image's init script (infra/compose/postgres-init) creates; the local PostgreSQL
  // trusts 127.0.0.1, so no password. Roles are cluster-wide: created once, kept.
  const serviceRole = databaseUser(doc.services['key-service']?.environment?.['KMS_DATABASE_URL']);
  const admin = new Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
  await admin.connect();
  try {
    await ensureLoginRole(admin, serviceRole);
  } finally {
    await admin.end();
  }

  const ports: Record<string, { grpc: number; http: number }> = {};
  for (const s of KMS_SERVICES) ports[s] = { grpc: await freePort(), http: await freePort() };
  const mapping = {
    infrastructure: { postgres: '127.0.0.1:5432', redis: '127.0.0.1:6379', kafka: options.kafka ?? `127.0.0.1:${await freePort()}` },
    ports,
    mounts,
    workdir: { container: '/app', host: REPO_ROOT },
    // Test isolation: a database of its own, dropped afterwards. The services connect as the compose
    // file's service role; migrations run as `postgres`, the local stand-in for the image's superuser.
    overrides: { KMS_DATABASE_URL: `postgres://${serviceRole}@127.0.0.1:5432/${database}`, KMS_MIGRATION_DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${database}` },
    // A queue of its own on the shared Redis, so no other scheduler on this machine picks up its jobs.
    additions: { KMS_SCHEDULER_QUEUE_NAME: `ops-compose-${id}`, NO_COLOR: '1' },
  };
  const plans: LocalProcessPlan[] = planLocalProcesses(doc, KMS_SERVICES, mapping);

  const started: ChildProcess[] = [];
  const outcomes: ServiceOutcome[] = [];
  let failed = false;
  for (const plan of plans) {
    if (failed) break;
    const t0 = Date.now();
    const [cmd, ...args] = plan.command;
    const { child, output } = spawnCollecting(cmd === 'node' ? process.execPath : (cmd as string), args, { ...process.env, ...plan.env });
    started.push(child);
    log(`${plan.service}: started (pid ${child.pid})`);
    let problem: string | null;
    if (plan.ready === 'completed') {
      const code = await new Promise<number | null>((r) => {
        if (child.exitCode !== null) r(child.exitCode);
        else child.once('exit', (c) => r(c));
      });
      problem = code === 0 ? null : `exited ${code}`;
    } else {
      problem = await waitReady(plan.httpUrl as string, child, timeoutMs);
    }
    const outcome: ServiceOutcome = {
      service: plan.service,
      ok: problem === null,
      detail: problem ?? (plan.ready === 'completed' ? 'exited 0' : 'ready'),
      seconds: (Date.now() - t0) / 1000,
      ...(child.pid ? { pid: child.pid } : {}),
      env: plan.env,
      output,
    };
    outcomes.push(outcome);
    log(`${plan.service}: ${outcome.detail} after ${outcome.seconds.toFixed(1)} s`);
    failed = !outcome.ok;
  }

  return {
    outcomes,
    mounts,
    database,
    async runOneRound(service) {
      if (!DAILY_SERVICES.includes(service)) throw new Error(`${service} is not a daily service of docker-compose.yml`);
      const [plan] = planLocalProcesses(doc, [service], { ...mapping, ports: { ...mapping.ports, [service]: { grpc: await freePort(), http: await freePort() } } });
      if (!plan) throw new Error(`docker-compose.yml has no service ${service}`);
      const shims = mkdtempSync(join(tmp, 'shims-'));
      // `node` is this Node.js; `sleep` ends the loop's shell (its parent) at the first sleep.
      writeFileSync(join(shims, 'node'), `#!/bin/sh\nexec "${process.execPath}" "$@"\n`, { mode: 0o755 });
      writeFileSync(join(shims, 'sleep'), '#!/bin/sh\nkill -TERM $PPID\n', { mode: 0o755 });
      const [cmd, ...args] = plan.command;
      const { child, output } = spawnCollecting(cmd as string, args, { ...process.env, ...plan.env, PATH: `${shims}:${process.env['PATH'] ?? ''}` });
      started.push(child);
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r) => child.once('exit', (c, sig) => r([c, sig])));
      return { code, signal, output: output(), env: plan.env };
    },
    async stop() {
      for (const child of [...started].reverse()) {
        if (child.exitCode !== null || child.signalCode !== null || !child.pid) continue;
        const exited = new Promise((r) => child.once('exit', r));
        process.kill(child.pid, 'SIGTERM');
        const timer = setTimeout(() => child.pid && child.exitCode === null && process.kill(child.pid, 'SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      const admin = new Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
      await admin.connect();
      try {
        await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      } finally {
        await admin.end();
      }
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** The user name of a compose `KMS_DATABASE_URL`, refused when the file has none. */
export function databaseUser(url: string | undefined): string {
  const user = url ? decodeURIComponent(new URL(url).username) : '';
  if (!user) throw new Error('docker-compose.yml gives key-service no KMS_DATABASE_URL with a user name');
  return user;
}
