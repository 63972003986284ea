/**
 * Where a follower of the event store keeps, by name, the global position it has handled through.
 * The notice store is one (the relay's checkpoint); `InMemoryCheckpointStore` is another.
 * The method names are the notice store's, so that store serves as the PostgreSQL adapter unchanged.
 */
export interface CheckpointStore {
  /** The position stored under `name`; 0n when none was committed. */
  loadCheckpoint(name: string): Promise<bigint>;
  /** Store `position` under `name`. Never moves a stored position backwards. */
  commit(name: string, position: bigint): Promise<void>;
}
