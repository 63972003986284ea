import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { AuditSealer, type SealableAuditRow } from '@kms/persistence-postgres';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Operations per second of bare AES-256-GCM in this process, on one thread: the ceiling a batch is compared with. */
export interface AesGcmBaseline {
  encryptPerSecond: number;
  decryptPerSecond: number;
}

/** Run `op` back to back for `seconds`, in slices that let the event loop breathe; ops per second. */
async function opsPerSecond(seconds: number, op: () => void): Promise<number> {
  let ops = 0;
  const start = performance.now();
  const stopAt = start + seconds * 1000;
  while (performance.now() < stopAt) {
    for (let i = 0; i < 500; i++) op();
    ops += 500;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return ops / ((performance.now() - start) / 1000);
}

/**
 * node:crypto AES-256-GCM of `plaintext` with `aad`, one operation at a time on this thread, exactly
 * the work the software backend does per item (fresh random 12-byte IV, IV | ciphertext | tag out;
 * decrypt checks the tag), without anything else: no key lookup, no audit, no gRPC.
 */
export async function measureAesGcm(seconds: number, plaintext: Buffer, aad: Buffer): Promise<AesGcmBaseline> {
  const key = randomBytes(32);
  const seal = (): Buffer => {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad);
    return Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  };
  const sealed = seal();
  const open = (): Buffer => {
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
  };
  if (!open().equals(plaintext)) throw new Error('correctness: in-process AES-256-GCM did not give back the plaintext');
  // Half a second each, unreported, so neither side is measured cold.
  await opsPerSecond(0.5, seal);
  await opsPerSecond(0.5, open);
  return { encryptPerSecond: await opsPerSecond(seconds, seal), decryptPerSecond: await opsPerSecond(seconds, open) };
}

/**
 * Microseconds one audit record's seal takes in this process: the canonical JSON of a record as an
 * audited Encrypt writes it, its SHA-256 chained to the previous hash, and the HMAC of that hash
 * (AuditSealer.seal, what the writer does for every record before its flush). The least the audit
 * adds to a call on this machine, with nothing else: the records are made beforehand, no PostgreSQL.
 */
export async function measureAuditSeal(seconds: number): Promise<number> {
  const sealer = new AuditSealer(randomBytes(32));
  const rows: SealableAuditRow[] = Array.from({ length: 1000 }, (_, i) => ({
    position: BigInt(i + 1),
    id: randomUUID(),
    time: new Date(),
    request_id: randomUUID(),
    operation: 'Encrypt',
    key_id: '7d1c0b8e-5a4f-4d2e-9c3b-2f1e0d9c8b7a',
    key_version: 1,
    actor: 'b2f3c1de-8a7b-4c6d-9e0f-1a2b3c4d5e6f',
    actor_role: 'workload',
    outcome: 'SUCCESS',
    error_code: null,
    source_address: 'ipv4:127.0.0.1:53122',
    details: { aadBytes: 16, plaintextBytes: 1024, ciphertextRef: randomBytes(16).toString('hex') },
  }));
  let prev: string | null = null;
  let next = 0;
  const seal = (): void => {
    prev = sealer.seal(rows[next] as SealableAuditRow, prev).hash;
    next = (next + 1) % rows.length;
  };
  await opsPerSecond(1, seal);
  return 1e6 / (await opsPerSecond(seconds, seal));
}
