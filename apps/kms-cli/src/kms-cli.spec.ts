import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KmsClient } from '@kms/contracts';
import { resolveCliConfig } from './config/cli-config';
import { type CliIo, runCli } from './kms-cli';
import { ProtoCatalog } from './proto/proto-catalog';

const catalog = new ProtoCatalog();

/** Run the CLI in-process with captured output; `calls` records what would have been sent. */
async function cli(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string; calls: Array<[string, unknown, unknown]> }> {
  let out = '';
  let err = '';
  const calls: Array<[string, unknown, unknown]> = [];
  const client = {
    call: async (method: string, request: unknown, options: unknown) => {
      calls.push([method, request, options]);
      return { ciphertext: Buffer.from('sealed'), key_id: 'k-1', key_version: 3 };
    },
    close: () => undefined,
  } as unknown as KmsClient;
  // No config file (the default location is optional), so only the flags and `env` apply.
  const io: CliIo = { stdout: (s) => void (out += s), stderr: (s) => void (err += s), progressStream: { write: () => true }, env: { XDG_CONFIG_HOME: '/nonexistent', ...env }, stdin: () => '', connect: () => client };
  const code = await runCli(argv, io, catalog);
  return { code, out, err, calls };
}

describe('kms CLI', () => {
  it('has one command per RPC of the three services, by kebab-case and by proto name', async () => {
    const { out } = await cli(['--help']);
    for (const m of catalog.methods()) expect(out).toContain(`${m.command} (${m.name})`);
    expect(catalog.methods().map((m) => m.service)).toEqual(expect.arrayContaining(['KeyManagementService', 'IdentityService', 'ApprovalService']));
    expect(out).toContain('KMS_TOKEN');
    expect(out).toContain('KMS_ADDRESS');
    expect(out).toContain('~/.config/kms/config.json');
  });

  it("lists a method's request fields with their types, enum values and an example in --help", async () => {
    const { out, code } = await cli(['CreateKey', '--help']);
    expect(code).toBe(0);
    expect(out).toContain('Request fields (CreateKeyRequest');
    expect(out).toMatch(/\n {2}purpose +KeyPurpose: ROOT_TENANT \| SERVICE_ENVELOPE \| DATA_PROTECTION \| BREAK_GLASS/);
    expect(out).toMatch(/\n {2}labels +map<string, string>/);
    expect(out).toMatch(/\n {2}rotation_period_days +uint32 — 0: the purpose's maximum/);
    expect(out).toMatch(/Example:\n {2}kms create-key '\{"tenant":"acme"/);
    const encrypt = await cli(['encrypt', '--help']);
    expect(encrypt.out).toMatch(/\n {2}plaintext +bytes \(base64\)/);
    // Methods without a hand-written example get one built from their fields.
    expect((await cli(['generate-mac', '--help'])).out).toContain(`kms generate-mac '{"key_id":"<key_id>","data":"aGVsbG8="}'`);
  });

  it("changes an identity's roles: the whole new set as repeated --roles, the change ticket in --context", async () => {
    const help = await cli(['change-identity-roles', '--help']);
    expect(help.out).toContain('Request fields (ChangeIdentityRolesRequest');
    expect(help.out).toMatch(/\n {2}roles +repeated string/);
    const r = await cli(['change-identity-roles', '--identity-id', 'id-1', '--roles', 'sre-oncall', '--roles', 'key-admin', '--context', '{"change_ticket":"CHG-1"}'], { KMS_TOKEN: 't0ken' });
    expect(r.code).toBe(0);
    expect(r.calls).toEqual([['ChangeIdentityRoles', { identity_id: 'id-1', roles: ['sre-oncall', 'key-admin'], context: { change_ticket: 'CHG-1' } }, expect.objectContaining({ token: 't0ken' })]]);
  });

  it('refuses unknown fields and bad base64 without calling the server (exit 2)', async () => {
    const unknown = await cli(['Encrypt', '{"key_id":"k","plain_text":"aGVsbG8="}']);
    expect([unknown.code, unknown.calls]).toEqual([2, []]);
    expect(unknown.err).toBe('error: unknown field "plain_text" in EncryptRequest; valid fields: key_id, plaintext, aad\n');
    const bad = await cli(['encrypt', '--key-id', 'k', '--plaintext', 'hello!']);
    expect([bad.code, bad.calls]).toEqual([2, []]);
    expect(bad.err).toContain('field plaintext:');
    const flag = await cli(['encrypt', '--plain-text', 'x']);
    expect(flag.code).toBe(2);
    expect(flag.err).toContain("unknown option '--plain-text'");
  });

  it('sends the request with the token and deadline, and prints --get values bare', async () => {
    const r = await cli(['encrypt', '{"key_id":"k-1"}', '--plaintext', 'aGVsbG8=', '--get', 'ciphertext', '--timeout', '5000'], { KMS_TOKEN: 't0ken' });
    expect(r.code).toBe(0);
    expect(r.calls).toEqual([['Encrypt', { key_id: 'k-1', plaintext: 'aGVsbG8=' }, { token: 't0ken', deadlineMs: 5000 }]]);
    expect(r.out).toBe(`${Buffer.from('sealed').toString('base64')}\n`);
    expect(JSON.parse((await cli(['encrypt', '--key-id', 'k-1', '--json'])).out)).toEqual({ ciphertext: 'c2VhbGVk', key_id: 'k-1', key_version: 3 });
  });

  describe('configuration', () => {
    let dir: string;
    beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'ops-kms-cli-'))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('takes flags over the environment over the config file over defaults', () => {
      const file = join(dir, 'config.json');
      writeFileSync(file, JSON.stringify({ address: 'file-host:1', http_url: 'http://file:8080', timeout_ms: 1234 }));
      expect(resolveCliConfig({}, { KMS_CONFIG: file })).toMatchObject({ address: 'file-host:1', httpUrl: 'http://file:8080', timeoutMs: 1234, file });
      expect(resolveCliConfig({}, { KMS_CONFIG: file, KMS_ADDRESS: 'env-host:2' }).address).toBe('env-host:2');
      expect(resolveCliConfig({ address: 'flag-host:3' }, { KMS_CONFIG: file, KMS_ADDRESS: 'env-host:2' }).address).toBe('flag-host:3');
      expect(resolveCliConfig({}, { XDG_CONFIG_HOME: dir })).toMatchObject({ address: '127.0.0.1:50051', httpUrl: 'http://127.0.0.1:8080', timeoutMs: 30_000 });
    });

    it('refuses unknown keys, and a token in a file others can read', () => {
      const file = join(dir, 'config.json');
      writeFileSync(file, JSON.stringify({ adress: 'x:1' }));
      expect(() => resolveCliConfig({}, { KMS_CONFIG: file })).toThrow('unknown key "adress"; valid keys: address, http_url, token, timeout_ms');
      writeFileSync(file, JSON.stringify({ token: 'abc' }));
      chmodSync(file, 0o644);
      expect(() => resolveCliConfig({}, { KMS_CONFIG: file })).toThrow('chmod 600');
      chmodSync(file, 0o600);
      expect(resolveCliConfig({}, { KMS_CONFIG: file }).token).toBe('abc');
      expect(() => resolveCliConfig({}, { KMS_CONFIG: join(dir, 'missing.json') })).toThrow('cannot be read');
    });

    it("uses kms login's token file when no token is given, names it when expired, and refuses it readable by others", async () => {
      const tokenFile = join(dir, 'kms', 'token.json');
      mkdirSync(join(dir, 'kms'));
      writeFileSync(tokenFile, JSON.stringify({ access_token: 'from-login', expires_at: new Date(Date.now() + 600_000).toISOString() }), { mode: 0o600 });
      expect(resolveCliConfig({}, { XDG_CONFIG_HOME: dir })).toMatchObject({ token: 'from-login', tokenSource: 'login', tokenFile });
      // KMS_TOKEN and --token win over it.
      expect(resolveCliConfig({}, { XDG_CONFIG_HOME: dir, KMS_TOKEN: 'env' })).toMatchObject({ token: 'env', tokenSource: 'env' });
      const sent = await cli(['list-keys'], { XDG_CONFIG_HOME: dir });
      expect(sent.calls[0]?.[2]).toMatchObject({ token: 'from-login' });

      const expiredAt = new Date(Date.now() - 1000).toISOString();
      writeFileSync(tokenFile, JSON.stringify({ access_token: 'old', expires_at: expiredAt }));
      expect(resolveCliConfig({}, { XDG_CONFIG_HOME: dir })).toMatchObject({ loginExpiredAt: expiredAt });
      expect(resolveCliConfig({}, { XDG_CONFIG_HOME: dir }).token).toBeUndefined();
      const refused = await cli(['list-keys'], { XDG_CONFIG_HOME: dir });
      expect(refused).toMatchObject({ code: 2, calls: [] });
      expect(refused.err).toContain(`the token from kms login expired at ${expiredAt}; run kms login again`);

      chmodSync(tokenFile, 0o644);
      expect(() => resolveCliConfig({}, { XDG_CONFIG_HOME: dir })).toThrow('readable by group or others');
      const out = await cli(['logout'], { XDG_CONFIG_HOME: dir });
      expect(out.code).toBe(0);
      expect(existsSync(tokenFile)).toBe(false);
    });
  });
});
