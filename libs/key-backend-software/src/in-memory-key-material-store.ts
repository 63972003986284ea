import type { KeyMaterialStore, WrappedMaterialRecord } from '@kms/application';

function copy(r: WrappedMaterialRecord): WrappedMaterialRecord {
  return { ...r, wrapped: Buffer.from(r.wrapped), createdAt: new Date(r.createdAt.getTime()) };
}

/** KeyMaterialStore in a Map, for unit tests. Records are copied in and out, like a database would. */
export class InMemoryKeyMaterialStore implements KeyMaterialStore {
  private readonly rows = new Map<string, WrappedMaterialRecord>();

  /** Rows held. */
  get size(): number {
    return this.rows.size;
  }

  async put(record: WrappedMaterialRecord): Promise<void> {
    if (this.rows.has(record.materialId)) throw new Error(`key material ${record.materialId} already exists`);
    this.rows.set(record.materialId, copy(record));
  }

  async get(materialId: string): Promise<WrappedMaterialRecord | undefined> {
    const row = this.rows.get(materialId);
    return row && copy(row);
  }

  async delete(materialId: string): Promise<boolean> {
    return this.rows.delete(materialId);
  }
}
