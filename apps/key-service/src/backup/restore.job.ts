import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { replayEventStore } from '@kms/application';
import { createReadModelDataSource, LedgerStore } from '@kms/audit-projector';
import type { KmsConfig } from '@kms/config';
import { PROOF_CHAIN_STREAM_PREFIX } from '@kms/domain';
import { type JwkSetFile, proofTokenHash, verifyChain } from '@kms/evidence';
import type { EventSealer } from '@kms/event-store';
import { notifyChannelFor, PostgresEventStore } from '@kms/event-store-postgres';
import { BACKUP_FILES, type BackupManifest, LEDGER_LOGS, openBackup, type WrappedDataKey } from '@kms/ledger';
import { createPgPool } from '@kms/persistence-postgres';
import { migrateKms } from '../migrate/migrate-kms';
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

/** One step of a restore drill, as the drill report prints it. */
export interface DrillStep {
  step: 'verify and restore' | 'migrations' | 'replay' | 'ledger' | 'proof chains';
  outcome: 'passed' | 'failed';
  startedAt: string;
  ms: number;
  figures: Record<string, number | string>;
  /** What failed, naming the file, stream, log or token. */
  problem?: string;
}

/** What a restore drill did: the archive, the times, each step's outcome and figures. */
export interface DrillReport {
  archive: string;
  database: string;
  schema: string;
  startedAt: string;
  finishedAt: string;
  outcome: 'passed' | 'failed';
  steps: DrillStep[];
}

/** What the checks of a restored database need besides the database. */
export interface RestoredDatabaseChecks {
  /** Checks the event seals and each stream's hash chain while replaying (the KMS's history seal key). */
  sealer: EventSealer;
  /** The attestation public key: the ledger's signed checkpoints. */
  attestationPublicKeyPem: string;
  /** Origin prefix of the ledger's checkpoints (KMS_LEDGER_ORIGIN). */
  ledgerOrigin: string;
  /** The JWK Set that verifies a tenant's chain (retired root versions included). */
  jwksFor: (tenant: string) => Promise<JwkSetFile>;
  /** How many of each tenant's most recent RPTs are verified. Default 1000. */
  rptWindow?: number;
  now: () => Date;
}

export interface RestoreDrillOptions extends RestoredDatabaseChecks {
  /** The KMS configuration of the staging environment: migrateKms runs with it on the restored schema. */
  config: KmsConfig;
}

/** Default number of recent RPTs per tenant a drill verifies. */
export const DEFAULT_RPT_WINDOW = 1000;

async function timed(step: DrillStep['step'], now: () => Date, body: (figures: Record<string, number | string>) => Promise<string | undefined>): Promise<DrillStep> {
  const started = now();
  const t0 = process.hrtime.bigint();
  const figures: Record<string, number | string> = {};
  let problem: string | undefined;
  try {
    problem = await body(figures);
  } catch (e) {
    problem = e instanceof Error ? e.message : String(e);
  }
  const ms = Number((process.hrtime.bigint() - t0) / 1_000_000n);
  return { step, outcome: problem === undefined ? 'passed' : 'failed', startedAt: started.toISOString(), ms, figures, ...(problem !== undefined ? { problem } : {}) };
}

/** The staging URL with the restored schema as search_path (the pools of the checks). */
const target = (url: string, schema: string) => ({ url, schema });

/**
 * The checks of a restored database, each run whatever the others found: replay the event store
 * (every stream through its decider with seals and hash chains checked, and the key catalog), check
 * the ledger's leaves against every signed checkpoint in the backup, and verifyChain on each tenant's
 * most recent RPTs as stored (seals unchecked, so the chain's own verdict names the bad token).
 */
