import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { AuditRecord } from '@kms/application';
import type { KmsClient } from '@kms/contracts';
import { planRetention, type RetainedArchive } from '@kms/evidence';
import { BACKUP_FILES, sealBackup } from '@kms/ledger';

/** A backup directory is `kms-backup-<ISO time with : and . as ->`, so names sort by time. */
export const BACKUP_DIR_PREFIX = 'kms-backup-';

/** What signs the manifest: the KMS's attestation signer (HSM key in production). */
export interface ManifestSigner {
  sign(data: Buffer): Promise<Buffer>;
  keyFingerprint(): Promise<string>;
}

export interface BackupJobOptions {
  targets: string[];
  /** Id of the kms-backup DATA_PROTECTION key (workloads may not list keys, so it is configured: --key-id). */
  backupKeyId: string;
  /** PostgreSQL URL and schema of the KMS (KMS_DATABASE_URL, KMS_DATABASE_SCHEMA). */
  database: { url: string; schema: string };
  /** State files (HSM token directory, configuration, master key only when asked) as archive path -> file or directory. */
  artifacts: Array<{ archivePath: string; source: string }>;
  now: Date;
}

export interface BackupJobDeps {
  /** The KMS over gRPC, as the backup workload (GENERATE_DATA_KEY on kms-backup). */
  client: KmsClient;
  token: string;
  signer: ManifestSigner;
  /**
   * Appends the backup's audit record (archive SHA-256) to the sealed audit log, whose records the audit
   * projector puts in the tamper-evident ledger. Fail-closed: no copy is written when it fails.
   */
  anchor: (record: AuditRecord) => Promise<void>;
  stdout: (s: string) => void;
}

/** Raised when the backup cannot be made; `field` names the input at fault. */
export class BackupJobError extends Error {
  override readonly name = 'BackupJobError';
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Buffer> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', fail);
    child.on('close', (code) => (code === 0 ? done(Buffer.concat(out)) : fail(new Error(`${command} exited ${code}: ${Buffer.concat(err).toString('utf8').trim()}`))));
  });
}

/** Major version of "pg_dump (PostgreSQL) 15.20 (…)" or "15.20 (Debian …)". */
function major(version: string): string {
  const m = /(\d+)(?:\.\d+)?/.exec(version);
  return m ? m[1] : version;
}

/**
 * A consistent dump of the KMS schema: pg_dump's major version must match the server's (an older
 * pg_dump refuses a newer server, a newer one writes dumps an older server cannot restore), and
 * --serializable-deferrable waits for a snapshot no concurrent transaction can make anomalous.
 */
export async function dumpKmsDatabase(database: { url: string; schema: string }): Promise<{ dump: Buffer; pgDumpVersion: string; serverVersion: string }> {
  const pgDumpVersion = (await run('pg_dump', ['--version'])).toString('utf8').trim();
  const serverVersion = (await run('psql', ['--no-psqlrc', '-Atc', 'show server_version', database.url])).toString('utf8').trim();
  if (major(pgDumpVersion) !== major(serverVersion)) {
    throw new BackupJobError(`pg_dump is ${pgDumpVersion}, the server ${serverVersion}: install the pg_dump of the server's major version`, 'pg_dump');
  }
  const dump = await run('pg_dump', ['--format=custom', '--serializable-deferrable', '--no-owner', '--no-privileges', `--schema=${database.schema}`, database.url]);
  return { dump, pgDumpVersion, serverVersion };
}

function collect(archivePath: string, source: string): Array<{ path: string; content: Buffer }> {
  if (!existsSync(source)) throw new BackupJobError(`${source} does not exist`, `artifact ${archivePath}`);
  if (!statSync(source).isDirectory()) return [{ path: archivePath, content: readFileSync(source) }];
  const files: Array<{ path: string; content: Buffer }> = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else files.push({ path: `${archivePath}/${relative(source, full)}`, content: readFileSync(full) });
    }
  };
  walk(source);
  return files;
}

