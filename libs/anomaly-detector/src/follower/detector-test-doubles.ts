import type { SubjectState } from '@kms/anomaly-rules';
import { usage } from '@kms/anomaly-rules/testing';
import { InMemoryEventStore } from '@kms/event-store';
import type { AuditRecordFeed, PositionedAuditRecord } from '@kms/persistence-postgres';
import type { ContainmentGateway } from '../containment/containment.port';
import type { DetectorCheckpoint, DetectorStateStore } from '../state/detector-state.store';
import type { KeyUseLookup, KeyUseQuery, PositionedUsage } from '../audit/key-use-lookup.port';
import { AnomalyDetectorService, type AnomalyDetectorDeps } from './anomaly-detector.service';
import type { AnomalyRulesConfig } from '@kms/anomaly-rules';

/** An audit log in memory (also answers the detector's look-ups of a key's uses). */
export class MemoryAuditFeed implements AuditRecordFeed, KeyUseLookup {
  readonly records: PositionedAuditRecord[] = [];
  append(...rs: Array<Omit<PositionedAuditRecord, 'position' | 'requestId'>>): void {
    for (const r of rs) this.records.push({ ...r, requestId: r.id, position: BigInt(this.records.length + 1) });
  }
  /** Runs once at the start of the next readAfter (to interleave another feed with a batch). */
  beforeNextRead: (() => Promise<void>) | undefined;
  async readAfter(after: bigint, limit: number): Promise<PositionedAuditRecord[]> {
    const hook = this.beforeNextRead;
    this.beforeNextRead = undefined;
    await hook?.();
    return this.records.filter((r) => r.position > after).slice(0, limit);
  }
  async headPosition(): Promise<bigint> {
    return BigInt(this.records.length);
  }
  /** Every look-up made, for tests that check what was asked. */
  readonly useQueries: KeyUseQuery[] = [];
  async usesOf(q: KeyUseQuery): Promise<PositionedUsage[]> {
    this.useQueries.push(q);
    return this.records
      .filter((r) => r.keyId === q.keyId && (q.version === null || r.keyVersion === q.version) && r.time >= q.from && r.position > q.afterPosition && r.position <= q.throughPosition)
      .slice(0, q.limit);
  }
}

/** Checkpoint and subjects in memory; `failNextCommit` simulates a crash before the commit. */
export class MemoryStateStore implements DetectorStateStore {
  checkpoint = 0n;
  factsCheckpoint = 0n;
  subjects = new Map<string, SubjectState>();
  failNextCommit = false;
  async loadCheckpoint(): Promise<DetectorCheckpoint> {
    return { audit: this.checkpoint, facts: this.factsCheckpoint };
  }
  async loadSubjects(): Promise<Map<string, SubjectState>> {
    return new Map(this.subjects);
  }
  async commit(checkpoint: DetectorCheckpoint, updates: ReadonlyMap<string, SubjectState>): Promise<void> {
    if (this.failNextCommit) {
      this.failNextCommit = false;
      throw new Error('crash before the checkpoint commit');
    }
    for (const [k, v] of updates) this.subjects.set(k, structuredClone(v));
    this.checkpoint = checkpoint.audit;
    this.factsCheckpoint = checkpoint.facts;
  }
}

/** Containment that remembers what it did; `failNextSuspend` simulates a crash before containment. */
export class RecordingContainment implements ContainmentGateway {
  readonly suspended = new Set<string>();
  readonly suspendCalls: string[] = [];
  failNextSuspend = false;
  async suspendIdentity(identityId: string): Promise<'SUSPENDED' | 'ALREADY_SUSPENDED'> {
    if (this.failNextSuspend) {
      this.failNextSuspend = false;
      throw new Error('crash before containment');
    }
    this.suspendCalls.push(identityId);
    if (this.suspended.has(identityId)) return 'ALREADY_SUSPENDED';
    this.suspended.add(identityId);
    return 'SUSPENDED';
  }
  async reportKeyCompromise(): Promise<'REPORTED' | 'ALREADY_REPORTED'> {
    return 'REPORTED';
  }
  close(): void {
    return undefined;
  }
}

/** `n` refused Encrypt calls by `actor` within a few seconds: one refused-burst finding (high). */
export function refusedCalls(n: number, actor: string, start = new Date('2026-03-02T09:00:00.000Z')): Array<Omit<PositionedAuditRecord, 'position' | 'requestId'>> {
  return Array.from({ length: n }, (_, i) => ({
    ...usage({ time: new Date(start.getTime() + i * 100), actor, operation: 'Encrypt', outcome: 'DENIED', errorCode: 'PERMISSION_DENIED' }),
  }));
}

/** A detector over in-memory doubles (shared across "restarts" by passing the same doubles). */
export function memoryDetector(
  config: AnomalyRulesConfig,
  parts: { feed: MemoryAuditFeed; events: InMemoryEventStore; state: MemoryStateStore; containment: RecordingContainment },
  overrides: Partial<AnomalyDetectorDeps> = {},
): AnomalyDetectorService {
  return new AnomalyDetectorService(config, {
    ...parts,
    uses: parts.feed,
    publisher: null,
    selfIdentityId: 'wl-detector',
    source: 'urn:kms:test',
    batchSize: 100,
    pollMs: 60_000,
    now: () => new Date('2026-03-02T09:05:00.000Z'),
    log: () => undefined,
    ...overrides,
  });
}
