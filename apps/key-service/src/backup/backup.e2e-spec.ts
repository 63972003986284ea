import { execFile, execFileSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import { randomBytes, verify } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SoftwareAttestationSigner } from '@kms/audit-projector';
import { Secret } from '@kms/config';
import { historySealKeys } from '@kms/key-backend-pkcs11';
import { loadMasterKey } from '@kms/key-backend-software';
import { BACKUP_FILES, openBackup } from '@kms/ledger';
import { AuditSealer, PostgresAuditLog, testDatabaseUrl } from '@kms/persistence-postgres';
import { type Actor, type KeyServiceUnderTest, startKeyServiceUnderTest } from '../key-service.e2e-harness';
import { withOneCharChanged } from '@kms/testing';
import { BACKUP_DIR_PREFIX, runBackup } from './backup.job';
import { restoreIntoStaging } from './restore.job';

describe('scripts/backup.sh: the nightly backup (real PostgreSQL, pg_dump, the KMS over gRPC)', () => {
  const masterKeyB64 = randomBytes(32).toString('base64');
  let kms: KeyServiceUnderTest;
  let backup: Actor;
  let backupKeyId: string;
  let targets: string[];
  let configFile: string;
  let audit: PostgresAuditLog;
  const signer = SoftwareAttestationSigner.generate();
  let made: { name: string; archiveSha256: string } | undefined;
  const staging = `kms_staging_${randomBytes(4).toString('hex')}`;
  const stagingUrl = () => {
    const u = new URL(testDatabaseUrl());
    u.pathname = `/${staging}`;
    return u.toString();
  };

  beforeAll(async () => {
    kms = await startKeyServiceUnderTest('e2e_backup_job', { KMS_MASTER_KEY: masterKeyB64 });
    backup = await kms.register('kms-backup-job', 'WORKLOAD');
    backupKeyId = (await kms.admin.call<{ key_id: string }>('CreateKey', {
      tenant: 'platform',
      name: 'kms-backup',
      purpose: 'DATA_PROTECTION',
      algorithm: 'AES_256_GCM',
      policy: { grants: { [backup.identityId]: { permissions: ['GENERATE_DATA_KEY', 'DECRYPT'] } } },
    })).key_id;
    targets = [mkdtempSync(join(tmpdir(), 'kms-nightly-')), mkdtempSync(join(tmpdir(), 'kms-offsite-'))];
    configFile = join(mkdtempSync(join(tmpdir(), 'kms-conf-')), 'kms.env');
    writeFileSync(configFile, `KMS_DATABASE_SCHEMA=${kms.schema}\n`);
    const sealKeys = await historySealKeys(undefined, await loadMasterKey({ kind: 'env', value: new Secret(masterKeyB64) }));
    audit = new PostgresAuditLog(kms.db, new AuditSealer(sealKeys.audit), { maxBatch: 1 });
  });
  afterAll(async () => {
    for (const t of targets ?? []) rmSync(t, { recursive: true, force: true });
    await audit?.close();
    execFileSync('psql', ['--no-psqlrc', testDatabaseUrl(), '-c', `DROP DATABASE IF EXISTS ${staging}`]);
    await kms?.stop();
  });

  /** An older backup already in a target: only its manifest's time matters to retention. */
  function olderBackup(target: string, createdAt: Date): string {
    const name = `${BACKUP_DIR_PREFIX}${createdAt.toISOString().replace(/[:.]/g, '-')}`;
    mkdirSync(join(target, name));
    writeFileSync(join(target, name, BACKUP_FILES.manifest), JSON.stringify({ createdAt: createdAt.toISOString() }));
    return name;
  }

  it('dumps the schema, seals it with the state files under a kms-backup data key, anchors the hash in the audit ledger, copies to every target and prunes', async () => {
    const now = kms.clock.now();
    const older = Array.from({ length: 20 }, (_, i) => olderBackup(targets[0], new Date(now.getTime() - (i + 1) * 86_400_000)));
    const lines: string[] = [];
    made = await runBackup(
      { targets, backupKeyId, database: { url: testDatabaseUrl(), schema: kms.schema }, artifacts: [{ archivePath: 'config/kms.env', source: configFile }], now },
      { client: kms.client, token: await backup.token(), signer, anchor: (r) => audit.append(r), stdout: (s) => lines.push(...s.trimEnd().split('\n')) },
    );

    const publicKeyPem = await signer.publicKeyPem();
    for (const target of targets) {
      const dir = join(target, made.name);
      const opened = await openBackup(
        {
          manifest: readFileSync(join(dir, BACKUP_FILES.manifest)),
          signature: readFileSync(join(dir, BACKUP_FILES.signature)),
          archive: readFileSync(join(dir, BACKUP_FILES.archive)),
          dataKey: readFileSync(join(dir, BACKUP_FILES.dataKey)),
        },
        {
          verify: async (data, sig) => verify('sha256', data, publicKeyPem, sig),
          unwrap: async (w) => (await backup.call<{ plaintext: Buffer }>('Decrypt', { ciphertext: Buffer.from(w.ciphertext, 'base64') })).plaintext,
        },
      );
      expect(opened.files.get('config/kms.env')?.toString('utf8')).toBe(readFileSync(configFile, 'utf8'));
      expect(opened.manifest.archive.sha256).toBe(made.archiveSha256);
      // The dump is a pg_dump custom archive of the KMS schema: pg_restore lists its tables.
      const dumpFile = join(target, 'kms.dump');
      writeFileSync(dumpFile, opened.files.get('database/kms.dump') ?? Buffer.alloc(0));
      const listing = execFileSync('pg_restore', ['--list', dumpFile]).toString('utf8');
      rmSync(dumpFile);
      expect(listing).toMatch(new RegExp(`TABLE ${kms.schema} events `));
      // audit_records is partitioned by month: its rows are the data of its partitions.
      expect(listing).toMatch(new RegExp(`TABLE ${kms.schema} audit_records `));
      expect(listing).toMatch(new RegExp(`TABLE DATA ${kms.schema} audit_records_p\\d{6} `));
    }

    const anchored = await kms.db.query<{ details: Record<string, unknown>; actor: string }>(`SELECT details, actor FROM audit_records WHERE operation = 'Backup'`);
    expect(anchored.rows).toHaveLength(1);
    expect(anchored.rows[0]).toMatchObject({ actor: 'system:backup', details: { backup: made.name, archiveSha256: made.archiveSha256 } });

    // Retention in the first target: what was printed as removed is gone, what was kept is there, and the 20 older ones were thinned.
    const removed = lines.filter((l) => l.startsWith(`removed\t${targets[0]}`)).map((l) => l.split('\t')[1].split('/').pop());
    const kept = lines.filter((l) => l.startsWith(`kept\t${targets[0]}`)).map((l) => l.split('\t')[1].split('/').pop());
    expect(removed.length).toBeGreaterThan(0);
    expect(kept).toContain(made.name);
    expect(readdirSync(targets[0]).sort()).toEqual([...kept].sort());
    for (const name of removed) expect(older).toContain(name);
    for (const name of removed) expect(existsSync(join(targets[0], name as string))).toBe(false);
    expect(readdirSync(targets[1])).toEqual([made.name]);
  });

  it('restores into an empty staging database only after the archive verifies; a tampered or truncated file is refused by name; a database with KMS data is refused', async () => {
    if (!made) throw new Error('the backup test did not run');
    const source = join(targets[1], made.name);
    const publicKeyPem = await signer.publicKeyPem();
    const deps = {
      verify: async (data: Buffer, sig: Buffer) => verify('sha256', data, publicKeyPem, sig),
      unwrap: async (w: { ciphertext: string }) => (await backup.call<{ plaintext: Buffer }>('Decrypt', { ciphertext: Buffer.from(w.ciphertext, 'base64') })).plaintext,
      stdout: () => undefined,
    };
    execFileSync('psql', ['--no-psqlrc', testDatabaseUrl(), '-c', `CREATE DATABASE ${staging}`]);

    const tampered = (file: string, change: (b: Buffer) => Buffer) => {
      const dir = mkdtempSync(join(tmpdir(), 'kms-tampered-'));
      cpSync(source, dir, { recursive: true });
      writeFileSync(join(dir, file), change(readFileSync(join(dir, file))));
      return dir;
    };
    const oneByte = (b: Buffer) => Buffer.from(withOneCharChanged(b.toString('latin1')), 'latin1');
    for (const [file, change] of [
      [BACKUP_FILES.archive, oneByte],
      [BACKUP_FILES.manifest, oneByte],
      [BACKUP_FILES.archive, (b: Buffer) => b.subarray(0, b.length - 100)],
    ] as const) {
      const dir = tampered(file, change);
      await expect(restoreIntoStaging(dir, stagingUrl(), deps)).rejects.toThrow(new RegExp(`^${file.replace('.', '\\.')}: `));
      rmSync(dir, { recursive: true, force: true });
    }
    // Nothing was written by the refused restores.
    expect(execFileSync('psql', ['--no-psqlrc', '-At', stagingUrl(), '-c', `SELECT to_regclass('${kms.schema}.events') IS NULL`]).toString('utf8').trim()).toBe('t');

    const restored = await restoreIntoStaging(source, stagingUrl(), deps);
    expect(restored.schema).toBe(kms.schema);
    // No call since the backup appended an event (Decrypt only audits), so the restored log is the live one.
    const live = await kms.db.query<{ n: string }>('SELECT count(*) AS n FROM events');
    expect(restored.events).toBeGreaterThan(0);
    expect(restored.events).toBe(Number(live.rows[0].n));
    await expect(restoreIntoStaging(source, stagingUrl(), deps)).rejects.toThrow(/events exists in the target database/);
  });

  it('scripts/backup.sh exchanges the backup workload\'s client id and secret for a token (the Kubernetes CronJob), and fails on a wrong secret without writing anything', async () => {
    const target = mkdtempSync(join(tmpdir(), 'kms-cron-'));
    targets.push(target);
    const script = (secret: string) =>
      new Promise<{ code: number; out: string; err: string }>((done) => {
        const env: NodeJS.ProcessEnv = {
          ...process.env,
          KMS_DATABASE_URL: testDatabaseUrl(),
          KMS_DATABASE_SCHEMA: kms.schema,
          KMS_MASTER_KEY: masterKeyB64,
          KMS_ADDRESS: kms.service.grpcAddress,
          KMS_BACKUP_KEY_ID: backupKeyId,
          KMS_BACKUP_CLIENT_ID: backup.identityId,
          KMS_BACKUP_CLIENT_SECRET: secret,
        };
        delete env['KMS_TOKEN'];
        execFile('bash', [resolve(__dirname, '../../../../scripts/backup.sh'), '--target', target], { env, timeout: 120_000 }, (error, stdout, stderr) =>
          done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, out: stdout, err: stderr }),
        );
      });
    const bad = await script('not-the-secret');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^backup failed: /);
    expect(readdirSync(target)).toEqual([]);
    const good = await script(backup.clientSecret);
    expect({ code: good.code, err: good.err }).toEqual({ code: 0, err: '' });
    const made = readdirSync(target);
    expect(made).toHaveLength(1);
    expect(good.out).toContain(`copied\t${join(target, made[0] as string)}`);
  }, 180_000);
});
