import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HsmPinError, loadHsmPin } from './hsm-pin-source';

async function failure(p: Promise<unknown>): Promise<HsmPinError> {
  const outcome = await p.then(
    () => 'resolved',
    (e: unknown) => e,
  );
  expect(outcome).toBeInstanceOf(HsmPinError);
  return outcome as HsmPinError;
}

describe('loadHsmPin', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kms-hsm-pin-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('reads a 0600 file, dropping one trailing newline only', async () => {
    const path = join(dir, 'pin');
    await writeFile(path, ' 12 34 \n', { mode: 0o600 });
    expect(await loadHsmPin({ kind: 'file', path })).toBe(' 12 34 ');
  });

  it('takes KMS_HSM_PIN as is', async () => {
    expect(await loadHsmPin({ kind: 'env', value: { reveal: () => 's3cret' } })).toBe('s3cret');
  });

  it.each([0o640, 0o604, 0o644])('refuses a file with mode %o, saying how to fix it and not showing the PIN', async (mode) => {
    const path = join(dir, 'pin');
    await writeFile(path, 'do-not-show-me');
    await chmod(path, mode);
    const err = await failure(loadHsmPin({ kind: 'file', path }));
    expect(err.variable).toBe('KMS_HSM_PIN_FILE');
    expect(err.message).toContain(`chmod 600 ${path}`);
    expect(err.message).not.toContain('do-not-show-me');
  });

  it('names the variable for a missing file and for empty PINs', async () => {
    const path = join(dir, 'pin');
    expect((await failure(loadHsmPin({ kind: 'file', path }))).message).toBe(`KMS_HSM_PIN_FILE: ${path} does not exist`);
    await writeFile(path, '\n', { mode: 0o600 });
    expect((await failure(loadHsmPin({ kind: 'file', path }))).message).toBe(`KMS_HSM_PIN_FILE: the content of ${path} is empty`);
    expect((await failure(loadHsmPin({ kind: 'env', value: { reveal: () => '' } }))).message).toBe('KMS_HSM_PIN: the value is empty');
  });
});
