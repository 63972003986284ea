import type { ImportParametersRecord, ImportParametersStore } from '@kms/application';

function copy(r: ImportParametersRecord): ImportParametersRecord {
  return { ...r, wrapped: Buffer.from(r.wrapped) };
}

/** ImportParametersStore in a Map, for tests and the standalone in-memory mode. */
export class InMemoryImportParametersStore implements ImportParametersStore {
  private readonly rows = new Map<string, ImportParametersRecord>();

  async put(record: ImportParametersRecord): Promise<void> {
    if (this.rows.has(record.token)) throw new Error(`import parameters ${record.token} already exist`);
    this.rows.set(record.token, copy(record));
  }

  async get(token: string): Promise<ImportParametersRecord | undefined> {
    const row = this.rows.get(token);
    return row && copy(row);
  }

  async markUsed(token: string, now: Date): Promise<boolean> {
    const row = this.rows.get(token);
    if (!row || row.usedAt) return false;
    row.usedAt = now;
    return true;
  }
}
