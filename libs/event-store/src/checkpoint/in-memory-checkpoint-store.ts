import type { CheckpointStore } from './checkpoint-store.port';

/** CheckpointStore in process memory: for tests and followers whose view lives as long as the process. */
export class InMemoryCheckpointStore implements CheckpointStore {
  private readonly positions = new Map<string, bigint>();

  async loadCheckpoint(name: string): Promise<bigint> {
    return this.positions.get(name) ?? 0n;
  }

  async commit(name: string, position: bigint): Promise<void> {
    if (position < 0n) throw new RangeError('a checkpoint position is never negative');
    if (position > (this.positions.get(name) ?? 0n)) this.positions.set(name, position);
  }
}
