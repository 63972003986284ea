import { byCreation, type KeyFilter, type KeySnapshot, type KeySnapshotBuildProgress, type KeySnapshotStore, type ListPage, matchesKeyFilter } from './key-snapshots.port';

/** KeySnapshotStore in memory: for tests and one-shot reads (a replay check), never shared by replicas. */
export class InMemoryKeySnapshots implements KeySnapshotStore {
  private readonly rows = new Map<string, KeySnapshot>();
  private position: bigint | undefined;
  private progress: KeySnapshotBuildProgress | undefined;

  async checkpoint(): Promise<bigint | undefined> {
    return this.position;
  }

  async getMany(keyIds: readonly string[]): Promise<Map<string, KeySnapshot>> {
    const out = new Map<string, KeySnapshot>();
    for (const id of keyIds) {
      const row = this.rows.get(id);
      if (row) out.set(id, structuredClone(row));
    }
    return out;
  }

  async save(rows: readonly KeySnapshot[], position?: bigint): Promise<void> {
    for (const row of rows) {
      const id = row.state.key.keyId;
      const current = this.rows.get(id);
      if (!current || current.version < row.version) this.rows.set(id, structuredClone(row));
    }
    if (position !== undefined && (this.position === undefined || position > this.position)) this.position = position;
  }

  async buildProgress(): Promise<KeySnapshotBuildProgress | undefined> {
    return this.progress && { ...this.progress };
  }

  async saveBuild(rows: readonly KeySnapshot[], state: { progress: KeySnapshotBuildProgress } | { done: bigint }): Promise<void> {
    if ('done' in state) {
      await this.save(rows, state.done);
      this.progress = undefined;
    } else {
      await this.save(rows);
      this.progress = { ...state.progress };
    }
  }

  async list(filter: KeyFilter, page?: ListPage): Promise<KeySnapshot[]> {
    const rows = [...this.rows.values()].filter((r) => matchesKeyFilter(r.state, filter)).sort(byCreation);
    return (page ? rows.slice(page.offset, page.offset + page.limit) : rows).map((r) => structuredClone(r));
  }
}
