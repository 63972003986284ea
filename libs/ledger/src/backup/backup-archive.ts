import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { readTar, writeTar } from '../tar-archive';

/** The files of one backup on disk (a directory per backup, in every target). */
export const BACKUP_FILES = { manifest: 'manifest.json', signature: 'manifest.sig', archive: 'archive.enc', dataKey: 'data-key.json' } as const;
export const BACKUP_FORMAT = 'kms-backup/1';

/** What the signed manifest says about a backup: every file's SHA-256 and the encrypted archive's. */
export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  createdAt: string;
  files: Array<{ path: string; size: number; sha256: string }>;
  archive: { size: number; sha256: string; cipher: 'AES-256-GCM'; iv: string };
  /** The DATA_PROTECTION key whose versions wrap the archive's data key (the wrapped key itself is in data-key.json). */
  dataKeyId: string;
  /** Hex SHA-256 of the signing key's SubjectPublicKeyInfo. */
  signerFingerprint: string;
}

/**
 * The archive's data key wrapped by the KMS (GenerateDataKey, later ReEncrypt). Kept outside the
 * signed manifest so a backup-key rotation re-wraps it without re-signing; swapping it cannot go
 * unnoticed, since the archive is AES-GCM authenticated under the key it unwraps to.
 */
export interface WrappedDataKey {
  keyId: string;
  keyVersion: number;
  /** base64 KMS ciphertext of the 32-byte data key. */
  ciphertext: string;
}

export interface SealedBackup {
  manifest: Buffer;
  signature: Buffer;
  archive: Buffer;
  dataKey: Buffer;
}

