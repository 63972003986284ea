import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, REPO_ROOT } from './test-process';

const run = promisify(execFile);

/** Where this machine's PostgreSQL server programs are (Debian: /usr/lib/postgresql/<major>/bin). */
function serverBin(): string {
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root) ? readdirSync(root).filter((d) => /^\d+$/.test(d)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const m of majors) if (existsSync(join(root, m, 'bin', 'initdb'))) return join(root, m, 'bin');
  throw new Error('no PostgreSQL server programs found under /usr/lib/postgresql/<major>/bin');
}

/** PostgreSQL refuses to run as root: as root, run its programs as the postgres user. */
function asServerUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/**
 * A PostgreSQL cluster of a test's own (its own data directory under the ignored .kms-state/test and
 * its own port on 127.0.0.1), so the test can stop, kill, freeze and restart the database under a
 * running service without touching the machine's shared server. Every process is found by the
 * postmaster's pid; nothing is signalled by name.
 */
export class PostgresCluster {
  private constructor(
    readonly dataDir: string,
    readonly port: number,
    private readonly bin: string,
    private readonly user: { uid: number; gid: number } | undefined,
  ) {}

  /** initdb (trust auth, user postgres) and start on a free port. */
  static async create(name: string): Promise<PostgresCluster> {
    const bin = serverBin();
    const user = asServerUser();
    const port = await freePort();
    const parent = join(REPO_ROOT, '.kms-state', 'test', 'pg');
    await mkdir(parent, { recursive: true });
    // The server user must be able to reach its data directory: traverse-only (0711) on the state
    // folders, which may hold the standalone master key, so they still cannot be listed.
    await chmod(parent, 0o755);
    for (const dir of [join(REPO_ROOT, '.kms-state', 'test'), join(REPO_ROOT, '.kms-state')]) await chmod(dir, 0o711);
    const dataDir = join(parent, `${name}-${port}`);
    await rm(dataDir, { recursive: true, force: true });
    await mkdir(dataDir, { mode: 0o700 });
    if (user) await chown(dataDir, user.uid, user.gid);
    const cluster = new PostgresCluster(dataDir, port, bin, user);
    await cluster.exec('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
    await cluster.start();
    return cluster;
  }

  /** Connection URL for a database of this cluster. */
  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  private exec(program: string, args: string[]): Promise<{ stdout: string }> {
    return run(join(this.bin, program), args, { ...(this.user ?? {}), timeout: 60_000, env: { ...process.env, LC_ALL: 'C' } });
  }

  /** Start (or restart after a stop or a crash) and wait until it accepts connections. */
  async start(): Promise<void> {
    const options = `-p ${this.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='${this.dataDir}' -c max_connections=100`;
    await this.exec('pg_ctl', ['-D', this.dataDir, '-l', join(this.dataDir, 'server.log'), '-o', options, '-w', '-t', '60', 'start']);
  }

  /** The postmaster's pid (first line of postmaster.pid), or undefined when it is not running. */
  postmasterPid(): number | undefined {
    const file = join(this.dataDir, 'postmaster.pid');
    if (!existsSync(file)) return undefined;
    const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
    try {
      process.kill(pid, 0);
      return pid;
    } catch {
      return undefined;
    }
  }

  /** The postmaster and every process it started (backends, checkpointer, walwriter...). */
  processIds(): number[] {
    const pid = this.postmasterPid();
    if (pid === undefined) return [];
    const children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).trim();
    return [pid, ...children.split(/\s+/).filter(Boolean).map(Number)];
  }

  private signalAll(signal: NodeJS.Signals): number[] {
    const pids = this.processIds();
    for (const p of pids) {
      try {
        process.kill(p, signal);
      } catch {
        // gone meanwhile
      }
    }
    return pids;
  }

  /** A crash: SIGKILL to the postmaster and all its processes, then wait until they are gone. */
  async kill9(): Promise<void> {
    const pids = this.signalAll('SIGKILL');
    const deadline = Date.now() + 10_000;
    while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }

  /** Freeze every process of the cluster (SIGSTOP): connections stay open and nothing answers. */
  freeze(): void {
    this.signalAll('SIGSTOP');
  }

  /** Let a frozen cluster run again. */
  thaw(): void {
    this.signalAll('SIGCONT');
  }

  /** Clean shutdown (fast mode). */
  async stop(): Promise<void> {
    if (this.postmasterPid() === undefined) return;
    await this.exec('pg_ctl', ['-D', this.dataDir, '-m', 'fast', '-w', '-t', '60', 'stop']);
  }

  /** Stop (whatever its state) and delete the data directory. */
  async destroy(): Promise<void> {
    this.thaw();
    await this.stop().catch(() => this.kill9());
    await rm(this.dataDir, { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
