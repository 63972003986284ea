import type { SubjectState } from '@kms/anomaly-rules';

/** The detector's durable progress: the last audit position evaluated and every subject's state. */
export interface DetectorStateStore {
  /** Position of the last audit record whose effects are committed (0 before the first). */
  loadCheckpoint(): Promise<bigint>;
  loadSubjects(): Promise<Map<string, SubjectState>>;
  /** Checkpoint and changed subjects in one transaction: a restart resumes exactly after `position`. */
  commit(position: bigint, updates: ReadonlyMap<string, SubjectState>): Promise<void>;
}