/** Raised when a backup must not be trusted; `file` names the first file at fault. */
export class BackupTamperedError extends Error {
  override readonly name = 'BackupTamperedError';
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function aad(createdAt: string): Buffer {
  return Buffer.from(`${BACKUP_FORMAT}|${createdAt}`, 'utf8');
}

/**
 * Pack the files into one ustar archive, encrypt it with the data key (AES-256-GCM), and sign a
 * manifest holding each file's SHA-256 and the encrypted archive's. The caller zeroes the data key.
 */
export async function sealBackup(
  files: ReadonlyArray<{ path: string; content: Buffer }>,
  options: { createdAt: Date; dataKey: Buffer; wrapped: WrappedDataKey; sign: (data: Buffer) => Promise<Buffer>; signerFingerprint: string },
): Promise<SealedBackup> {
  if (options.dataKey.length !== 32) throw new TypeError('the data key must be 32 bytes');
  const createdAt = options.createdAt.toISOString();
  const tar = writeTar(files, options.createdAt);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', options.dataKey, iv);
  cipher.setAAD(aad(createdAt));
  const archive = Buffer.concat([cipher.update(tar), cipher.final(), cipher.getAuthTag()]);
  tar.fill(0);
  const manifest: BackupManifest = {
    format: BACKUP_FORMAT,
    createdAt,
    files: files.map((f) => ({ path: f.path, size: f.content.length, sha256: sha256(f.content) })),
    archive: { size: archive.length, sha256: sha256(archive), cipher: 'AES-256-GCM', iv: iv.toString('base64') },
    dataKeyId: options.wrapped.keyId,
    signerFingerprint: options.signerFingerprint,
  };
  const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
  return { manifest: manifestBytes, signature: await options.sign(manifestBytes), archive, dataKey: Buffer.from(`${JSON.stringify(options.wrapped, null, 2)}\n`, 'utf8') };
}

/** The manifest, once its signature verifies; BackupTamperedError naming manifest.json otherwise. */
export async function verifiedManifest(backup: Pick<SealedBackup, 'manifest' | 'signature'>, verify: (data: Buffer, signature: Buffer) => Promise<boolean>): Promise<BackupManifest> {
  if (!(await verify(backup.manifest, backup.signature))) throw new BackupTamperedError(BACKUP_FILES.manifest, 'the signature does not verify with the attestation key');
  const manifest = JSON.parse(backup.manifest.toString('utf8')) as BackupManifest;
  if (manifest.format !== BACKUP_FORMAT) throw new BackupTamperedError(BACKUP_FILES.manifest, `format is not ${BACKUP_FORMAT}`);
  return manifest;
}

/** The wrapped data key file, parsed; BackupTamperedError naming data-key.json when it does not parse. */
export function parseWrappedDataKey(file: Buffer): WrappedDataKey {
  try {
    const v = JSON.parse(file.toString('utf8')) as WrappedDataKey;
    if (typeof v.keyId === 'string' && typeof v.ciphertext === 'string' && Number.isInteger(v.keyVersion)) return v;
  } catch {
    // Falls through to the refusal.
  }
  throw new BackupTamperedError(BACKUP_FILES.dataKey, 'is not a wrapped data key');
}

/**
 * Open a backup, checking before anything is used: the manifest signature, then the encrypted
 * archive's size and SHA-256, then (after decrypting with the unwrapped data key) every file's
 * SHA-256. Throws BackupTamperedError naming the first file at fault.
 */
export async function openBackup(
  backup: SealedBackup,
  options: { verify: (data: Buffer, signature: Buffer) => Promise<boolean>; unwrap: (wrapped: WrappedDataKey) => Promise<Buffer> },
): Promise<{ manifest: BackupManifest; files: Map<string, Buffer> }> {
  const manifest = await verifiedManifest(backup, options.verify);
  if (backup.archive.length !== manifest.archive.size) {
    throw new BackupTamperedError(BACKUP_FILES.archive, `is ${backup.archive.length} bytes, the manifest says ${manifest.archive.size} (truncated or extended)`);
  }
  if (sha256(backup.archive) !== manifest.archive.sha256) throw new BackupTamperedError(BACKUP_FILES.archive, 'its SHA-256 differs from the manifest');
  const wrapped = parseWrappedDataKey(backup.dataKey);
  if (wrapped.keyId !== manifest.dataKeyId) throw new BackupTamperedError(BACKUP_FILES.dataKey, `names key ${wrapped.keyId}, the manifest ${manifest.dataKeyId}`);
  let key: Buffer;
  try {
    key = await options.unwrap(wrapped);
  } catch (e) {
    throw new BackupTamperedError(BACKUP_FILES.dataKey, `the KMS did not unwrap it: ${(e as Error).message}`);
  }
  let tar: Buffer;
  try {
    const body = backup.archive.subarray(0, backup.archive.length - 16);
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(manifest.archive.iv, 'base64'));
    decipher.setAAD(aad(manifest.createdAt));
    decipher.setAuthTag(backup.archive.subarray(backup.archive.length - 16));
    tar = Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    throw new BackupTamperedError(BACKUP_FILES.dataKey, 'the archive does not decrypt with the data key it holds');
  } finally {
    key.fill(0);
  }
  const files = readTar(tar);
  for (const f of manifest.files) {
    const content = files.get(f.path);
    if (!content) throw new BackupTamperedError(f.path, 'is missing from the archive');
    if (content.length !== f.size || sha256(content) !== f.sha256) throw new BackupTamperedError(f.path, 'its SHA-256 differs from the manifest');
  }
  for (const path of files.keys()) if (!manifest.files.some((f) => f.path === path)) throw new BackupTamperedError(path, 'is in the archive but not in the manifest');
  return { manifest, files };
}

/**
 * Re-wrap a backup's data key under the backup key's current primary version (the KMS's ReEncrypt:
 * the data key never leaves it in clear), so the old version stops having an outstanding ciphertext.
 */
export async function rewrapDataKey(
  file: Buffer,
  reEncrypt: (ciphertext: Buffer) => Promise<{ ciphertext: Buffer; keyId: string; keyVersion: number }>,
): Promise<{ file: Buffer; from: WrappedDataKey; to: WrappedDataKey }> {
  const from = parseWrappedDataKey(file);
  const r = await reEncrypt(Buffer.from(from.ciphertext, 'base64'));
  const to: WrappedDataKey = { keyId: r.keyId, keyVersion: r.keyVersion, ciphertext: r.ciphertext.toString('base64') };
  return { file: Buffer.from(`${JSON.stringify(to, null, 2)}\n`, 'utf8'), from, to };
}
