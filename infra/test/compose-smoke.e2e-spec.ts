// The compose stack's KMS services started as local processes with the compose file's environment:
// each boots and is ready, and the credentials the init step provisioned are the ones that work.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createKmsClient } from '@kms/contracts';
import { isRunning } from '@kms/testing';
import { Client } from 'pg';
import { KMS_SERVICES, runComposeSmoke, type SmokeRun } from '../compose/compose-smoke';

describe('compose smoke (the stack outside Docker)', () => {
  let run: SmokeRun | undefined;
  afterAll(async () => {
    await run?.stop();
  });

  it('boots every service of docker-compose.yml in dependency order, each ready on /readyz', async () => {
    run = await runComposeSmoke();
    const failures = run.outcomes.filter((o) => !o.ok).map((o) => `${o.service}: ${o.detail}\n${o.output().slice(-3000)}`);
    expect(failures).toEqual([]);
    expect(run.outcomes.map((o) => [o.service, o.detail])).toEqual(
      KMS_SERVICES.map((s) => [s, s === 'kms-init' ? 'exited 0' : 'ready']),
    );
    // With its provisioned credential the detector can contain findings (it warns when it cannot).
    const detector = run.outcomes.find((o) => o.service === 'anomaly-detector');
    expect(detector?.output()).toContain('listening on');
    expect(detector?.output()).not.toContain('nothing is contained');
  });

  it('gives the scheduler and detector 0600 credential files that the key service accepts', async () => {
    if (!run) throw new Error('the stack did not start');
    const keyService = run.outcomes.find((o) => o.service === 'key-service');
    const client = createKmsClient(keyService?.env['KMS_GRPC_ADDRESS'] as string);
    try {
      for (const [service, variable] of [
        ['rotation-scheduler', 'KMS_SCHEDULER_CREDENTIAL_FILE'],
        ['anomaly-detector', 'KMS_ANOMALY_CREDENTIAL_FILE'],
      ] as const) {
        const file = run.outcomes.find((o) => o.service === service)?.env[variable] as string;
        expect(file.startsWith(run.mounts['kms-credentials'])).toBe(true);
        expect(statSync(file).mode & 0o777).toBe(0o600);
        const c = JSON.parse(readFileSync(file, 'utf8')) as { client_id: string; client_secret: string };
        const token = await client.call<{ access_token: string }>('IssueToken', { client_id: c.client_id, client_secret: c.client_secret });
        expect(token.access_token.split('.')).toHaveLength(3);
      }
      // The bootstrap administrator's credential went to the state volume, not to the log.
      expect(statSync(join(run.mounts['kms-state'], 'bootstrap-admin.json')).mode & 0o777).toBe(0o600);
      expect(keyService?.output()).not.toContain('client_secret');
    } finally {
      client.close();
    }
  });

  it('runs the services as the service role, which cannot rewrite history, and migrations as the owner in kms-init only', async () => {
    if (!run) throw new Error('the stack did not start');
    for (const o of run.outcomes) {
      expect([o.service, new URL(o.env['KMS_DATABASE_URL']).username, o.env['KMS_DATABASE_SERVICE_ROLE']]).toEqual([o.service, 'kms_service', 'kms_service']);
      // The services started without the owner's URL: they checked the migrations kms-init applied.
      const owner = o.env['KMS_MIGRATION_DATABASE_URL'];
      expect([o.service, owner === undefined ? 'none' : new URL(owner).username]).toEqual([o.service, o.service === 'kms-init' ? 'postgres' : 'none']);
      // With one shared role the grants are skipped with this warning; two roles must not print it.
      expect([o.service, o.output().includes('append-only storage not enforced by roles')]).toEqual([o.service, false]);
    }
    const asService = new Client({ connectionString: run.outcomes[0].env['KMS_DATABASE_URL'] });
    await asService.connect();
    try {
      const events = await asService.query<{ n: string }>('SELECT count(*) AS n FROM events');
      expect(Number(events.rows[0].n)).toBeGreaterThan(0);
      await expect(asService.query("UPDATE events SET type = 'KeyPolicyChanged'")).rejects.toThrow('permission denied for table events');
      await expect(asService.query('DELETE FROM audit_records')).rejects.toThrow('permission denied for table audit_records');
    } finally {
      await asService.end();
    }
  });

  it('runs a round of the daily audit maintenance as the owner, its archive folder on its own volume', async () => {
    if (!run) throw new Error('the stack did not start');
    const round = await run.runOneRound('audit-maintenance');
    // The loop ran the maintenance, then reached its day's sleep (which the stand-in ends).
    expect([round.signal, round.output]).toEqual(['SIGTERM', expect.stringContaining('audit partitions present: audit_records_')]);
    expect(round.output).not.toContain('this run failed');
    expect(new URL(round.env['KMS_MIGRATION_DATABASE_URL'] as string).username).toBe('postgres');
    expect(round.env['KMS_AUDIT_ARCHIVE_DIR']?.startsWith(run.mounts['kms-audit-archives'] as string)).toBe(true);
  });

  it('stops every process it started', async () => {
    if (!run) throw new Error('the stack did not start');
    const pids = run.outcomes.map((o) => o.pid as number);
    await run.stop();
    run = undefined;
    expect(pids.filter(isRunning)).toEqual([]);
  });
});
