import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KmsClient } from '@kms/contracts';
import { BACKUP_FILES, rewrapDataKey } from '@kms/ledger';
import { CliUsageError } from '../request/cli-usage.error';

/**
 * `kms backup-rewrap --target DIR…`: after a rotation of the backup key, re-wrap the data key of every
 * backup kept in each target with ReEncrypt (each a directory with data-key.json), replacing the file
 * atomically. Once done, no retained archive depends on the old version and it may be retired.
 */
export async function backupRewrap(
  client: KmsClient,
  token: string | undefined,
  targets: string[],
  io: { stdout: (s: string) => void; stderr: (s: string) => void },
): Promise<number> {
  if (!token) throw new CliUsageError('backup-rewrap needs a token: set KMS_TOKEN or --token (the backup workload)', 'token');
  if (targets.length === 0) throw new CliUsageError('give at least one --target directory', 'target');
  let failed = 0;
  for (const target of targets) {
    if (!existsSync(target)) throw new CliUsageError(`target: ${target} does not exist`, 'target');
    for (const name of readdirSync(target).sort()) {
      const path = join(target, name, BACKUP_FILES.dataKey);
      if (!existsSync(path)) continue;
      try {
        const done = await rewrapDataKey(readFileSync(path), async (ciphertext) => {
          const r = await client.call<{ ciphertext: Buffer; key_id: string; key_version: number }>('ReEncrypt', { ciphertext }, { token });
          return { ciphertext: r.ciphertext, keyId: r.key_id, keyVersion: r.key_version };
        });
        writeFileSync(`${path}.tmp`, done.file, { mode: 0o600 });
        renameSync(`${path}.tmp`, path);
        io.stdout(`rewrapped\t${join(target, name)}\t${done.from.keyId} v${done.from.keyVersion} -> v${done.to.keyVersion}\n`);
      } catch (e) {
        failed++;
        io.stderr(`failed\t${join(target, name)}\t${(e as Error).message}\n`);
      }
    }
  }
  return failed === 0 ? 0 : 1;
}
