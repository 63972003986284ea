import { readFileSync, writeFileSync } from 'node:fs';
import { API_LIMITS, type KmsClient } from '@kms/contracts';
import { CliUsageError } from '../request/cli-usage.error';
import { validateMessage } from '../request/request-validator';
import type { ProtoCatalog } from '../proto/proto-catalog';
import { progressBar, type ProgressSink } from './progress';

export interface BatchReEncryptOptions {
  destinationKeyId?: string;
  sourceAad?: string;
  destinationAad?: string;
  batchSize: number;
  out?: string;
  json: boolean;
  progress: 'auto' | 'on' | 'off';
}

interface ItemResult {
  response?: { ciphertext: Buffer; key_id: string; key_version: number };
  error?: { code: string; error_code: string; message: string; field: string };
}

/**
 * `kms batch-reencrypt-file <file>`: every ciphertext of a file (one base64 per line; "-" = stdin) moved to
 * the destination key's primary version with BatchReEncrypt, in batches, with a progress bar. Output
 * keeps the input's order: one new ciphertext per line (an empty line where an item failed, the reason
 * on stderr), or JSON lines with --json. Returns the exit code: 0 all moved, 1 some failed.
 */
export async function batchReEncrypt(
  catalog: ProtoCatalog,
  client: KmsClient,
  call: { token?: string; deadlineMs: number },
  file: string,
  options: BatchReEncryptOptions,
  io: { stdout: (s: string) => void; stderr: (s: string) => void; progressStream: ProgressSink; stdin: () => string },
): Promise<number> {
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1 || options.batchSize > API_LIMITS.maxBatchItems) {
    throw new CliUsageError(`--batch-size must be from 1 to ${API_LIMITS.maxBatchItems}, got ${options.batchSize}`, 'batch_size');
  }
  let text: string;
  try {
    text = file === '-' ? io.stdin() : readFileSync(file, 'utf8');
  } catch {
    throw new CliUsageError(`cannot read ${file}`);
  }
  const lines = text.split('\n').map((l, i) => ({ line: i + 1, ciphertext: l.trim() })).filter((l) => l.ciphertext !== '');
  const template = {
    ...(options.sourceAad ? { source_aad: options.sourceAad } : {}),
    ...(options.destinationKeyId ? { destination_key_id: options.destinationKeyId } : {}),
    ...(options.destinationAad ? { destination_aad: options.destinationAad } : {}),
  };
  // Every item is checked before the first call, so a bad line stops the job before anything moved.
  for (const l of lines) {
    try {
      validateMessage(catalog, 'ReEncryptRequest', { ...template, ciphertext: l.ciphertext });
    } catch (e) {
      if (e instanceof CliUsageError) throw new CliUsageError(`${file} line ${l.line}: ${e.message}`, e.field);
      throw e;
    }
  }
  const bar = progressBar(io.progressStream, options.progress, 'batch-reencrypt-file [{bar}] {value}/{total} ciphertexts | {failed} failed | ETA {eta}s');
  bar?.start(lines.length, 0, { failed: 0 });
  const out: string[] = [];
  let failed = 0;
  try {
    for (let i = 0; i < lines.length; i += options.batchSize) {
      const chunk = lines.slice(i, i + options.batchSize);
      const res = await client.call<{ results: ItemResult[] }>(
        'BatchReEncrypt',
        { items: chunk.map((l) => ({ ...template, ciphertext: l.ciphertext })) },
        { ...(call.token ? { token: call.token } : {}), deadlineMs: call.deadlineMs },
      );
      res.results.forEach((r, j) => {
        const { line } = chunk[j];
        if (r.response) {
          const ciphertext = r.response.ciphertext.toString('base64');
          out.push(options.json ? JSON.stringify({ line, ciphertext, key_id: r.response.key_id, key_version: r.response.key_version }) : ciphertext);
        } else {
          failed++;
          const e = r.error ?? { code: 'UNKNOWN', error_code: '', message: 'no result', field: '' };
          out.push(options.json ? JSON.stringify({ line, error: e }) : '');
          io.stderr(`line ${line}: ${e.code} ${e.error_code}: ${e.message}${e.field ? ` (field ${e.field})` : ''}\n`);
        }
      });
      bar?.update(Math.min(i + options.batchSize, lines.length), { failed });
    }
  } finally {
    bar?.stop();
  }
  const body = out.length > 0 ? `${out.join('\n')}\n` : '';
  if (options.out) writeFileSync(options.out, body);
  else io.stdout(body);
  io.stderr(`re-encrypted ${lines.length - failed} of ${lines.length} ciphertexts${failed > 0 ? ` (${failed} failed)` : ''}${options.out ? `, written to ${options.out}` : ''}\n`);
  return failed > 0 ? 1 : 0;
}
