import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, readFile, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/** Label of the token the standalone KMS uses. */
export const SOFTHSM_TOKEN_LABEL = 'kms';

/** A SoftHSM2 token kept under a state folder. */
export interface SoftHsmToken {
  /** <stateDir>/hsm/softhsm2.conf: what SOFTHSM2_CONF must name before the module is initialised. */
  confPath: string;
  /** <stateDir>/hsm/tokens (0700). */
  tokenDir: string;
  /** <stateDir>/hsm/user.pin (0600): the KMS logs in with it (KMS_HSM_PIN_FILE). */
  userPinFile: string;
  /** <stateDir>/hsm/so.pin (0600): the token's security officer PIN, for recovery only. */
  soPinFile: string;
  label: string;
  /** Whether this call initialised the token. */
  created: boolean;
}

export interface EnsureSoftHsmTokenOptions {
  label?: string;
  /** The softhsm2-util executable. Default "softhsm2-util" on PATH. */
  util?: string;
}

const LOCK_WAIT_MS = 30_000;
const LOCK_STALE_MS = 120_000;
const LOCK_POLL_MS = 50;
/** One initialisation per state folder at a time within this process. */
const inProcess = new Map<string, Promise<SoftHsmToken>>();

function run(file: string, args: string[], conf: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(file, args, { env: { ...process.env, SOFTHSM2_CONF: conf } }, (error, stdout, stderr) => {
      if (!error) return resolvePromise(stdout);
      // The error's own message repeats the command line, PINs included: build one from stderr only.
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return reject(new Error(`${file} not found: install the softhsm2 package`));
      reject(new Error(`${file} ${args[0]} failed: ${(stderr || stdout).trim() || `exit code ${String(error.code)}`}`));
    });
  });
}

/** Create `path` with `content` (0600) unless it exists; a reader never sees a half-written file. */
async function createOnce(path: string, content: string): Promise<void> {
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temp, content, { mode: 0o600, flag: 'wx' });
  try {
    // link() fails with EEXIST instead of replacing: the first writer wins.
    await link(temp, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    await unlink(temp);
  }
}

async function withLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const lock = join(dir, '.init.lock');
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const age = await stat(lock).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      // A lock left by a process that died mid-initialisation.
      if (age > LOCK_STALE_MS) await rmdir(lock).catch(() => undefined);
      else if (Date.now() > deadline) throw new Error(`another process holds ${lock}; remove it if no KMS is starting`);
      else await new Promise((r) => setTimeout(r, LOCK_POLL_MS));
    }
  }
  try {
    return await fn();
  } finally {
    await rmdir(lock).catch(() => undefined);
  }
}

/** Whether softhsm2-util lists an initialised token with this label. */
function hasToken(showSlots: string, label: string): boolean {
  return showSlots.split(/^Slot /m).some((block) => {
    const found = /^\s*Label:\s*(.*?)\s*$/m.exec(block);
    return found?.[1] === label && /^\s*Initialized:\s*yes\s*$/m.test(block);
  });
}

async function ensure(stateDir: string, options: EnsureSoftHsmTokenOptions): Promise<SoftHsmToken> {
  const label = options.label ?? SOFTHSM_TOKEN_LABEL;
  const util = options.util ?? 'softhsm2-util';
  const hsmDir = resolve(stateDir, 'hsm');
  const tokenDir = join(hsmDir, 'tokens');
  const confPath = join(hsmDir, 'softhsm2.conf');
  const userPinFile = join(hsmDir, 'user.pin');
  const soPinFile = join(hsmDir, 'so.pin');

  await mkdir(tokenDir, { recursive: true, mode: 0o700 });
  // mkdir's mode applies only to folders it creates; the token folder must be private whatever was there.
  await chmod(hsmDir, 0o700);
  await chmod(tokenDir, 0o700);
  await createOnce(
    confPath,
    [
      '# SoftHSM2 configuration of the KMS token, written by ensureSoftHsmToken (scripts/softhsm-init.sh).',
      `directories.tokendir = ${tokenDir}`,
      'objectstore.backend = file',
      'log.level = ERROR',
      'slots.removable = false',
      '',
    ].join('\n'),
  );
  // Hex PINs: no character softhsm2-util or a shell could misread.
  await createOnce(userPinFile, `${randomBytes(16).toString('hex')}\n`);
  await createOnce(soPinFile, `${randomBytes(16).toString('hex')}\n`);

  const token: Omit<SoftHsmToken, 'created'> = { confPath, tokenDir, userPinFile, soPinFile, label };
  const created = await withLock(hsmDir, async () => {
    if (hasToken(await run(util, ['--show-slots'], confPath), label)) return false;
    const userPin = (await readFile(userPinFile, 'utf8')).trim();
    const soPin = (await readFile(soPinFile, 'utf8')).trim();
    // softhsm2-util reads PINs only from the terminal or its arguments; this runs once, on first start.
    await run(util, ['--init-token', '--free', '--label', label, '--so-pin', soPin, '--pin', userPin], confPath);
    return true;
  });
  return { ...token, created };
}

/**
 * Idempotently set up a SoftHSM2 token under `<stateDir>/hsm`: its softhsm2.conf, a private token
 * folder, random user and SO PIN files (0600), and a token labelled "kms" initialised with
 * softhsm2-util when none exists yet. Safe to call on every start and from concurrent processes.
 */
export async function ensureSoftHsmToken(stateDir: string, options: EnsureSoftHsmTokenOptions = {}): Promise<SoftHsmToken> {
  const key = resolve(stateDir);
  const pending = inProcess.get(key);
  if (pending) return pending;
  const work = ensure(key, options).finally(() => inProcess.delete(key));
  inProcess.set(key, work);
  return work;
}
