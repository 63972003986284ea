import { mkdir, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

/**
 * CPU profiles of single scenarios: with BENCH_PROFILE_DIR set, each scenario run through `profiled`
 * writes `<dir>/<label>.cpuprofile` (open in Chrome DevTools or speedscope). `--cpu-prof` profiles the
 * whole run, start-up and every scenario mixed; this profiles the measured window of one.
 */
export async function profiled<T>(label: string, work: () => Promise<T>): Promise<T> {
  const dir = process.env['BENCH_PROFILE_DIR'];
  if (!dir) return work();
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    const result = await work();
    const { profile } = await session.post('Profiler.stop');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `${label.replace(/[^A-Za-z0-9._-]+/g, '-')}.cpuprofile`), JSON.stringify(profile));
    return result;
  } finally {
    session.disconnect();
  }
}