/** The backups already in a target, by the time in their manifest. */
export function backupsIn(target: string): RetainedArchive[] {
  return readdirSync(target)
    .filter((name) => name.startsWith(BACKUP_DIR_PREFIX) && existsSync(join(target, name, BACKUP_FILES.manifest)))
    .map((name) => {
      const manifest = JSON.parse(readFileSync(join(target, name, BACKUP_FILES.manifest), 'utf8')) as { createdAt: string };
      return { name, createdAt: new Date(manifest.createdAt) };
    });
}

/**
 * The nightly backup: dump, collect the state artifacts, seal them under a fresh data key from
 * kms-backup (GenerateDataKey: the data key is used here and zeroed, only its wrapped form is kept),
 * sign the manifest, write a copy to every target (atomically, via a temporary directory), then
 * apply the retention plan in each target and print what was kept and removed.
 */
export async function runBackup(options: BackupJobOptions, deps: BackupJobDeps): Promise<{ name: string; archiveSha256: string }> {
  if (!/^[0-9a-f-]{36}$/.test(options.backupKeyId)) throw new BackupJobError('the id of the kms-backup key (a UUID) is required', 'key-id');
  if (options.targets.length === 0) throw new BackupJobError('give at least one --target directory', 'target');
  for (const t of options.targets) if (!existsSync(t) || !statSync(t).isDirectory()) throw new BackupJobError(`${t} is not a directory`, 'target');
  const { dump, pgDumpVersion } = await dumpKmsDatabase(options.database);
  const files = [{ path: 'database/kms.dump', content: dump }, ...options.artifacts.flatMap((a) => collect(a.archivePath, a.source))];
  const keyId = options.backupKeyId;
  const dk = await deps.client.call<{ plaintext: Buffer; ciphertext: Buffer; key_id: string; key_version: number }>('GenerateDataKey', { key_id: keyId }, { token: deps.token });
  let sealed;
  try {
    sealed = await sealBackup(files, {
      createdAt: options.now,
      dataKey: dk.plaintext,
      wrapped: { keyId: dk.key_id, keyVersion: dk.key_version, ciphertext: dk.ciphertext.toString('base64') },
      sign: (data) => deps.signer.sign(data),
      signerFingerprint: await deps.signer.keyFingerprint(),
    });
  } finally {
    dk.plaintext.fill(0);
  }
  const name = `${BACKUP_DIR_PREFIX}${options.now.toISOString().replace(/[:.]/g, '-')}`;
  const archiveSha256 = (JSON.parse(sealed.manifest.toString('utf8')) as { archive: { sha256: string } }).archive.sha256;
  await deps.anchor({
    id: randomUUID(),
    time: options.now,
    requestId: randomUUID(),
    operation: 'Backup',
    keyId,
    keyVersion: dk.key_version,
    actor: 'system:backup',
    outcome: 'SUCCESS',
    details: { backup: name, archiveSha256, files: files.length, manifestSha256: sha256(sealed.manifest) },
  });
  deps.stdout(`backup\t${name}\t${files.length} file(s)\tarchive sha256 ${archiveSha256}\t${pgDumpVersion}\n`);
  for (const target of options.targets) {
    const tmp = join(target, `.${name}.tmp`);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { mode: 0o700 });
    writeFileSync(join(tmp, BACKUP_FILES.manifest), sealed.manifest, { mode: 0o600 });
    writeFileSync(join(tmp, BACKUP_FILES.signature), sealed.signature, { mode: 0o600 });
    writeFileSync(join(tmp, BACKUP_FILES.archive), sealed.archive, { mode: 0o600 });
    writeFileSync(join(tmp, BACKUP_FILES.dataKey), sealed.dataKey, { mode: 0o600 });
    renameSync(tmp, join(target, name));
    deps.stdout(`copied\t${join(target, name)}\n`);
    const plan = planRetention(backupsIn(target), options.now);
    for (const k of plan.keep) deps.stdout(`kept\t${join(target, k.name)}\t${k.reasons.join(', ')}\n`);
    for (const r of plan.remove) {
      rmSync(join(target, r.name), { recursive: true, force: true });
      deps.stdout(`removed\t${join(target, r.name)}\n`);
    }
  }
  return { name, archiveSha256 };
}
