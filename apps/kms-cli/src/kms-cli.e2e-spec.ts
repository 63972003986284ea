// The `kms` bin as a user runs it (node bin/kms.js, a process per command) against a real key service
// and audit projector: the README walkthrough, the refusals made before sending, and the long jobs.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { dropSchema, testDatabaseUrl } from '@kms/persistence-postgres';
import { readTar } from '@kms/ledger';
import { ConsoleCeremonies, consolePeople, freePort, isRunning, realCeremonyClock, REPO_ROOT, startMainProcess, waitForHttpOk } from '@kms/testing';

const DATABASE_URL = testDatabaseUrl();
const SCHEMA = `ops_cli_${process.pid}`;
const BIN = join(REPO_ROOT, 'bin', 'kms.js');

interface Run {
  code: number;
  out: string;
  err: string;
}

describe('kms CLI against a running KMS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ops-kms-cli-e2e-'));
  const env = { KMS_DATABASE_URL: DATABASE_URL, KMS_DATABASE_SCHEMA: SCHEMA, KMS_MASTER_KEY: randomBytes(32).toString('base64'), KMS_STATE_DIR: join(dir, 'state') };
  let keyService: ChildProcess | undefined;
  let projector: ChildProcess | undefined;
  let address = '';
  let httpPort = 0;
  let projectorUrl = '';

  /** `kms <args>` as a separate process, as a shell would run it. */
  const kms = (args: string[], extra: Record<string, string> = {}): Promise<Run> =>
    new Promise((ok) => {
      execFile(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, XDG_CONFIG_HOME: dir, KMS_ADDRESS: address, ...extra }, timeout: 60_000 }, (error, out, err) => {
        ok({ code: error ? ((error as { code?: number }).code ?? 1) : 0, out, err });
      });
    });
  const ok = async (args: string[], extra: Record<string, string> = {}): Promise<string> => {
    const r = await kms(args, extra);
    if (r.code !== 0) throw new Error(`kms ${args.join(' ')} exited ${r.code}: ${r.err}`);
    return r.out.trim();
  };

  beforeAll(async () => {
    const ports = { grpc: await freePort(), http: await freePort() };
    address = `127.0.0.1:${ports.grpc}`;
    httpPort = ports.http;
    keyService = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'apps/key-service/src/main.ts')], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env, KMS_GRPC_ADDRESS: address, KMS_HTTP_ADDRESS: `127.0.0.1:${ports.http}`, KMS_BOOTSTRAP_CREDENTIAL_FILE: join(dir, 'admin.json'), NO_COLOR: '1' },
      stdio: 'ignore',
    });
    if ((await waitForHttpOk(`http://127.0.0.1:${ports.http}/readyz`, 60_000, () => keyService?.exitCode === null)) !== 200) throw new Error('the key service did not start');
    const p = startMainProcess(join(REPO_ROOT, 'apps/audit-projector/src/main.ts'), { ...env, KMS_HTTP_ADDRESS: '127.0.0.1:0' });
    projector = p.child;
    projectorUrl = await p.url;
  }, 120_000);

  afterAll(async () => {
    for (const child of [projector, keyService]) {
      if (!child?.pid || !isRunning(child.pid)) continue;
      const exited = new Promise((r) => child.once('exit', r));
      process.kill(child.pid, 'SIGTERM');
      await exited;
    }
    await dropSchema({ url: DATABASE_URL, schema: SCHEMA });
    rmSync(dir, { recursive: true, force: true });
  });

  const state: { admin: string; app: string; key: string; workload: string; cts: string[] } = { admin: '', app: '', key: '', workload: '', cts: [] };

  it('runs the README walkthrough: kms login approved in the console, a workload, a key, encrypt and decrypt', async () => {
    // The first administrator enrols a security key and an authenticator app with the one-time link
    // the service wrote (a test authenticator whose assertions the service verifies, codes from oathtool).
    const bootstrap = JSON.parse(readFileSync(join(dir, 'admin.json'), 'utf8')) as { identity_id: string; enrolment_token: string; enrolment_url: string };
    expect(bootstrap.enrolment_url).toBe(`http://localhost:${httpPort}/console/enrol?token=${encodeURIComponent(bootstrap.enrolment_token)}`);
    const ceremonies = new ConsoleCeremonies({ httpUrl: `http://127.0.0.1:${httpPort}`, origin: `http://localhost:${httpPort}`, clock: realCeremonyClock });
    const adminFactors = await consolePeople(ceremonies, { identityId: bootstrap.identity_id, enrolmentToken: bootstrap.enrolment_token }).factorsOf(bootstrap.identity_id);

    // `kms login` prints a code; the administrator approves it from a console session (security key + TOTP).
    const login = spawn(process.execPath, [BIN, 'login', '--http-url', `http://127.0.0.1:${httpPort}`], { cwd: dir, env: { ...process.env, XDG_CONFIG_HOME: dir, KMS_ADDRESS: address, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    login.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    login.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => login.once('exit', (code) => r(code)));
    const deadline = Date.now() + 30_000;
    while (!/code ([A-Z]{4}-[A-Z]{4})/.test(out) && Date.now() < deadline && login.exitCode === null) await new Promise((r) => setTimeout(r, 100));
    const userCode = /code ([A-Z]{4}-[A-Z]{4})/.exec(out)?.[1];
    if (!userCode) throw new Error(`kms login printed no code: ${out}`);
    const session = await ceremonies.signInSession(adminFactors);
    await ceremonies.approveDevice(session, userCode);
    expect(await exited).toBe(0);
    const saved = JSON.parse(readFileSync(join(dir, 'kms', 'token.json'), 'utf8')) as { access_token: string };
    state.admin = saved.access_token;
    expect(JSON.parse(Buffer.from(state.admin.split('.')[1], 'base64url').toString())).toMatchObject({ sub: bootstrap.identity_id, amr: ['hwk', 'otp'], cid: adminFactors.key.id });
    // Later commands use the token kms login kept (no KMS_TOKEN).
    expect(JSON.parse(await ok(['list-keys', '--json']))).toHaveProperty('keys');

    // A person cannot get a token from the CLI with their client secret, claiming the factors or not.
    const person = JSON.parse(await ok(['register-identity', '{"name":"cli-e2e-alice","kind":"HUMAN","roles":["sre-oncall"]}', '--json'])) as { client_id: string; client_secret: string };
    const claimed = await kms(['issue-token', '--client-id', person.client_id, '--client-secret', person.client_secret, '--auth-methods', 'hwk', '--auth-methods', 'otp']);
    expect(claimed.code).toBe(1);
    expect(claimed.err).toMatch(/PERMISSION_DENIED/);
    expect(claimed.err).toMatch(/auth_methods/);
    expect(claimed.out).toBe('');
    const plain = await kms(['issue-token', '--client-id', person.client_id, '--client-secret', person.client_secret]);
    expect(plain.code).toBe(1);
    expect(plain.err).toMatch(/PERMISSION_DENIED[\s\S]*client_id/);
    // Proto-name form with a JSON request, as the README and older scripts write it.
    const registered = JSON.parse(await ok(['RegisterIdentity', '{"name":"cli-e2e-orders","kind":"WORKLOAD"}', '--json'], { KMS_TOKEN: state.admin })) as { client_id: string; client_secret: string };
    state.workload = registered.client_id;
    state.key = await ok(
      ['create-key', JSON.stringify({ tenant: 'acme', name: 'cli-e2e', purpose: 'SERVICE_ENVELOPE', algorithm: 'AES_256_GCM', policy: { grants: { [state.workload]: { permissions: ['ENCRYPT', 'DECRYPT', 'ADMINISTER'] } } } }), '--get', 'key_id'],
      { KMS_TOKEN: state.admin },
    );
    state.app = await ok(['issue-token', JSON.stringify({ client_id: registered.client_id, client_secret: registered.client_secret }), '--get', 'access_token']);
    const pt = Buffer.from('hello').toString('base64');
    for (let i = 0; i < 3; i++) state.cts.push(await ok(['encrypt', '--key-id', state.key, '--plaintext', pt, '--aad', 'b3JkZXItNDI=', '--get', 'ciphertext'], { KMS_TOKEN: state.app }));
    expect(await ok(['Decrypt', JSON.stringify({ ciphertext: state.cts[0], aad: 'b3JkZXItNDI=' }), '--get', 'plaintext'], { KMS_TOKEN: state.app })).toBe(pt);
  });

  it('prints a human-readable table by default', async () => {
    const table = await ok(['get-key', '--key-id', state.key], { KMS_TOKEN: state.admin });
    expect(table).toMatch(new RegExp(`│ key_id\\s+│ ${state.key}\\s+│`));
    expect(table).toMatch(/versions \(1\)\n[\s\S]*│ version\s+│/);
  });

  it('refuses a misspelled field and bad base64 before sending: nothing reaches the audit log', async () => {
    const audited = async (): Promise<number> => {
      const pg = new Client({ connectionString: DATABASE_URL, options: `-c search_path=${SCHEMA}` });
      await pg.connect();
      try {
        return (await pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_records WHERE operation = 'Encrypt'`)).rows[0].n;
      } finally {
        await pg.end();
      }
    };
    const before = await audited();
    const misspelled = await kms(['Encrypt', JSON.stringify({ key_id: state.key, plain_text: 'aGVsbG8=' })], { KMS_TOKEN: state.app });
    expect(misspelled).toMatchObject({ code: 2, err: 'error: unknown field "plain_text" in EncryptRequest; valid fields: key_id, plaintext, aad\n' });
    const bad = await kms(['encrypt', '--key-id', state.key, '--plaintext', 'hello world'], { KMS_TOKEN: state.app });
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('error: field plaintext: "hello world" is not valid base64');
    expect(await audited()).toBe(before);
    // A refusal by the server is exit 1 with its status, KMS error code and field.
    const wrongAad = await kms(['decrypt', '--ciphertext', state.cts[0], '--aad', 'b3RoZXI='], { KMS_TOKEN: state.app });
    expect(wrongAad.code).toBe(1);
    expect(wrongAad.err).toMatch(/^error: INVALID_ARGUMENT INVALID_CIPHERTEXT/);
  });

  it('re-encrypts a file of ciphertexts to the new primary version with a progress bar, keeping the order', async () => {
    expect(await ok(['rotate-key', '--key-id', state.key, '--reason', 'MANUAL', '--get', 'primary_version'], { KMS_TOKEN: state.app })).toBe('2');
    const input = join(dir, 'old.txt');
    // The third line is valid base64 but no ciphertext: that item fails, the others still move.
    writeFileSync(input, `${state.cts[0]}\n${state.cts[1]}\nQUJDRA==\n${state.cts[2]}\n`);
    const out = join(dir, 'new.txt');
    const r = await kms(['batch-reencrypt-file', input, '--source-aad', 'b3JkZXItNDI=', '--destination-aad', 'b3JkZXItNDI=', '--batch-size', '3', '--out', out, '--progress'], { KMS_TOKEN: state.app });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/batch-reencrypt-file \[.*\] 4\/4 ciphertexts \| 1 failed/);
    expect(r.err).toContain('line 3: INVALID_ARGUMENT');
    expect(r.err).toContain('re-encrypted 3 of 4 ciphertexts (1 failed)');
    const lines = readFileSync(out, 'utf8').split('\n');
    expect(lines[2]).toBe('');
    for (const i of [0, 1, 3]) {
      const decrypted = JSON.parse(await ok(['decrypt', '--ciphertext', lines[i], '--aad', 'b3JkZXItNDI=', '--json'], { KMS_TOKEN: state.app })) as { plaintext: string; key_version: number };
      expect(decrypted).toMatchObject({ plaintext: Buffer.from('hello').toString('base64'), key_version: 2 });
    }
  });

  it("exports the key's evidence bundle with a progress bar", async () => {
    const bundle = join(dir, 'bundle.tar');
    let r: Run = { code: -1, out: '', err: '' };
    // The projector follows the store asynchronously; the key appears in its read model shortly.
    for (let i = 0; i < 50 && r.code !== 0; i++) {
      r = await kms(['export-evidence', state.key, '--http-url', projectorUrl, '--out', bundle, '--progress'], { KMS_TOKEN: state.admin });
      if (r.code !== 0) await new Promise((res) => setTimeout(res, 200));
    }
    expect(r.code).toBe(0);
    expect(r.out).toMatch(new RegExp(`wrote ${bundle} \\((\\d+) bytes\\)`));
    const size = readFileSync(bundle).length;
    expect(r.err).toMatch(new RegExp(`evidence \\[.*\\] ${size}/${size} bytes|evidence ${size} bytes`));
    // ustar magic at offset 257 of the first header.
    expect(readFileSync(bundle).subarray(257, 262).toString()).toBe('ustar');
    // The projector app exports the key's stream as stored with each seal checked by its sealer.
    const chain = JSON.parse((readTar(readFileSync(bundle)).get('seals/events.json') ?? Buffer.from('null')).toString()) as { streamId: string; events: Array<{ sealCheck: string }> } | null;
    expect(chain?.streamId).toBe(`key-${state.key}`);
    expect(chain?.events.length).toBeGreaterThan(0);
    expect(chain?.events.every((e) => e.sealCheck === 'valid')).toBe(true);
  });

  it('reconciles the source tables against the ledger and says they agree (exit 0)', async () => {
    const r = await kms(['reconcile-ledger', '--http-url', projectorUrl], { KMS_TOKEN: state.admin });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^OK: the source tables and the ledger agree \((\d+) events, (\d+) audit records, (\d+) ledger leaves; finished .+\)\n$/);
    const events = Number(/\((\d+) events/.exec(r.out)?.[1]);
    expect(events).toBeGreaterThan(0);
    const refused = await kms(['reconcile-ledger', '--http-url', projectorUrl], { KMS_TOKEN: 'not-a-token' });
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('reconciliation refused: HTTP 401');
  });
});
