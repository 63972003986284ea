import type { CeremonyKeyRecord, CeremonyKeyStore } from '@kms/application';

function copy(r: CeremonyKeyRecord): CeremonyKeyRecord {
  return { ...r, wrapped: Buffer.from(r.wrapped) };
}

/** CeremonyKeyStore in a Map, for tests and the standalone in-memory mode. */
export class InMemoryCeremonyKeyStore implements CeremonyKeyStore {
  private readonly rows = new Map<string, CeremonyKeyRecord>();

  async put(record: CeremonyKeyRecord): Promise<void> {
    if (this.rows.has(record.reconstructionId)) throw new Error(`reconstruction ${record.reconstructionId} has a ceremony key already`);
    this.rows.set(record.reconstructionId, copy(record));
  }

  async get(reconstructionId: string): Promise<CeremonyKeyRecord | undefined> {
    const row = this.rows.get(reconstructionId);
    return row && copy(row);
  }

  async list(): Promise<CeremonyKeyRecord[]> {
    return [...this.rows.values()].map(copy);
  }

  async delete(reconstructionId: string): Promise<void> {
    this.rows.delete(reconstructionId);
  }
}
