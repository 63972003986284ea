import { randomFillSync } from 'node:crypto';

/** IVs cut from one refill of the pool: 4 KiB holds 341 GCM IVs. */
const POOL_BYTES = 4096;

/**
 * Fresh random IVs for AES-GCM, cut from a buffer of CSPRNG output that is refilled once used up:
 * one call into OpenSSL's RNG per few hundred encryptions instead of one per call. Every IV is
 * bytes the CSPRNG produced for it alone and is handed out once (a copy, so no caller sees the pool).
 * IVs are public, so holding a few KiB of them ahead of use exposes nothing.
 */
export class RandomIvs {
  private readonly pool = Buffer.allocUnsafeSlow(POOL_BYTES);
  private offset = POOL_BYTES;

  constructor(private readonly length: number) {
    if (!Number.isInteger(length) || length < 1 || length > POOL_BYTES) throw new RangeError(`IV length must be a whole number from 1 to ${POOL_BYTES}`);
  }

  next(): Buffer {
    if (this.offset + this.length > POOL_BYTES) {
      randomFillSync(this.pool);
      this.offset = 0;
    }
    const iv = Buffer.allocUnsafe(this.length);
    this.pool.copy(iv, 0, this.offset, this.offset + this.length);
    // Spent bytes are wiped so a later reader of the pool (a heap dump) cannot tell which IVs are coming.
    this.pool.fill(0, this.offset, this.offset + this.length);
    this.offset += this.length;
    return iv;
  }
}
