/**
 * @jest-environment ./libs/key-backend-pkcs11/src/testing/softhsm-test.environment.ts
 */
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes, randomUUID, verify } from 'node:crypto';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { createReadModelDataSource, LedgerStore, ProjectionRunner, ProjectionStore, SoftwareAttestationSigner } from '@kms/audit-projector';
import { loadConfig } from '@kms/config';
import type { JwkSetFile } from '@kms/evidence';
import { type EventSealer } from '@kms/event-store';
import { notifyChannelFor, PostgresEventStore } from '@kms/event-store-postgres';
import { softHsmTestToken } from '@kms/key-backend-pkcs11/testing';
import { BACKUP_FILES, LEDGER_LOGS } from '@kms/ledger';
import { createPgPool, PostgresAuditFeed, testDatabaseUrl } from '@kms/persistence-postgres';
import { withOneCharChanged } from '@kms/testing';
import { Pool } from 'pg';
import { type Actor, type KeyServiceUnderTest, startKeyServiceUnderTest } from '../key-service.e2e-harness';
import { runBackup } from './backup.job';
import { checkRestoredDatabase, type DrillStep, type RestoredDatabaseChecks, runRestoreDrill } from './restore.job';

const MINUTE = 60_000;
const ROOT = resolve(__dirname, '../../../..');
const LEDGER_ORIGIN = 'kms.restore-drill.test/ledger';

/** Run scripts/restore.sh; resolves with its exit code and output. */
function restoreScript(args: string[], env: Record<string, string>): Promise<{ code: number; out: string; err: string }> {
  return new Promise((done) => {
    execFile('bash', [join(ROOT, 'scripts/restore.sh'), ...args], { env: { ...process.env, ...env }, timeout: 120_000 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, out: stdout, err: stderr });
    });
  });
}

/*
 * Issue #19, "Done when": on the real PostgreSQL and SoftHSM2, RPTs issued across two root-key
 * rotations are backed up, restored into a freshly created staging database by scripts/restore.sh,
 * and verifyChain passes there; a byte flipped in the archive, the manifest or one RPT, two RPTs
 * reordered or one dropped is detected and named.
 */
