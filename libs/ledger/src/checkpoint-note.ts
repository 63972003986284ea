import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';

/** A tree head: what a checkpoint commits to. */
export interface Checkpoint {
  /** Unique name of the log, e.g. "kms.example.com/audit-ledger/events". */
  origin: string;
  treeSize: number;
  rootHash: Buffer;
  /** ISO-8601 UTC time the checkpoint was signed (extension line). */
  time: string;
}

/** Anything that signs with the attestation key: DER ECDSA P-256 over SHA-256 (AttestationSigner fits). */
export interface NoteSigner {
  publicKeyPem(): Promise<string>;
  sign(data: Buffer): Promise<Buffer>;
}

/** Signature type byte this KMS uses in key ids for ECDSA P-256/SHA-256 (see docs/audit-and-evidence.md). */
export const ECDSA_P256_SIGNATURE_TYPE = 0x02;
const EM_DASH = '\u2014';
const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z$/;

/** C2SP tlog-checkpoint body: origin, size, base64 root, then one extension line `time <ISO>`. */
export function formatCheckpointBody(c: Checkpoint): string {
  if (c.origin === '' || /[\n\s]/.test(c.origin)) throw new TypeError('origin must be a non-empty string without whitespace');
  if (!Number.isSafeInteger(c.treeSize) || c.treeSize < 0) throw new TypeError('treeSize must be a whole number');
  if (c.rootHash.length !== 32) throw new TypeError('rootHash must be 32 bytes');
  if (!ISO_UTC.test(c.time)) throw new TypeError('time must be ISO-8601 UTC');
  return `${c.origin}\n${c.treeSize}\n${c.rootHash.toString('base64')}\ntime ${c.time}\n`;
}

/** Parse a checkpoint body; throws TypeError naming what is wrong. */
export function parseCheckpointBody(body: string): Checkpoint {
  const lines = body.split('\n');
  if (lines.length < 5 || lines[lines.length - 1] !== '') throw new TypeError('checkpoint body must be at least four newline-terminated lines');
  const [origin, size, root, timeLine] = lines;
  if (!/^(0|[1-9]\d*)$/.test(size)) throw new TypeError('checkpoint tree size is not a decimal number');
  const rootHash = Buffer.from(root, 'base64');
  if (rootHash.length !== 32 || rootHash.toString('base64') !== root) throw new TypeError('checkpoint root hash is not base64 of 32 bytes');
  const m = /^time (\S+)$/.exec(timeLine);
  if (!m || !ISO_UTC.test(m[1])) throw new TypeError('checkpoint has no "time <ISO-8601>" line');
  return { origin, treeSize: Number(size), rootHash, time: m[1] };
}

/** C2SP signed-note key id: first 4 bytes of SHA-256(name || "\n" || type || DER SPKI). */
export function noteKeyId(name: string, publicKey: KeyObject): Buffer {
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return createHash('sha256').update(name, 'utf8').update(Buffer.of(0x0a, ECDSA_P256_SIGNATURE_TYPE)).update(spki).digest().subarray(0, 4);
}

/** Sign a checkpoint as a C2SP signed note whose key name is the origin. */
export async function signCheckpoint(c: Checkpoint, signer: NoteSigner): Promise<string> {
  const body = formatCheckpointBody(c);
  const signature = await signer.sign(Buffer.from(body, 'utf8'));
  const keyId = noteKeyId(c.origin, createPublicKey(await signer.publicKeyPem()));
  return `${body}\n${EM_DASH} ${c.origin} ${Buffer.concat([keyId, signature]).toString('base64')}\n`;
}

export type NoteVerification = { valid: true; checkpoint: Checkpoint } | { valid: false; reason: string };

/**
 * Verify a signed checkpoint note with the attestation public key. Lines from other keys (witness
 * cosignatures) are ignored, as the signed-note format asks; one valid line from this key is needed.
 */
export function verifyCheckpointNote(note: string, attestationPublicKeyPem: string, expectedOrigin?: string): NoteVerification {
  const split = note.indexOf('\n\n');
  if (split < 0) return { valid: false, reason: 'the note has no blank line before its signatures' };
  const body = note.slice(0, split + 1);
  let checkpoint: Checkpoint;
  try {
    checkpoint = parseCheckpointBody(body);
  } catch (e) {
    return { valid: false, reason: (e as Error).message };
  }
  if (expectedOrigin !== undefined && checkpoint.origin !== expectedOrigin) {
    return { valid: false, reason: `the checkpoint is for log "${checkpoint.origin}", expected "${expectedOrigin}"` };
  }
  let key: KeyObject;
  try {
    key = createPublicKey(attestationPublicKeyPem);
  } catch {
    return { valid: false, reason: 'the attestation public key is not a PEM public key' };
  }
  const keyId = noteKeyId(checkpoint.origin, key);
  const lines = note.slice(split + 2).split('\n').filter((l) => l !== '');
  for (const line of lines) {
    const m = new RegExp(`^${EM_DASH} (\\S+) ([A-Za-z0-9+/=]+)$`).exec(line);
    if (!m || m[1] !== checkpoint.origin) continue;
    const blob = Buffer.from(m[2], 'base64');
    if (blob.length < 5 || !blob.subarray(0, 4).equals(keyId)) continue;
    let ok = false;
    try {
      ok = verify('sha256', Buffer.from(body, 'utf8'), { key, dsaEncoding: 'der' }, blob.subarray(4));
    } catch {
      ok = false;
    }
    if (ok) return { valid: true, checkpoint };
    return { valid: false, reason: 'the checkpoint signature does not match: the note was altered or signed by another key' };
  }
  return { valid: false, reason: 'the note carries no signature by the given attestation key' };
}
