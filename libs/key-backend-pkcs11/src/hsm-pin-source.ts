import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/** Where the token user's PIN comes from. KmsConfig's `hsm.pin` is one (its Secret has reveal()). */
export type HsmPinSource = { kind: 'env'; value: { reveal(): string } } | { kind: 'file'; path: string };

/** A PIN that cannot be loaded. The message names the variable and never contains the PIN. */
export class HsmPinError extends Error {
  override readonly name = 'HsmPinError';
  constructor(
    readonly variable: 'KMS_HSM_PIN' | 'KMS_HSM_PIN_FILE',
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
  }
}

function checked(pin: string, variable: HsmPinError['variable'], where: string): string {
  // One trailing newline is what `echo pin > file` leaves; anything else is part of the PIN.
  const value = pin.replace(/\r?\n$/, '');
  if (value === '') throw new HsmPinError(variable, `${where} is empty`);
  return value;
}

/** Read the PIN (a 0600 file, or the environment value). Called on every (re)connect, so a rotated file is picked up. */
export async function loadHsmPin(source: HsmPinSource): Promise<string> {
  if (source.kind === 'env') return checked(source.value.reveal(), 'KMS_HSM_PIN', 'the value');
  let handle: FileHandle;
  try {
    handle = await open(source.path, constants.O_RDONLY);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new HsmPinError('KMS_HSM_PIN_FILE', `${source.path} does not exist`);
    throw new HsmPinError('KMS_HSM_PIN_FILE', `cannot open ${source.path} (${code ?? 'unknown error'})`);
  }
  try {
    // fstat on the open handle, so the mode checked is that of the file actually read.
    const stat = await handle.stat();
    if (!stat.isFile()) throw new HsmPinError('KMS_HSM_PIN_FILE', `${source.path} is not a regular file`);
    if ((stat.mode & 0o077) !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
      throw new HsmPinError('KMS_HSM_PIN_FILE', `${source.path} is accessible by group or others (mode ${mode}); restrict it with: chmod 600 ${source.path}`);
    }
    const content = await handle.readFile();
    try {
      return checked(content.toString('utf8'), 'KMS_HSM_PIN_FILE', `the content of ${source.path}`);
    } finally {
      content.fill(0);
    }
  } finally {
    await handle.close();
  }
}
