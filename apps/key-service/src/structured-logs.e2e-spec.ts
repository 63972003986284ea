import { randomBytes, randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { createKmsClient, type KmsClient } from '@kms/contracts';
import { dropSchema, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';
import { REPO_ROOT } from '@kms/testing';
import { freePort, killHard, type KeyServiceProcess, processPeople, spawnKeyService, waitForGrpc } from './testing/key-service-process';

/** The key service as production runs it, logging at debug: every line JSON, calls named on their lines. */
describe('structured logs of a running key service', () => {
  const url = testDatabaseUrl();
  const schema = uniqueTestSchema('structured_logs');
  const credentialFile = join(REPO_ROOT, '.kms-state', 'test', `logs-bootstrap-${process.pid}.json`);
  let svc: KeyServiceProcess | undefined;
  let client: KmsClient;

  beforeAll(async () => {
    await rm(credentialFile, { force: true });
    const ports = { grpc: await freePort(), http: await freePort() };
    svc = spawnKeyService(
      {
        KMS_DATABASE_URL: url,
        KMS_DATABASE_SCHEMA: schema,
        KMS_MASTER_KEY: randomBytes(32).toString('base64'),
        KMS_BOOTSTRAP_CREDENTIAL_FILE: credentialFile,
        KMS_LOG_LEVEL: 'debug',
      },
      ports,
    );
    await waitForGrpc(svc, 60_000);
    client = createKmsClient(svc.grpcAddress);
  }, 90_000);

  afterAll(async () => {
    client?.close();
    await killHard(svc);
    await dropSchema({ url, schema });
    await rm(credentialFile, { force: true });
  });

  it('writes JSON lines without colours; a call’s line carries its request id, RPC and caller, never its secret', async () => {
    // The administrator signs in (security key + TOTP) and registers a workload, which gets a token.
    const { people, admin } = await processPeople(credentialFile, (svc as KeyServiceProcess).httpPort);
    const adminToken = (await people.signIn(admin.identity_id)).accessToken;
    const totpSecret = (await people.factorsOf(admin.identity_id)).totpSecret;
    const registered = `logs-${randomUUID()}`;
    const workload = await client.call<{ client_id: string; client_secret: string }>('RegisterIdentity', { name: `logs-${randomUUID()}`, kind: 'WORKLOAD' }, { requestId: registered, token: adminToken });
    const requestId = `logs-${randomUUID()}`;
    await client.call('IssueToken', { client_id: workload.client_id, client_secret: workload.client_secret }, { requestId });
    const refused = `logs-${randomUUID()}`;
    await expect(client.call('GenerateRandom', { length_bytes: 4 }, { requestId: refused, token: 'forged' })).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
    await new Promise((r) => setTimeout(r, 300));

    const output = (svc as KeyServiceProcess).output();
    expect(output.includes('\u001b[')).toBe(false);
    const lines = output
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThan(3);
    expect(lines.every((l) => l['service'] === 'kms-key-service' && typeof l['level'] === 'string' && typeof l['time'] === 'string')).toBe(true);
    expect(lines.find((l) => l['requestId'] === registered)).toMatchObject({ rpc: 'RegisterIdentity', actor: admin.identity_id, code: 'OK' });
    expect(lines.find((l) => l['requestId'] === requestId)).toMatchObject({ rpc: 'IssueToken', actor: workload.client_id, code: 'OK' });
    expect(lines.find((l) => l['requestId'] === refused)).toMatchObject({ rpc: 'GenerateRandom', actor: 'unauthenticated', code: 'UNAUTHENTICATED' });
    for (const secret of [workload.client_secret, admin.enrolment_token.split('.')[1], totpSecret, adminToken]) expect(output).not.toContain(secret);
  }, 60_000);
});
