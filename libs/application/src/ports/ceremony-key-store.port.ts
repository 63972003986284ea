/**
 * Break-glass escrow: the X25519 private key of one open reconstruction (drill or emergency unseal),
 * which custodians encrypt their shares to. Kept only wrapped under the master key (PKCS#8, AES-256-GCM
 * bound to the reconstruction, key and version), so an open reconstruction survives a restart of the
 * key service and is seen by every replica; deleted when the reconstruction completes or expires, after
 * which the submissions recorded in its events can no longer be opened (crypto-shred).
 */
export interface CeremonyKeyRecord {
  reconstructionId: string;
  keyId: string;
  version: number;
  /** Master key the private key is wrapped under. */
  kekId: string;
  /** The ceremony private key (PKCS#8 DER), wrapped under the master key. Never in clear. */
  wrapped: Buffer;
  createdAt: Date;
  expiresAt: Date;
}

/** Where wrapped ceremony keys are kept between OpenEscrowReconstruction and its completion or expiry. */
export interface CeremonyKeyStore {
  /** Insert; fails if the reconstruction has a key already. */
  put(record: CeremonyKeyRecord): Promise<void>;
  get(reconstructionId: string): Promise<CeremonyKeyRecord | undefined>;
  /** Every record, expired or not (the start-up sweep decides). */
  list(): Promise<CeremonyKeyRecord[]>;
  /** Delete; idempotent. */
  delete(reconstructionId: string): Promise<void>;
}
