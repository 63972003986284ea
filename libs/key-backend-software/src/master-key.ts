import { createCipheriv, createDecipheriv, createHash, createSecretKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { constants } from 'node:fs';
import { link, lstat, mkdir, open, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Bytes in the key-encryption key. */
export const MASTER_KEY_LENGTH = 32;

const WRAP_FORMAT = 1;
const WRAP_IV_LENGTH = 12;
const WRAP_TAG_LENGTH = 16;
const KEK_ID_PREFIX = Buffer.from('open-kms/kek-id/v1\0', 'ascii');
// Canonical, padded base64 only: Buffer.from(..., 'base64') silently skips junk, which would hide typos.
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export type MasterKeyVariable = 'KMS_MASTER_KEY' | 'KMS_MASTER_KEY_FILE';

/** A master key that cannot be loaded. The message names the variable and never contains key bytes. */
export class MasterKeyError extends Error {
  override readonly name = 'MasterKeyError';
  constructor(
    readonly variable: MasterKeyVariable,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
  }
}

/** Where the master key comes from. KmsConfig['masterKey'] is one (its Secret has reveal()). */
export type MasterKeySource = { kind: 'env'; value: { reveal(): string } } | { kind: 'file'; path: string };

/**
 * The key-encryption key that wraps software key material (AES-256-GCM). The bytes live only in an
 * OpenSSL KeyObject, so they are not in the JS heap and never end up in logs or JSON.
 */
export class MasterKey {
  private constructor(
    private readonly key: KeyObject,
    /** First 16 hex chars of SHA-256 over a domain-separation prefix and the key. */
    readonly kekId: string,
  ) {}

  /**
   * A key for another purpose (token signing, credential verifiers), derived with HKDF-SHA256 so the
   * master key itself is used only for wrapping. Different `purpose` strings give independent keys.
   */
  derive(purpose: string, length = 32): Buffer {
    return Buffer.from(hkdfSync('sha256', this.key, Buffer.alloc(0), `open-kms:${purpose}`, length));
  }

  /** Build from exactly 32 raw bytes. The caller keeps ownership of (and should zero) `bytes`. */
  static fromBytes(bytes: Buffer): MasterKey {
    if (bytes.length !== MASTER_KEY_LENGTH) throw new Error(`master key must be ${MASTER_KEY_LENGTH} bytes, got ${bytes.length}`);
    return new MasterKey(createSecretKey(Buffer.from(bytes)), kekIdOf(bytes));
  }

  /** A fresh random master key (tests, first start). */
  static generate(): MasterKey {
    const bytes = randomBytes(MASTER_KEY_LENGTH);
    try {
      return MasterKey.fromBytes(bytes);
    } finally {
      bytes.fill(0);
    }
  }

  /** Encrypt `plaintext` bound to `aad`. Output: format (1) | IV (12) | ciphertext | tag (16). */
  wrap(plaintext: Buffer, aad: Buffer): Buffer {
    const iv = randomBytes(WRAP_IV_LENGTH);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv, { authTagLength: WRAP_TAG_LENGTH });
    cipher.setAAD(aad);
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([Buffer.of(WRAP_FORMAT), iv, body, cipher.getAuthTag()]);
  }

  /** Inverse of wrap; undefined when the record was altered, bound to other data, or wrapped under another key. */
  unwrap(wrapped: Buffer, aad: Buffer): Buffer | undefined {
    if (wrapped.length < 1 + WRAP_IV_LENGTH + WRAP_TAG_LENGTH || wrapped[0] !== WRAP_FORMAT) return undefined;
    const iv = wrapped.subarray(1, 1 + WRAP_IV_LENGTH);
    const tag = wrapped.subarray(wrapped.length - WRAP_TAG_LENGTH);
    const decipher = createDecipheriv('aes-256-gcm', this.key, iv, { authTagLength: WRAP_TAG_LENGTH });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    const head = decipher.update(wrapped.subarray(1 + WRAP_IV_LENGTH, wrapped.length - WRAP_TAG_LENGTH));
    try {
      return Buffer.concat([head, decipher.final()]);
    } catch {
      return undefined;
    } finally {
      head.fill(0);
    }
  }

  toJSON(): string {
    return `[master key ${this.kekId}]`;
  }

  toString(): string {
    return `[master key ${this.kekId}]`;
  }
}

function kekIdOf(key: Buffer): string {
  return createHash('sha256').update(KEK_ID_PREFIX).update(key).digest('hex').slice(0, 16);
}

/** Decode base64 of exactly 32 bytes; errors name `variable` and never echo the value. */
function decodeKey(text: string, variable: MasterKeyVariable, where: string): Buffer {
  const trimmed = text.trim();
  if (trimmed === '') throw new MasterKeyError(variable, `${where} is empty; expected base64 of ${MASTER_KEY_LENGTH} random bytes`);
  if (!STRICT_BASE64.test(trimmed)) throw new MasterKeyError(variable, `${where} is not valid base64`);
  const bytes = Buffer.from(trimmed, 'base64');
  if (bytes.length !== MASTER_KEY_LENGTH) {
    const n = bytes.length;
    bytes.fill(0);
    throw new MasterKeyError(variable, `${where} must decode to exactly ${MASTER_KEY_LENGTH} bytes, got ${n}`);
  }
  return bytes;
}

async function readKeyFile(path: string): Promise<Buffer> {
  let handle: FileHandle;
  try {
    // O_NOFOLLOW is not used: a symlinked key file (e.g. a mounted secret) is legitimate; its target's mode is checked.
    handle = await open(path, constants.O_RDONLY);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new MasterKeyError('KMS_MASTER_KEY_FILE', `${path} does not exist`);
    throw new MasterKeyError('KMS_MASTER_KEY_FILE', `cannot open ${path} (${code ?? 'unknown error'})`);
  }
  try {
    // fstat on the open handle, so the mode checked is that of the file actually read.
    const stat = await handle.stat();
    if (!stat.isFile()) throw new MasterKeyError('KMS_MASTER_KEY_FILE', `${path} is not a regular file`);
    if ((stat.mode & 0o077) !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
      throw new MasterKeyError(
        'KMS_MASTER_KEY_FILE',
        `${path} is accessible by group or others (mode ${mode}); restrict it with: chmod 600 ${path}`,
      );
    }
    const content = await handle.readFile();
    try {
      return decodeKey(content.toString('ascii'), 'KMS_MASTER_KEY_FILE', `the content of ${path}`);
    } finally {
      content.fill(0);
    }
  } finally {
    await handle.close();
  }
}

/** Load the master key from KMS_MASTER_KEY (base64) or KMS_MASTER_KEY_FILE (a 0600 file holding base64). */
export async function loadMasterKey(source: MasterKeySource): Promise<MasterKey> {
  const bytes =
    source.kind === 'env' ? decodeKey(source.value.reveal(), 'KMS_MASTER_KEY', 'the value') : await readKeyFile(source.path);
  try {
    return MasterKey.fromBytes(bytes);
  } finally {
    bytes.fill(0);
  }
}

/**
 * Standalone first start: create `path` holding a new random key (mode 0600, parent directory 0700)
 * unless it exists. Returns whether it was created. Safe when several processes start at once.
 */
export async function ensureMasterKeyFile(path: string): Promise<boolean> {
  if (await exists(path)) return false;
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  // Write a private temp file, then hard-link it into place: link never overwrites, and readers
  // never see a half-written key.
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const bytes = randomBytes(MASTER_KEY_LENGTH);
  const encoded = Buffer.from(`${bytes.toString('base64')}\n`, 'ascii');
  bytes.fill(0);
  try {
    const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600).catch((e: NodeJS.ErrnoException) => {
      throw new MasterKeyError('KMS_MASTER_KEY_FILE', `cannot create a file next to ${path} (${e.code ?? 'unknown error'})`);
    });
    try {
      await handle.writeFile(encoded);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await link(temp, path);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw new MasterKeyError('KMS_MASTER_KEY_FILE', `cannot create ${path} (${(e as NodeJS.ErrnoException).code ?? 'unknown error'})`);
    }
  } finally {
    encoded.fill(0);
    await unlink(temp).catch(() => undefined);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new MasterKeyError('KMS_MASTER_KEY_FILE', `cannot inspect ${path} (${(e as NodeJS.ErrnoException).code ?? 'unknown error'})`);
  }
}

/** The key that seals the event store's events (derived from the master key; the database never sees it). */
export const EVENT_SEAL_KEY_PURPOSE = 'event-seal-v1';

/** The key that seals the audit trail's records (derived from the master key; the database never sees it). */
export const AUDIT_SEAL_KEY_PURPOSE = 'audit-seal-v1';
