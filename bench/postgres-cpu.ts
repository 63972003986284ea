import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Pool } from 'pg';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticksPerSecond;
}

/** CPU ticks (user + system) a process has used, with its start time to tell a reused pid apart; undefined once it is gone. */
function cpuOf(pid: number): { ticks: number; started: string } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the command (which may hold spaces): utime and stime are fields 14 and 15, starttime 22 (1-based).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { ticks: Number(fields[11]) + Number(fields[12]), started: fields[19] ?? '' };
}

/**
 * PostgreSQL's CPU for the bench's own work: the backends connected to the bench's database (the
 * service's pool: audit inserts and commits) and the WAL writer that flushes their commits. Other
 * databases on the same server (anything else running on the machine) are left out. Linux (/proc)
 * and a server on this machine only; otherwise `measure` resolves to undefined.
 */
export class PostgresCpuProbe {
  constructor(private readonly pool: Pool) {}

  private async pids(): Promise<number[]> {
    const r = await this.pool.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE datname = current_database() OR backend_type = 'walwriter'`,
    );
    return r.rows.map((row) => row.pid);
  }

  /** Start counting; the returned function gives the CPU µs used since, by those processes and any that joined. */
  async start(): Promise<() => Promise<number | undefined>> {
    let before: Map<number, { ticks: number; started: string }>;
    try {
      before = new Map((await this.pids()).flatMap((pid) => {
        const cpu = cpuOf(pid);
        return cpu ? [[pid, cpu] as const] : [];
      }));
    } catch {
      return async () => undefined;
    }
    if (before.size === 0) return async () => undefined;
    return async () => {
      const pids = new Set([...before.keys(), ...(await this.pids())]);
      let ticks = 0;
      for (const pid of pids) {
        const now = cpuOf(pid);
        if (!now) continue; // exited inside the window: its share is lost (the pool keeps its connections)
        const then = before.get(pid);
        ticks += then && then.started === now.started ? now.ticks - then.ticks : now.ticks;
      }
      return (ticks / clockTicks()) * 1e6;
    };
  }
}