describe('restore drill: back up, restore into staging, replay, ledger, verifyChain (SoftHSM2, PostgreSQL)', () => {
  const masterKeyB64 = randomBytes(32).toString('base64');
  const token = softHsmTestToken();
  const hsmEnv = { KMS_HSM_ENABLED: '1', KMS_HSM_PIN_FILE: token.userPinFile, SOFTHSM2_CONF: token.confPath };
  const tenant = `drill-${randomUUID().slice(0, 8)}`;
  const signer = SoftwareAttestationSigner.generate();
  const staging = `kms_restore2_${randomBytes(4).toString('hex')}`;
  const stagingUrl = (() => {
    const u = new URL(testDatabaseUrl());
    u.pathname = `/${staging}`;
    return u.toString();
  })();
  let kms: KeyServiceUnderTest;
  let backup: Actor;
  let platform: Actor;
  let rootKeyId: string;
  let target: string;
  let backupDir: string;
  let jwks: JwkSetFile;
  let sealer: EventSealer;
  const tokens: string[] = [];

  const psql = (url: string, sql: string) => execFileSync('psql', ['--no-psqlrc', '-At', '-v', 'ON_ERROR_STOP=1', url, '-c', sql]).toString('utf8').trim();

  beforeAll(async () => {
    // With the owner's URL the migrate step runs every service's migrations: the ledger tables too.
    kms = await startKeyServiceUnderTest('e2e_restore_drill', { KMS_MASTER_KEY: masterKeyB64, KMS_MIGRATION_DATABASE_URL: testDatabaseUrl(), ...hsmEnv });
    const history = kms.service.runtime.sealedHistory;
    if (!history) throw new Error('the key service has no sealed history');
    sealer = history.sealer;
    backup = await kms.register('kms-backup-job', 'WORKLOAD');
    platform = await kms.register('tenant-platform', 'WORKLOAD');
    const scheduler = await kms.register('kms-rotation-scheduler', 'WORKLOAD', ['rotation-scheduler']);
    const backupKeyId = (
      await kms.admin.call<{ key_id: string }>('CreateKey', {
        tenant: 'platform',
        name: 'kms-backup',
        purpose: 'DATA_PROTECTION',
        algorithm: 'AES_256_GCM',
        policy: { grants: { [backup.identityId]: { permissions: ['GENERATE_DATA_KEY', 'DECRYPT'] } } },
      })
    ).key_id;
    rootKeyId = (
      await kms.admin.call<{ key_id: string }>('CreateKey', {
        tenant,
        name: 'root',
        purpose: 'ROOT_TENANT',
        algorithm: 'ECDSA_P256_SHA256',
        protection_level: 'HSM',
        policy: { grants: { [platform.identityId]: { permissions: ['SIGN', 'VERIFY'] } } },
      })
    ).key_id;
    // Nine RPTs, the root key rotated twice in between (versions 1, 2, 3 sign three each).
    for (let i = 1; i <= 9; i++) {
      tokens.push((await platform.call<{ token: string }>('IssueProofToken', { tenant, claim_json: Buffer.from(JSON.stringify({ filing: `F-${i}` })) })).token);
      kms.clock.advance(MINUTE);
      if (i % 3 === 0 && i < 9) await scheduler.call('RotateKey', { key_id: rootKeyId, reason: 'SCHEDULED' });
    }
    const res = await fetch(`${kms.httpUrl}/v1/rpt/${tenant}/jwks`, { headers: { authorization: `Bearer ${await platform.token()}` } });
    expect(res.status).toBe(200);
    jwks = (await res.json()) as JwkSetFile;

    // The audit projector's ledger over this history, with signed checkpoints, as a deployment has it.
    const target_ = { url: testDatabaseUrl(), schema: kms.schema };
    const ds = createReadModelDataSource(target_, { poolSize: 2 });
    await ds.initialize();
    const pool = createPgPool(target_, { max: 3 });
    const events = new PostgresEventStore(pool, { channel: notifyChannelFor(kms.schema), sealer, pollIntervalMs: 50 });
    const feed = new PostgresAuditFeed(pool, kms.service.runtime.auditSealer);
    const ledger = new LedgerStore(ds, LEDGER_ORIGIN, signer, kms.clock);
    const runner = new ProjectionRunner(new ProjectionStore(ds), events, feed, ledger, kms.clock, undefined, { checkpointIntervalMs: 60_000, pollIntervalMs: 20, retryDelayMs: 50 });
    try {
      runner.start();
      const head = BigInt((await pool.query<{ p: string }>('SELECT max(global_position) AS p FROM events')).rows[0]?.p ?? '0');
      await runner.waitFor({ events: head, audit: await feed.headPosition() });
      await runner.stop();
      for (const log of LEDGER_LOGS) await ledger.checkpointIfGrown(log);
    } finally {
      await events.close();
      await pool.end();
      await ds.destroy();
    }

    target = mkdtempSync(join(tmpdir(), 'kms-drill-'));
    const made = await runBackup(
      { targets: [target], backupKeyId, database: { url: testDatabaseUrl(), schema: kms.schema }, artifacts: [], now: kms.clock.now() },
      { client: kms.client, token: await backup.token(), signer, anchor: (r) => kms.service.runtime.audit.append(r), stdout: () => undefined },
    );
    backupDir = join(target, made.name);
    // A freshly created, empty staging database.
    execFileSync('psql', ['--no-psqlrc', testDatabaseUrl(), '-c', `DROP DATABASE IF EXISTS ${staging} WITH (FORCE)`]);
    execFileSync('psql', ['--no-psqlrc', testDatabaseUrl(), '-c', `CREATE DATABASE ${staging}`]);
  }, 180_000);

  afterAll(async () => {
    if (target) rmSync(target, { recursive: true, force: true });
    execFileSync('psql', ['--no-psqlrc', testDatabaseUrl(), '-c', `DROP DATABASE IF EXISTS ${staging} WITH (FORCE)`]);
    await kms?.stop();
  });

  const checks = (): RestoredDatabaseChecks => ({
    sealer,
    attestationPublicKeyPem: '',
    ledgerOrigin: LEDGER_ORIGIN,
    jwksFor: async () => jwks,
    now: () => kms.clock.now(),
  });
  const step = (steps: DrillStep[], name: DrillStep['step']) => {
    const s = steps.find((x) => x.step === name);
    if (!s) throw new Error(`no ${name} step`);
    return s;
  };

  it('refuses a backup with a byte flipped in the archive or the manifest, naming the file, before anything is written', async () => {
    const publicKeyPem = await signer.publicKeyPem();
    const config = loadConfig({ KMS_DATABASE_URL: testDatabaseUrl(), KMS_DATABASE_SCHEMA: kms.schema, KMS_MASTER_KEY: masterKeyB64 });
    for (const file of [BACKUP_FILES.archive, BACKUP_FILES.manifest]) {
      const dir = mkdtempSync(join(tmpdir(), 'kms-drill-tampered-'));
      try {
        cpSync(backupDir, dir, { recursive: true });
        const bytes = readFileSync(join(dir, file));
        writeFileSync(join(dir, file), Buffer.from(withOneCharChanged(bytes.toString('latin1'), Math.floor(bytes.length / 2)), 'latin1'));
        await expect(
          runRestoreDrill(dir, stagingUrl, { ...checks(), attestationPublicKeyPem: publicKeyPem, config }, {
            verify: async (data, sig) => verify('sha256', data, publicKeyPem, sig),
            unwrap: async (w) => (await backup.call<{ plaintext: Buffer }>('Decrypt', { ciphertext: Buffer.from(w.ciphertext, 'base64') })).plaintext,
            stdout: () => undefined,
          }),
        ).rejects.toThrow(new RegExp(`^${file.replace('.', '\\.')}: `));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    expect(psql(stagingUrl, `SELECT to_regclass('${kms.schema}.events') IS NULL`)).toBe('t');
  });

  it('scripts/restore.sh restores into the staging database, re-runs the migrations, replays every stream, checks the ledger and verifies the chain across both rotations', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kms-drill-files-'));
    try {
      writeFileSync(join(dir, 'attestation.pem'), await signer.publicKeyPem());
      writeFileSync(join(dir, 'jwks.json'), JSON.stringify(jwks));
      const liveEvents = Number(psql(testDatabaseUrl(), `SELECT count(*) FROM ${kms.schema}.events`));
      const drillArgs = ['--record-drill', '--participants', 'alice', '--participants', 'bob', '--follow-up', 'sre:time each step of the restore'];
      const run = await restoreScript([backupDir, '--database', stagingUrl, '--attestation-pem', join(dir, 'attestation.pem'), '--jwks', join(dir, 'jwks.json'), ...drillArgs], {
        KMS_DRILL_TOKEN: await kms.admin.token(),
        KMS_DATABASE_URL: testDatabaseUrl(),
        KMS_DATABASE_SCHEMA: kms.schema,
        KMS_MASTER_KEY: masterKeyB64,
        KMS_LEDGER_ORIGIN: LEDGER_ORIGIN,
        KMS_ADDRESS: kms.service.grpcAddress,
        KMS_TOKEN: await backup.token(),
        ...hsmEnv,
      });
      expect({ code: run.code, err: run.err }).toEqual({ code: 0, err: '' });
      // Progress lines (verified, restored), then the report (the migrate step may log a warning in between).
      const lines = run.out.split('\n');
      const kinds = lines.map((l) => l.split('\t')[0]);
      expect(kinds.indexOf('verified')).toBeGreaterThanOrEqual(0);
      expect(kinds.indexOf('restored')).toBeGreaterThan(kinds.indexOf('verified'));
      expect(kinds.indexOf('restore drill: PASSED')).toBeGreaterThan(kinds.indexOf('restored'));
      expect(lines).toContain(`archive\t${backupDir}`);
      const stepLine = (name: string) => lines.find((l) => l.startsWith(`step\t${name}\t`)) ?? '';
      for (const name of ['verify and restore', 'migrations', 'replay', 'ledger', 'proof chains']) expect(stepLine(name)).toMatch(new RegExp(`^step\\t${name}\\tpassed\\t\\d+ ms\\t`));
      // Nothing was written between the dump and now but the backup's own audit record: the events are the live ones.
      expect(stepLine('verify and restore')).toContain(`events=${liveEvents}`);
      expect(stepLine('migrations')).toContain('applied=0');
      expect(stepLine('replay')).toContain(`events=${liveEvents}`);
      expect(stepLine('replay')).toContain('keys=2');
      expect(stepLine('replay')).toContain('proof chain streams=1');
      expect(stepLine('ledger')).toMatch(/events checkpoint=\d+ signed /);
      expect(stepLine('proof chains')).toContain(`${tenant}=seq 1..9, 3 root version(s)`);
      expect(stepLine('proof chains')).toContain('tokens=9');
      // --record-drill: the drill is a DrillRecorded event of the live KMS, with the report's outcome.
      expect(run.out).toMatch(/^drill recorded\t[0-9a-f-]{36}$/m);
      expect(run.out).toMatch(/^follow-up\t1\tsre\tdue \d{4}-\d\d-\d\d$/m);
      const drill = await kms.db.query<{ data: { archive: string; outcome: string; participants: string[] } }>(`SELECT data FROM events WHERE stream_id = 'drill-log' AND type = 'DrillRecorded'`);
      expect(drill.rows.map((r) => r.data)).toEqual([expect.objectContaining({ archive: basename(backupDir), outcome: 'PASSED', participants: ['alice', 'bob'] })]);
      // The restored chain is the issued one.
      const restored = psql(stagingUrl, `SELECT string_agg(data->>'token', ',' ORDER BY stream_version) FROM ${kms.schema}.events WHERE stream_id = 'rpt-${tenant}'`);
      expect(restored.split(',')).toEqual(tokens);

      const again = await restoreScript([backupDir, '--database', stagingUrl, '--over-live', '--attestation-pem', join(dir, 'attestation.pem'), '--jwks', join(dir, 'jwks.json')], {});
      expect(again.code).toBe(1);
      expect(again.err).toContain("restore refused: over-live: restoring over a live database is not done by this script: it needs a second person's approval");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);

  describe('a restored chain that was tampered with is named', () => {
    const stream = () => `rpt-${tenant}`;
    let db: Pool;
    let saved: string;
    beforeAll(async () => {
      db = new Pool({ connectionString: stagingUrl, options: `-c search_path=${kms.schema}`, max: 1 });
      saved = JSON.stringify((await db.query(`SELECT * FROM events WHERE stream_id = $1`, [stream()])).rows);
    });
    afterAll(async () => {
      await db?.end();
    });
    /** Run SQL as the DBA would (the append-only trigger off), check, then put the stream back as restored. */
    async function tampered(sql: string, params: unknown[]): Promise<DrillStep[]> {
      await db.query(`SET session_replication_role = replica`);
      try {
        await db.query(sql, params);
        return await checkRestoredDatabase(stagingUrl, kms.schema, { ...checks(), attestationPublicKeyPem: await signer.publicKeyPem() });
      } finally {
        await db.query('DELETE FROM events WHERE stream_id = $1', [stream()]);
        await db.query('INSERT INTO events SELECT * FROM json_populate_recordset(null::events, $1::json)', [saved]);
        await db.query(`SET session_replication_role = origin`);
      }
    }

    it('passes untouched (the baseline the tampered cases differ from)', async () => {
      const steps = await checkRestoredDatabase(stagingUrl, kms.schema, { ...checks(), attestationPublicKeyPem: await signer.publicKeyPem() });
      expect(steps.map((s) => [s.step, s.outcome, s.problem])).toEqual([
        ['replay', 'passed', undefined],
        ['ledger', 'passed', undefined],
        ['proof chains', 'passed', undefined],
      ]);
    });

    it('a byte flipped in one RPT: its signature fails, and the event seal names the stream', async () => {
      const t = tokens[4] ?? '';
      const steps = await tampered(`UPDATE events SET data = jsonb_set(data, '{token}', to_jsonb($2::text)) WHERE stream_id = $1 AND stream_version = 4`, [
        stream(),
        withOneCharChanged(t, t.lastIndexOf('.') + 8),
      ]);
      expect(step(steps, 'proof chains')).toMatchObject({ outcome: 'failed', problem: `${tenant}: BAD_SIGNATURE: token 4 (seq 5): signature does not verify with ${rootKeyId}:2` });
      expect(step(steps, 'replay').outcome).toBe('failed');
      expect(step(steps, 'replay').problem).toContain(stream());
    });

    it('two RPTs reordered: the chain names where seq breaks', async () => {
      const steps = await tampered(
        `UPDATE events e SET data = o.data, metadata = o.metadata FROM events o WHERE e.stream_id = $1 AND o.stream_id = $1 AND e.stream_version IN (3, 4) AND o.stream_version = 7 - e.stream_version`,
        [stream()],
      );
      expect(step(steps, 'proof chains')).toMatchObject({ outcome: 'failed', problem: `${tenant}: SEQ_GAP: token 3 (seq 5): seq 5 where 4 was expected` });
      expect(step(steps, 'replay').problem).toContain(stream());
    });

    it('one RPT dropped: the chain names the token after the gap', async () => {
      const steps = await tampered(`DELETE FROM events WHERE stream_id = $1 AND stream_version = 6`, [stream()]);
      expect(step(steps, 'proof chains')).toMatchObject({ outcome: 'failed', problem: `${tenant}: SEQ_GAP: token 6 (seq 8): seq 8 where 7 was expected` });
      expect(step(steps, 'replay').problem).toContain(stream());
    });
  });
});
