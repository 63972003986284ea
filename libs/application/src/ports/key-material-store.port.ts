import type { Algorithm } from '@kms/domain';

/** One software key version's material, wrapped under the master key. */
export interface WrappedMaterialRecord {
  materialId: string;
  keyId: string;
  version: number;
  algorithm: Algorithm;
  /** Identifier of the key-encryption key that wrapped it (its fingerprint). */
  kekId: string;
  wrapped: Buffer;
  createdAt: Date;
}

/** Stores wrapped software key material, one row per version. Deleting a row crypto-shreds the version. */
export interface KeyMaterialStore {
  /** Insert; fails if materialId exists. */
  put(record: WrappedMaterialRecord): Promise<void>;
  get(materialId: string): Promise<WrappedMaterialRecord | undefined>;
  /** Delete for good; returns whether a row existed. */
  delete(materialId: string): Promise<boolean>;
}

export const KEY_MATERIAL_STORE = Symbol('KEY_MATERIAL_STORE');
