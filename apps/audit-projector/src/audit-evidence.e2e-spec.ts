import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { SoftwareAttestationSigner } from '@kms/audit-projector/testing';
import type { KmsClient } from '@kms/contracts';
import type { BootstrapEnrolment } from '@kms/key-service-grpc';
import { readTar } from '@kms/ledger';
import type { HttpApp } from '@kms/platform';
import type { ConsolePeople } from '@kms/testing';
import { type ProjectorStack, startProjectorStack } from './projector-stack.e2e-helpers';

const ROOT = resolve(__dirname, '../../..');
const VERIFIER = resolve(ROOT, 'scripts/verify-evidence-bundle.ts');

function verifier(...args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((ok) => {
    const child = spawn(process.execPath, ['--import', 'tsx', VERIFIER, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('exit', (code) => ok({ code, output }));
  });
}

describe('audit projector end to end: gRPC operations → ledger → evidence bundle → offline verifier', () => {
  let stack: ProjectorStack;
  let projector: HttpApp;
  let client: KmsClient;
  let work: string;
  const signer = SoftwareAttestationSigner.generate();

  let bootstrap: BootstrapEnrolment;
  /** People sign in with their security key and TOTP (real time: the service runs on the system clock). */
  let people: ConsolePeople;
  const token = async (clientId: string, secret: string, human: boolean): Promise<string> =>
    human
      ? (await people.signIn(clientId)).accessToken
      : (await client.call<{ access_token: string }>('IssueToken', { client_id: clientId, client_secret: secret })).access_token;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'kms-evidence-'));
    stack = await startProjectorStack({ schemaPrefix: 'ap_e2e', origin: 'kms.e2e.test/ledger', signer });
    ({ projector, client, bootstrap, people } = stack);
  });

  afterAll(async () => {
    await stack?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('exports a bundle as a compliance officer that the verifier accepts, and names the one altered file', async () => {
    const admin = await token(bootstrap.identityId, '', true);
    const call = <T = Record<string, unknown>>(method: Parameters<KmsClient['call']>[0], body: Record<string, unknown>, t: string) =>
      client.call<T & Record<string, unknown>>(method, body, { token: t, requestId: randomUUID() });

    const app = await call<{ client_id: string; client_secret: string }>('RegisterIdentity', { name: 'orders-service', kind: 'WORKLOAD', roles: [] }, admin);
    const auditor = await call<{ client_id: string; client_secret: string }>('RegisterIdentity', { name: 'carol-auditor', kind: 'HUMAN', roles: ['compliance-officer'] }, admin);
    const key = await call<{ key_id: string }>(
      'CreateKey',
      { tenant: 'acme', name: 'payments', purpose: 'SERVICE_ENVELOPE', algorithm: 'AES_256_GCM', policy: { grants: { [app.client_id]: { permissions: ['ENCRYPT', 'DECRYPT'] } } } },
      admin,
    );
    const appToken = await token(app.client_id, app.client_secret, false);
    for (let i = 0; i < 3; i++) await call('Encrypt', { key_id: key.key_id, plaintext: Buffer.from(`order-${i}`).toString('base64') }, appToken);
    await call('RotateKey', { key_id: key.key_id }, admin);
    const ct = await call<{ ciphertext: string }>('Encrypt', { key_id: key.key_id, plaintext: Buffer.from('after rotation').toString('base64') }, appToken);
    await call('Decrypt', { ciphertext: ct.ciphertext }, appToken);

    const officer = await token(auditor.client_id, auditor.client_secret, true);
    const get = (path: string, t?: string) => fetch(`${projector.url}${path}`, t ? { headers: { authorization: `Bearer ${t}` } } : {});

    // Refusals are RFC 7807 problems naming the reason.
    const anonymous = await get(`/v1/evidence/keys/${key.key_id}`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-type')).toContain('application/problem+json');
    expect(await anonymous.json()).toMatchObject({ status: 401, code: 'UNAUTHENTICATED', detail: expect.stringContaining('Bearer') });
    const workload = await get(`/v1/evidence/keys/${key.key_id}`, appToken);
    expect(workload.status).toBe(403);
    expect(await workload.json()).toMatchObject({ code: 'PERMISSION_DENIED', detail: expect.stringContaining('ExportEvidence') });

    // Wait until the projection holds the key's five successful crypto operations.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const page = (await (await get(`/v1/audit-records?keyId=${key.key_id}&outcome=SUCCESS&operation=Encrypt`, officer)).json()) as { items: unknown[] };
      const history = (await (await get(`/v1/keys/${key.key_id}/history`, officer)).json()) as { versions?: unknown[] };
      if (page.items.length === 4 && history.versions?.length === 2) break;
      if (Date.now() > deadline) throw new Error(`projection did not catch up: ${JSON.stringify(page)}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    const res = await get(`/v1/evidence/keys/${key.key_id}`, officer);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-tar');
    const tar = Buffer.from(await res.arrayBuffer());
    const files = readTar(tar);
    expect([...files.keys()].sort()).toEqual([
      'approvals.json',
      'attestation-key.pem',
      'audit-records.json',
      'checkpoints/audit.checkpoint',
      'checkpoints/events.checkpoint',
      'events.json',
      'key-record.json',
      'manifest.json',
      'manifest.sig',
      'proofs.json',
      'seals/events.json',
    ]);
    const audited = JSON.parse((files.get('audit-records.json') as Buffer).toString()) as Array<{ operation: string; outcome: string }>;
    expect(audited.filter((r) => r.operation === 'Encrypt' && r.outcome === 'SUCCESS')).toHaveLength(4);
    expect(JSON.parse((files.get('key-record.json') as Buffer).toString())).toMatchObject({ keyId: key.key_id, primaryVersion: 2, owner: bootstrap.name });

    const bundlePath = join(work, 'bundle.tar');
    const pemPath = join(work, 'attestation.pem');
    writeFileSync(bundlePath, tar);
    writeFileSync(pemPath, await signer.publicKeyPem());
    const ok = await verifier(bundlePath, pemPath);
    expect(ok.output).toContain('VERIFIED: every check passed');
    expect(ok.output).toContain('key-record.json: reproduced exactly by folding');
    // The key's stream as the store holds it: every seal checked, every event in the ledger.
    expect(ok.output).toMatch(/OK {3}seals\/events\.json: seal chain of \d+ stored event\(s\) intact and every seal valid/);
    expect(ok.code).toBe(0);

    // One byte of one file changed: the verifier fails and names that file.
    const dir = join(work, 'bundle');
    for (const [path, content] of files) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
    const target = join(dir, 'audit-records.json');
    const bytes = readFileSync(target);
    const at = bytes.indexOf('"Encrypt"') + 2;
    bytes[at] ^= 0x20; // "Encrypt" → "eNcrypt"
    writeFileSync(target, bytes);
    const bad = await verifier(dir, pemPath);
    expect(bad.code).toBe(1);
    expect(bad.output).toContain('FAIL audit-records.json: SHA-256 does not match the manifest');
    expect(bad.output).toContain('NOT VERIFIED: failing file(s): audit-records.json');

    // The ledger answers over HTTP: checkpoint, inclusion of a bundled event, consistency, control matrix, OpenAPI.
    const note = await (await get('/v1/ledger/events/checkpoint', officer)).text();
    expect(note).toMatch(/^kms\.e2e\.test\/ledger\/events\n\d+\n/);
    const firstEvent = (JSON.parse((files.get('events.json') as Buffer).toString()) as Array<{ eventId: string }>)[0];
    const inclusion = (await (await get(`/v1/ledger/events/inclusion?recordId=${firstEvent.eventId}`, officer)).json()) as { leafIndex: number; path: string[] };
    expect(inclusion.path.length).toBeGreaterThan(0);
    const size = Number(note.split('\n')[1]);
    expect((await get(`/v1/ledger/events/consistency?from=${size}&to=${size}`, officer)).status).toBe(200);
    const controls = (await (await get('/v1/controls', officer)).json()) as { controls: Array<{ id: string; status: string }> };
    expect(controls.controls).toEqual(expect.arrayContaining([{ ...controls.controls.find((c) => c.id === 'KMS-ROT-SERVICE_ENVELOPE'), status: 'PASS' }]));
    expect(controls.controls.map((c) => c.id)).toEqual(expect.arrayContaining(['KMS-RET-01', 'KMS-AC-01', 'KMS-AC-02', 'KMS-LOG-01', 'KMS-HSM-01', 'KMS-BAK-01']));
    expect(((await (await get('/v1/openapi.json')).json()) as { openapi: string }).openapi).toBe('3.1.0');

    // The export itself was audited as the officer's ExportEvidence.
    const exports = (await (await get(`/v1/audit-records?operation=ExportEvidence&outcome=SUCCESS`, officer)).json()) as { items: Array<{ actor: string }> };
    expect(exports.items.map((r) => r.actor)).toContain(auditor.client_id);
  });
});