export async function checkRestoredDatabase(databaseUrl: string, schema: string, checks: RestoredDatabaseChecks): Promise<DrillStep[]> {
  const pool = createPgPool(target(databaseUrl, schema), { max: 3, application_name: 'kms-restore-drill' });
  const store = new PostgresEventStore(pool, { channel: notifyChannelFor(schema), sealer: checks.sealer, pollIntervalMs: 200 });
  try {
    const replay = await timed('replay', checks.now, async (figures) => {
      const r = await replayEventStore(store);
      Object.assign(figures, { streams: r.streams, events: r.events, keys: r.keys });
      for (const [name, c] of Object.entries(r.byAggregate)) figures[`${name} streams`] = c.streams;
      return undefined;
    });
    const ledger = await timed('ledger', checks.now, async (figures) => {
      const ds = createReadModelDataSource(target(databaseUrl, schema), { poolSize: 1, applicationName: 'kms-restore-drill' });
      await ds.initialize();
      try {
        // Only audit() is used: it re-reads leaves and checkpoints and never signs.
        const refuseToSign = { publicKeyPem: async () => checks.attestationPublicKeyPem, sign: async (): Promise<Buffer> => Promise.reject(new Error('a restore drill signs nothing')) };
        const store = new LedgerStore(ds, checks.ledgerOrigin, refuseToSign, { now: checks.now });
        const problems = await store.audit(checks.attestationPublicKeyPem);
        for (const log of LEDGER_LOGS) {
          const cp = await store.latestCheckpoint(log);
          if (!cp) problems.push(`${log}: the backup holds no signed checkpoint of the ${log} log`);
          figures[`${log} leaves`] = (await store.leafHashes(log)).length;
          figures[`${log} checkpoint`] = cp ? `${cp.treeSize} signed ${cp.time}` : 'none';
        }
        return problems.length > 0 ? problems.join('; ') : undefined;
      } finally {
        await ds.destroy();
      }
    });
    const chains = await timed('proof chains', checks.now, async (figures) => {
      const window = checks.rptWindow ?? DEFAULT_RPT_WINDOW;
      const streams = await pool.query<{ stream_id: string }>(`SELECT DISTINCT stream_id FROM events WHERE starts_with(stream_id, $1) ORDER BY stream_id`, [PROOF_CHAIN_STREAM_PREFIX]);
      const problems: string[] = [];
      let tokens = 0;
      for (const { stream_id } of streams.rows) {
        const tenant = stream_id.slice(PROOF_CHAIN_STREAM_PREFIX.length);
        const stored = (await store.readStoredStream(stream_id)).map((e) => e.data as { seq: number; token: string });
        const start = Math.max(0, stored.length - window);
        const before = start > 0 ? stored[start - 1] : undefined;
        const recent = stored.slice(start).map((t) => t.token);
        const verdict = verifyChain(tenant, recent, await checks.jwksFor(tenant), { requireTokens: true, ...(before ? { after: { seq: before.seq, hash: proofTokenHash(before.token) } } : {}) });
        tokens += recent.length;
        if (!verdict.ok) problems.push(`${tenant}: ${verdict.problem}: ${verdict.message}`);
        else figures[tenant] = `seq ${verdict.firstSeq}..${verdict.lastSeq}, ${verdict.kids.length} root version(s)`;
      }
      Object.assign(figures, { tenants: streams.rows.length, tokens });
      return problems.length > 0 ? problems.join('; ') : undefined;
    });
    return [replay, ledger, chains];
  } finally {
    await store.close();
    await pool.end();
  }
}

/**
 * The monthly restore drill (`scripts/restore.sh`): verify and restore the backup into an empty
 * staging database (refused before anything is written when the archive does not verify), re-run
 * every migration on the restored schema (migrateKms, the seal upgrade off: the restored history is
 * sealed already), then the checks of checkRestoredDatabase. Returns the drill report.
 */
export async function runRestoreDrill(archiveDir: string, databaseUrl: string, options: RestoreDrillOptions, deps: RestoreDeps): Promise<DrillReport> {
  const startedAt = options.now();
  const t0 = process.hrtime.bigint();
  const restored = await restoreIntoStaging(archiveDir, databaseUrl, deps);
  const steps: DrillStep[] = [
    {
      step: 'verify and restore',
      outcome: 'passed',
      startedAt: startedAt.toISOString(),
      ms: Number((process.hrtime.bigint() - t0) / 1_000_000n),
      figures: { files: restored.manifest.files.length, 'archive sha256': restored.manifest.archive.sha256, 'backup created': restored.manifest.createdAt, events: restored.events },
    },
  ];
  const { config } = options;
  steps.push(
    await timed('migrations', options.now, async (figures) => {
      const staging: KmsConfig = {
        ...config,
        postgres: { ...config.postgres, url: databaseUrl, migrationUrl: databaseUrl, schema: restored.schema },
        keyService: { ...config.keyService, sealExistingHistory: false },
      };
      const migrated = await migrateKms(staging);
      figures.applied = migrated.applied.length;
      if (migrated.applied.length > 0) figures.names = migrated.applied.join(', ');
      return undefined;
    }),
  );
  steps.push(...(await checkRestoredDatabase(databaseUrl, restored.schema, options)));
  const report: DrillReport = {
    archive: archiveDir,
    database: redactUrl(databaseUrl),
    schema: restored.schema,
    startedAt: startedAt.toISOString(),
    finishedAt: options.now().toISOString(),
    outcome: steps.every((s) => s.outcome === 'passed') ? 'passed' : 'failed',
    steps,
  };
  deps.stdout(formatDrillReport(report));
  return report;
}

/** A database URL without its password (the report is kept with the drill record). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(not a URL)';
  }
}

/** The drill report as text: the archive, the times, then one line per step with its figures and problem. */
export function formatDrillReport(report: DrillReport): string {
  const lines = [
    `restore drill: ${report.outcome.toUpperCase()}`,
    `archive\t${report.archive}`,
    `database\t${report.database} (schema ${report.schema})`,
    `started\t${report.startedAt}`,
    `finished\t${report.finishedAt}`,
  ];
  for (const s of report.steps) {
    const figures = Object.entries(s.figures).map(([k, v]) => `${k}=${v}`).join(', ');
    lines.push(`step\t${s.step}\t${s.outcome}\t${s.ms} ms\t${figures}${s.problem ? `\tproblem: ${s.problem}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}
