import { SingleBar } from 'cli-progress';

/** Where progress goes: stderr, so stdout stays the result a script reads. */
export interface ProgressSink {
  write(chunk: string): boolean;
  isTTY?: boolean;
}

/**
 * A progress bar on stderr for long jobs, shown when stderr is a terminal or when forced (`--progress`,
 * then also on a pipe, one line per update); `--no-progress` turns it off. Returns null when off.
 */
export function progressBar(stream: ProgressSink, mode: 'auto' | 'on' | 'off', format: string): SingleBar | null {
  if (mode === 'off' || (mode === 'auto' && !stream.isTTY)) return null;
  return new SingleBar({
    format,
    stream: stream as NodeJS.WritableStream,
    noTTYOutput: mode === 'on',
    notTTYSchedule: 200,
    hideCursor: Boolean(stream.isTTY),
    clearOnComplete: false,
  });
}
