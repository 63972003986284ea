// The provision step of the production stack, run as compose's `kms-init` runs it: a process that
// exits once the KMS's own workloads are registered and their credentials are files.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createKmsClient, KmsCallError } from '@kms/contracts';
import { dropSchema, testDatabaseUrl } from '@kms/persistence-postgres';
import { REPO_ROOT } from '@kms/testing';
import { freePort, killHard, spawnKeyService, waitForGrpc, type KeyServiceProcess } from './testing/key-service-process';

const run = promisify(execFile);
const PROVISION = resolve(__dirname, 'provision.ts');
const DATABASE_URL = testDatabaseUrl();

describe('provision (init step)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ops-provision-'));
  const schema = `ops_provision_${process.pid}`;
  const env = {
    KMS_DATABASE_URL: DATABASE_URL,
    KMS_DATABASE_SCHEMA: schema,
    KMS_MASTER_KEY: randomBytes(32).toString('base64'),
    KMS_PROVISION_CREDENTIALS_DIR: join(dir, 'credentials'),
    KMS_PROVISION_ENV_FILE: join(dir, 'env', 'credentials.env'),
    KMS_STATE_DIR: join(dir, 'state'),
  };
  let svc: KeyServiceProcess | undefined;

  afterAll(async () => {
    await killHard(svc);
    await dropSchema({ url: DATABASE_URL, schema });
    rmSync(dir, { recursive: true, force: true });
  });

  const provision = () => run(process.execPath, ['--import', 'tsx', PROVISION], { cwd: REPO_ROOT, env: { ...process.env, ...env, NO_COLOR: '1' }, timeout: 120_000 });
  const credential = (file: string) => JSON.parse(readFileSync(join(env.KMS_PROVISION_CREDENTIALS_DIR, file), 'utf8')) as { client_id: string; client_secret: string; name: string };

  it('registers the scheduler and detector workloads and writes their credentials as 0600 files; a re-run keeps them', async () => {
    const first = await provision();
    expect(first.stdout + first.stderr).not.toContain('client_secret');
    const scheduler = credential('rotation-scheduler.json');
    const detector = credential('anomaly-detector.json');
    expect(scheduler).toMatchObject({ name: 'kms-rotation-scheduler', client_id: expect.any(String), client_secret: expect.any(String) });
    expect(detector).toMatchObject({ name: 'kms-anomaly-detector' });
    for (const f of ['rotation-scheduler.json', 'anomaly-detector.json']) expect(statSync(join(env.KMS_PROVISION_CREDENTIALS_DIR, f)).mode & 0o777).toBe(0o600);
    expect(statSync(env.KMS_PROVISION_ENV_FILE).mode & 0o777).toBe(0o600);
    expect(readFileSync(env.KMS_PROVISION_ENV_FILE, 'utf8').split('\n').filter(Boolean).sort()).toEqual(
      [
        `KMS_ANOMALY_CLIENT_ID=${detector.client_id}`,
        `KMS_ANOMALY_CLIENT_SECRET=${detector.client_secret}`,
        `KMS_SCHEDULER_CLIENT_ID=${scheduler.client_id}`,
        `KMS_SCHEDULER_CLIENT_SECRET=${scheduler.client_secret}`,
      ].sort(),
    );

    await provision();
    expect(credential('rotation-scheduler.json')).toEqual(scheduler);
    expect(credential('anomaly-detector.json')).toEqual(detector);
  });

  it('hands over credentials the key service accepts: each workload gets a token carrying its service role', async () => {
    const ports = { grpc: await freePort(), http: await freePort() };
    svc = spawnKeyService({ ...env, KMS_BOOTSTRAP_CREDENTIAL_FILE: join(dir, 'bootstrap-admin.json') }, ports);
    await waitForGrpc(svc, 60_000);
    const client = createKmsClient(svc.grpcAddress);
    try {
      for (const [file, role] of [
        ['rotation-scheduler.json', 'rotation-scheduler'],
        ['anomaly-detector.json', 'anomaly-detector'],
      ] as const) {
        const c = credential(file);
        const { access_token } = await client.call<{ access_token: string }>('IssueToken', { client_id: c.client_id, client_secret: c.client_secret });
        const claims = JSON.parse(Buffer.from(access_token.split('.')[1], 'base64url').toString()) as { sub: string; roles: string[] };
        expect(claims).toMatchObject({ sub: c.client_id, roles: [role] });
      }
      // A wrong secret is refused, so the acceptance above is the credential's own.
      await expect(client.call('IssueToken', { client_id: credential('rotation-scheduler.json').client_id, client_secret: 'wrong' })).rejects.toBeInstanceOf(KmsCallError);
    } finally {
      client.close();
    }
  });
});
