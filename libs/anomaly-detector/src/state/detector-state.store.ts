import type { SubjectState } from '@kms/anomaly-rules';

/** How far the detector got, committed together. */
export interface DetectorCheckpoint {
  /** Position of the last audit record whose effects are committed (0 before the first). */
  audit: bigint;
  /**
   * Event store position up to which every lifecycle fact is reflected in the judgement of every
   * committed audit record; facts after it are checked again against those records after a restart.
   */
  facts: bigint;
}

/** The detector's durable progress: its checkpoint and every subject's state. */
export interface DetectorStateStore {
  loadCheckpoint(): Promise<DetectorCheckpoint>;
  loadSubjects(): Promise<Map<string, SubjectState>>;
  /** Checkpoint and changed subjects in one transaction: a restart resumes exactly after it. */
  commit(checkpoint: DetectorCheckpoint, updates: ReadonlyMap<string, SubjectState>): Promise<void>;
}
