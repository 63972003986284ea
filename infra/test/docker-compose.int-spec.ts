import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SYSTEM_WORKLOADS } from '../../apps/key-service/src/provision/system-workloads.provision';
import { type ComposeFile, renderCompose } from '../compose/compose-stack';

const root = join(__dirname, '..', '..');
const KMS = ['key-service', 'rotation-scheduler', 'audit-projector', 'anomaly-detector'];

// The engine does not run on the build machine, but `config` is client-side: it parses, merges the
// anchors, substitutes variables and validates the file against the Compose schema.
describe('docker-compose.yml', () => {
  let doc: ComposeFile;
  beforeAll(async () => {
    doc = await renderCompose(join(root, 'docker-compose.yml'), { KMS_POSTGRES_PASSWORD: 'test-only' });
  });

  it('is a valid Compose file with the infrastructure, the init step, the four services and the audit maintenance', () => {
    expect(Object.keys(doc.services).sort()).toEqual(['audit-maintenance', 'kafka', 'kms-init', 'postgres', 'redis', ...KMS].sort());
    for (const s of ['kms-init', 'audit-maintenance', ...KMS]) {
      expect(doc.services[s].environment).toMatchObject({ KMS_EVENT_STORE: 'postgres', KMS_MASTER_KEY_FILE: '/run/secrets/kms_master_key' });
      expect(doc.services[s].secrets).toEqual([{ source: 'kms_master_key' }]);
    }
  });

  it('provisions the workload credentials in a one-shot step every service waits for', () => {
    const init = doc.services['kms-init'];
    expect(init.command).toEqual(['node', '--import', 'tsx', 'apps/key-service/src/provision.ts']);
    expect(init.restart).toBe('no');
    expect(init.environment?.['KMS_PROVISION_CREDENTIALS_DIR']).toBe('/run/kms-credentials');
    expect(init.volumes).toEqual(['kms-credentials:/run/kms-credentials:rw']);
    for (const s of KMS) expect(doc.services[s].depends_on?.['kms-init']).toEqual({ condition: 'service_completed_successfully' });
  });

  it('hands the scheduler and the detector the files the init step writes, read-only, and the key service by name', () => {
    const files = Object.fromEntries(SYSTEM_WORKLOADS.map((w) => [w.role, `/run/kms-credentials/${w.file}`]));
    const scheduler = doc.services['rotation-scheduler'];
    expect(scheduler.environment).toMatchObject({ KMS_SCHEDULER_CREDENTIAL_FILE: files['rotation-scheduler'], KMS_SCHEDULER_KEY_SERVICE_ADDRESS: 'key-service:50051' });
    expect(scheduler.volumes).toEqual(['kms-credentials:/run/kms-credentials:ro']);
    const detector = doc.services['anomaly-detector'];
    expect(detector.environment).toMatchObject({ KMS_ANOMALY_CREDENTIAL_FILE: files['anomaly-detector'], KMS_ANOMALY_KMS_ADDRESS: 'key-service:50051' });
    expect(detector.volumes).toEqual(['kms-credentials:/run/kms-credentials:ro']);
    // Both call the key service, so they start once it is healthy.
    for (const s of [scheduler, detector]) expect(s.depends_on?.['key-service']).toEqual({ condition: 'service_healthy' });
  });

  it('connects the services as a service role the postgres image creates; only kms-init (migrations) and the audit maintenance hold the owner', () => {
    const postgres = doc.services['postgres'];
    const owner = postgres.environment?.['POSTGRES_USER'] as string;
    const ownerPassword = postgres.environment?.['POSTGRES_PASSWORD'] as string;
    const init = readFileSync(join(root, 'infra/compose/postgres-init/10-kms-service-role.sh'), 'utf8');
    expect(postgres.volumes).toContain(`${join(root, 'infra/compose/postgres-init')}:/docker-entrypoint-initdb.d:ro`);
    expect(postgres.environment?.['KMS_SERVICE_DB_PASSWORD']).toBeTruthy();
    expect(new URL(doc.services['kms-init'].environment?.['KMS_MIGRATION_DATABASE_URL'] as string).username).toBe(owner);
    // No container but the init step holds the owner's URL, by name or by value (the password).
    const withOwner = Object.entries(doc.services)
      .filter(([, svc]) => Object.entries(svc.environment ?? {}).some(([k, v]) => k === 'KMS_MIGRATION_DATABASE_URL' || String(v).includes(`${owner}:${ownerPassword}@`)))
      .map(([name]) => name);
    expect(withOwner.sort()).toEqual(['audit-maintenance', 'kms-init']);
    expect(new URL(doc.services['audit-maintenance'].environment?.['KMS_MIGRATION_DATABASE_URL'] as string).username).toBe(owner);
    for (const s of ['kms-init', ...KMS]) {
      const env = doc.services[s].environment ?? {};
      const role = env['KMS_DATABASE_SERVICE_ROLE'];
      expect([s, new URL(env['KMS_DATABASE_URL']).username]).toEqual([s, role]);
      expect(role).not.toBe(owner);
      expect(init).toContain(`CREATE ROLE ${role} LOGIN PASSWORD :'pw' NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;`);
      // The password the services use is the one the init script sets.
      expect(decodeURIComponent(new URL(env['KMS_DATABASE_URL']).password)).toBe(postgres.environment?.['KMS_SERVICE_DB_PASSWORD']);
    }
  });

  it('runs the audit maintenance as the Kubernetes CronJob does, once at start and then daily, going on after a failed run', () => {
    const maintenance = doc.services['audit-maintenance'];
    expect(maintenance.depends_on?.['kms-init']).toEqual({ condition: 'service_completed_successfully' });
    expect(maintenance.environment?.['KMS_AUDIT_ARCHIVE_DIR']).toBe('/archives');
    expect(maintenance.volumes).toEqual(['kms-audit-archives:/archives:rw']);
    // The image creates /archives for its user, so Docker initialises the empty volume writable by it.
    expect(readFileSync(join(root, 'infra/Dockerfile'), 'utf8')).toMatch(/mkdir -p [^\n]*\/archives[\s\S]*chown node:node [^\n]*\/archives/);
    const [shell, flag, script] = maintenance.command as string[];
    expect([shell, flag]).toEqual(['sh', '-c']);
    expect(script).toContain('node --import tsx apps/key-service/src/audit-maintenance.ts');

    // The loop itself, with `node` failing and `sleep` recording its argument and ending the loop at the third.
    const dir = mkdtempSync(join(tmpdir(), 'ops-maintenance-'));
    try {
      writeFileSync(join(dir, 'node'), `#!/bin/sh\necho "node $*" >> ${dir}/log\nexit 1\n`, { mode: 0o755 });
      writeFileSync(join(dir, 'sleep'), `#!/bin/sh\necho "sleep $*" >> ${dir}/log\n[ "$(grep -c sleep ${dir}/log)" -ge 3 ] && kill -TERM $PPID\nexit 0\n`, { mode: 0o755 });
      const run = spawnSync('/bin/sh', ['-c', script as string], { env: { PATH: `${dir}:/usr/bin:/bin` }, encoding: 'utf8', timeout: 10_000 });
      expect(run.signal).toBe('SIGTERM');
      expect(readFileSync(join(dir, 'log'), 'utf8').trim().split('\n')).toEqual([
        'node --import tsx apps/key-service/src/audit-maintenance.ts',
        'sleep 86400',
        'node --import tsx apps/key-service/src/audit-maintenance.ts',
        'sleep 86400',
        'node --import tsx apps/key-service/src/audit-maintenance.ts',
        'sleep 86400',
      ]);
      expect(run.stderr.match(/this run failed, next in 24 h/g)).toHaveLength(3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is refused by the client when broken (a wrong depends_on condition), so the checks above run on a validated file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ops-compose-'));
    try {
      const broken = readFileSync(join(root, 'docker-compose.yml'), 'utf8').replace(
        'kms-init: { condition: service_completed_successfully }',
        'kms-init: { condition: service_finished }',
      );
      writeFileSync(join(dir, 'docker-compose.yml'), broken);
      await expect(renderCompose(join(dir, 'docker-compose.yml'))).rejects.toThrow(/condition/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
