import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BACKUP_FILES, type BackupManifest, openBackup, type WrappedDataKey } from '@kms/ledger';
import { BackupJobError } from './backup.job';

export interface RestoreDeps {
  /** Checks the manifest signature with the attestation public key. */
  verify: (data: Buffer, signature: Buffer) => Promise<boolean>;
  /** Unwraps the data key with the KMS (Decrypt as the backup workload). */
  unwrap: (wrapped: WrappedDataKey) => Promise<Buffer>;
  stdout: (s: string) => void;
}

function run(command: string, args: string[], input?: string): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (err += b.toString('utf8')));
    child.on('error', fail);
    child.on('close', (code) => (code === 0 ? done(out) : fail(new Error(`${command} exited ${code}: ${err.trim()}`))));
    child.stdin.end(input ?? '');
  });
}

/**
 * Restore a backup directory into a staging database: open it (manifest signature, archive size and
 * hash, data key, every file's hash; BackupTamperedError names the file otherwise) before anything is
 * written, refuse a database that already holds KMS events, then pg_restore the dump. The restore over
 * a live database (with a second person's approval) is not built: it is always refused.
 */
export async function restoreIntoStaging(archiveDir: string, databaseUrl: string, deps: RestoreDeps): Promise<{ manifest: BackupManifest; schema: string; events: number }> {
  const opened = await openBackup(
    {
      manifest: readFileSync(join(archiveDir, BACKUP_FILES.manifest)),
      signature: readFileSync(join(archiveDir, BACKUP_FILES.signature)),
      archive: readFileSync(join(archiveDir, BACKUP_FILES.archive)),
      dataKey: readFileSync(join(archiveDir, BACKUP_FILES.dataKey)),
    },
    deps,
  );
  deps.stdout(`verified\t${archiveDir}\t${opened.manifest.files.length} file(s), signer ${opened.manifest.signerFingerprint}\n`);
  const dump = opened.files.get('database/kms.dump');
  if (!dump) throw new BackupJobError('the backup holds no database/kms.dump', 'archive');
  const dir = mkdtempSync(join(tmpdir(), 'kms-restore-'));
  try {
    const dumpFile = join(dir, 'kms.dump');
    writeFileSync(dumpFile, dump, { mode: 0o600 });
    const schema = /^\d+; \d+ \d+ SCHEMA - (\S+) /m.exec(await run('pg_restore', ['--list', dumpFile]))?.[1];
    if (!schema) throw new BackupJobError('the dump names no schema', 'archive');
    const live = await run('psql', ['--no-psqlrc', '-At', '-v', 'ON_ERROR_STOP=1', databaseUrl, '-c', `SELECT to_regclass('${schema.replace(/'/g, "''")}.events') IS NOT NULL`]);
    if (live.trim() === 't') throw new BackupJobError(`${schema}.events exists in the target database: restore into an empty staging database (restoring over a live one is refused)`, 'database');
    await run('pg_restore', ['--no-owner', '--no-privileges', '--exit-on-error', `--dbname=${databaseUrl}`, dumpFile]);
    const events = Number((await run('psql', ['--no-psqlrc', '-At', databaseUrl, '-c', `SELECT count(*) FROM "${schema.replace(/"/g, '""')}".events`])).trim());
    deps.stdout(`restored\t${schema}\t${events} event(s)\n`);
    return { manifest: opened.manifest, schema, events };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
