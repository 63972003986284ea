import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ensureSoftHsmToken } from './softhsm-token';
import { softHsmTestRoot } from './testing/softhsm-test-root';

const REPO = resolve(__dirname, '../../..');

function exec(file: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(file, args, { env, cwd: REPO }, (error, stdout, stderr) => done({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }));
  });
}

/** Labels of the initialised tokens softhsm2-util shows for a configuration. */
async function tokenLabels(confPath: string): Promise<string[]> {
  const { stdout } = await exec('softhsm2-util', ['--show-slots'], { ...process.env, SOFTHSM2_CONF: confPath });
  return stdout
    .split(/^Slot /m)
    .filter((block) => /Initialized:\s*yes/.test(block))
    .map((block) => /^\s*Label:\s*(.*?)\s*$/m.exec(block)?.[1] ?? '');
}

async function mode(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

describe('ensureSoftHsmToken', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(await softHsmTestRoot(), 'softhsm-token-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('creates the configuration, a private token folder, 0600 PIN files and a token labelled "kms"; then only finds them', async () => {
    const state = join(dir, 'state');
    const first = await ensureSoftHsmToken(state);
    expect(first).toEqual({
      confPath: join(state, 'hsm', 'softhsm2.conf'),
      tokenDir: join(state, 'hsm', 'tokens'),
      userPinFile: join(state, 'hsm', 'user.pin'),
      soPinFile: join(state, 'hsm', 'so.pin'),
      label: 'kms',
      created: true,
    });
    expect(await readFile(first.confPath, 'utf8')).toContain(
      `directories.tokendir = ${first.tokenDir}\nobjectstore.backend = file\nlog.level = ERROR\n`,
    );
    expect(await mode(join(state, 'hsm'))).toBe(0o700);
    expect(await mode(first.tokenDir)).toBe(0o700);
    expect(await mode(first.userPinFile)).toBe(0o600);
    expect(await mode(first.soPinFile)).toBe(0o600);
    const pin = await readFile(first.userPinFile, 'utf8');
    expect(pin).toMatch(/^[0-9a-f]{32}\n$/);
    expect(await readFile(first.soPinFile, 'utf8')).not.toBe(pin);
    expect(await tokenLabels(first.confPath)).toEqual(['kms']);

    const second = await ensureSoftHsmToken(state);
    expect(second).toEqual({ ...first, created: false });
    expect(await readFile(first.userPinFile, 'utf8')).toBe(pin);
    expect(await tokenLabels(first.confPath)).toEqual(['kms']);
  });

  it('tightens a token folder that exists with loose permissions', async () => {
    const first = await ensureSoftHsmToken(dir);
    await chmod(first.tokenDir, 0o755);
    await ensureSoftHsmToken(dir);
    expect(await mode(first.tokenDir)).toBe(0o700);
  });

  it('concurrent first starts, in this process and in others (scripts/softhsm-init.sh), make exactly one token', async () => {
    const [a, b, c, d] = await Promise.all([
      ensureSoftHsmToken(dir),
      ensureSoftHsmToken(dir),
      exec('bash', ['scripts/softhsm-init.sh', dir]),
      exec('bash', ['scripts/softhsm-init.sh', dir]),
    ]);
    expect(a).toEqual(b);
    for (const run of [c, d]) {
      expect(run.code).toBe(0);
      expect(run.stdout).toBe(`export SOFTHSM2_CONF=${a.confPath}\nexport KMS_HSM_PIN_FILE=${a.userPinFile}\n`);
    }
    expect(await tokenLabels(a.confPath)).toEqual(['kms']);
    expect((await readdir(join(dir, 'hsm'))).sort()).toEqual(['so.pin', 'softhsm2.conf', 'tokens', 'user.pin']);
  });

  it('says what is missing when softhsm2-util is not installed', async () => {
    await expect(ensureSoftHsmToken(dir, { util: join(dir, 'no-such-softhsm2-util') })).rejects.toThrow(
      `${join(dir, 'no-such-softhsm2-util')} not found: install the softhsm2 package`,
    );
  });

  it('reports a failing softhsm2-util by its own output, never by its command line with the PINs', async () => {
    const util = join(dir, 'failing-util.sh');
    await writeFile(util, '#!/bin/sh\n[ "$1" = "--show-slots" ] && exit 0\necho "ERROR: could not initialise the token" >&2\nexit 1\n', { mode: 0o755 });
    const err = await ensureSoftHsmToken(join(dir, 'state'), { util }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toBe(`${util} --init-token failed: ERROR: could not initialise the token`);
    const pin = (await readFile(join(dir, 'state', 'hsm', 'user.pin'), 'utf8')).trim();
    const soPin = (await readFile(join(dir, 'state', 'hsm', 'so.pin'), 'utf8')).trim();
    expect(err?.message).not.toContain(pin);
    expect(err?.message).not.toContain(soPin);
  });
});
