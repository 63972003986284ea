import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MasterKey, MasterKeyError, ensureMasterKeyFile, loadMasterKey, type MasterKeySource } from './master-key';

function envSource(value: string): MasterKeySource {
  return { kind: 'env', value: { reveal: () => value } };
}

async function failure(p: Promise<unknown>): Promise<MasterKeyError> {
  const outcome = await p.then(
    () => 'resolved',
    (e: unknown) => e,
  );
  expect(outcome).toBeInstanceOf(MasterKeyError);
  return outcome as MasterKeyError;
}

describe('master key', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kms-master-key-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('from KMS_MASTER_KEY', () => {
    it('loads base64 of 32 bytes; the kekId is 16 hex chars derived from the key with a prefix', async () => {
      const bytes = randomBytes(32);
      const key = await loadMasterKey(envSource(bytes.toString('base64')));
      expect(key.kekId).toMatch(/^[0-9a-f]{16}$/);
      expect(key.kekId).not.toBe(createHash('sha256').update(bytes).digest('hex').slice(0, 16));
      expect((await loadMasterKey(envSource(bytes.toString('base64')))).kekId).toBe(key.kekId);
      expect(MasterKey.generate().kekId).not.toBe(key.kekId);
    });

    it.each([
      ['not base64', 'this is not base64!', 'KMS_MASTER_KEY: the value is not valid base64'],
      ['empty', '  ', 'KMS_MASTER_KEY: the value is empty; expected base64 of 32 random bytes'],
      ['16 bytes', randomBytes(16).toString('base64'), 'KMS_MASTER_KEY: the value must decode to exactly 32 bytes, got 16'],
      ['33 bytes', randomBytes(33).toString('base64'), 'KMS_MASTER_KEY: the value must decode to exactly 32 bytes, got 33'],
    ])('refuses %s, naming the variable and not echoing the value', async (_what, value, message) => {
      const err = await failure(loadMasterKey(envSource(value)));
      expect(err.variable).toBe('KMS_MASTER_KEY');
      expect(err.message).toBe(message);
      if (value.trim() !== '') expect(err.message).not.toContain(value.trim());
    });

    it('never shows the key when serialised', async () => {
      const value = randomBytes(32).toString('base64');
      const key = await loadMasterKey(envSource(value));
      expect(JSON.stringify({ key })).not.toContain(value);
      expect(String(key)).toBe(`[master key ${key.kekId}]`);
    });
  });

  describe('from KMS_MASTER_KEY_FILE', () => {
    it('loads a 0600 file holding base64 with a trailing newline', async () => {
      const bytes = randomBytes(32);
      const path = join(dir, 'master.key');
      await writeFile(path, `${bytes.toString('base64')}\n`, { mode: 0o600 });
      const fromFile = await loadMasterKey({ kind: 'file', path });
      expect(fromFile.kekId).toBe((await loadMasterKey(envSource(bytes.toString('base64')))).kekId);
    });

    it.each([0o640, 0o604, 0o660, 0o644])('refuses a file with mode %o, saying how to fix it', async (mode) => {
      const path = join(dir, 'master.key');
      await writeFile(path, randomBytes(32).toString('base64'));
      await chmod(path, mode);
      const err = await failure(loadMasterKey({ kind: 'file', path }));
      expect(err.variable).toBe('KMS_MASTER_KEY_FILE');
      expect(err.message).toContain('is accessible by group or others');
      expect(err.message).toContain(`chmod 600 ${path}`);
    });

    it('refuses a missing file and bad content, naming the variable but not the content', async () => {
      const path = join(dir, 'master.key');
      expect((await failure(loadMasterKey({ kind: 'file', path }))).message).toBe(`KMS_MASTER_KEY_FILE: ${path} does not exist`);
      const short = randomBytes(31).toString('base64');
      await writeFile(path, short, { mode: 0o600 });
      const err = await failure(loadMasterKey({ kind: 'file', path }));
      expect(err.message).toBe(`KMS_MASTER_KEY_FILE: the content of ${path} must decode to exactly 32 bytes, got 31`);
      expect(err.message).not.toContain(short);
    });
  });

  describe('ensureMasterKeyFile', () => {
    it('creates the parent directory (0700) and a 0600 key file that loads, once', async () => {
      const path = join(dir, 'state', 'nested', 'master.key');
      expect(await ensureMasterKeyFile(path)).toBe(true);
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      expect((await stat(join(dir, 'state', 'nested'))).mode & 0o777).toBe(0o700);
      const first = await loadMasterKey({ kind: 'file', path });
      const content = await readFile(path, 'utf8');

      expect(await ensureMasterKeyFile(path)).toBe(false);
      expect(await readFile(path, 'utf8')).toBe(content);
      expect((await loadMasterKey({ kind: 'file', path })).kekId).toBe(first.kekId);
    });

    it('concurrent first starts agree on one key and leave no temp files', async () => {
      const path = join(dir, 'master.key');
      const created = await Promise.all(Array.from({ length: 8 }, () => ensureMasterKeyFile(path)));
      expect(created.filter(Boolean)).toHaveLength(1);
      expect(await readdir(dir)).toEqual(['master.key']);
    });
  });

  describe('wrap / unwrap', () => {
    it('round-trips only with the same aad and the same key', () => {
      const key = MasterKey.generate();
      const secret = randomBytes(32);
      const wrapped = key.wrap(secret, Buffer.from('binding-a'));
      expect(wrapped.includes(secret.subarray(0, 8))).toBe(false);
      expect(key.unwrap(wrapped, Buffer.from('binding-a'))).toEqual(secret);
      expect(key.unwrap(wrapped, Buffer.from('binding-b'))).toBeUndefined();
      expect(MasterKey.generate().unwrap(wrapped, Buffer.from('binding-a'))).toBeUndefined();
      expect(key.unwrap(wrapped.subarray(0, 20), Buffer.from('binding-a'))).toBeUndefined();
    });
  });
});
