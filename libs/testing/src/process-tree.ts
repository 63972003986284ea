import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** The parent pid of `pid` from /proc (Linux), or undefined when it has exited. */
function parentOf(pid: number): number | undefined {
  try {
    // The command name (field 2) is in parentheses and may hold spaces: read after its closing ")".
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[1]);
  } catch {
    return undefined;
  }
}

/** Every live descendant of `pid` (children, grandchildren, …), from /proc. */
export function descendantPids(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const child = Number(entry);
    const parent = parentOf(child);
    if (parent === undefined) continue;
    children.set(parent, [...(children.get(parent) ?? []), child]);
  }
  const out: number[] = [];
  const queue = [...(children.get(pid) ?? [])];
  while (queue.length > 0) {
    const next = queue.shift() as number;
    out.push(next);
    queue.push(...(children.get(next) ?? []));
  }
  return out;
}

/** True while the process exists and is not a zombie waiting to be reaped. */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** True when nothing listens on 127.0.0.1:port (binding it succeeds). */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolvePort) => {
    const srv = createServer();
    srv.once('error', () => resolvePort(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolvePort(true)));
  });
}

/** Poll `url` until it answers 200 or the time is up; returns the last status (0: no answer). */
export async function waitForHttpOk(url: string, timeoutMs: number, stillRunning: () => boolean = () => true): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = 0;
  while (Date.now() < deadline && stillRunning()) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      last = res.status;
      await res.arrayBuffer();
      if (res.status === 200) return 200;
    } catch {
      last = 0;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return last;
}
