import { randomUUID } from 'node:crypto';
import { createRuleContext, evaluateRecord, evolveKeyFact, type AnomalyFinding, type AnomalyRulesConfig, type KeyFact, type RuleContext, type SubjectState } from '@kms/anomaly-rules';
import { WrongExpectedVersionError, type EventStore, type EventSubscription } from '@kms/event-store';
import type { AuditRecordFeed } from '@kms/persistence-postgres';
import type { AnomalyPublisher } from '../publishing/anomaly-publisher.port';
import type { ContainmentGateway } from '../containment/containment.port';
import type { DetectorStateStore } from '../state/detector-state.store';

/** Stream of one finding: the deterministic id makes a replayed finding collide instead of repeat. */
export const anomalyStreamId = (findingId: string): string => `anomaly-${findingId}`;

export interface AnomalyDetectorDeps {
  feed: AuditRecordFeed;
  events: EventStore;
  state: DetectorStateStore;
  publisher: AnomalyPublisher | null;
  containment: ContainmentGateway | null;
  /** The detector's own identity: never contained, its calls never evaluated. */
  selfIdentityId: string | null;
  source: string;
  batchSize: number;
  pollMs: number;
  now: () => Date;
  log: (level: 'log' | 'warn' | 'error', message: string) => void;
}

/** Figures for /metrics and the benchmark. */
export interface DetectorStats {
  recordsEvaluated: number;
  findingsRecorded: number;
  findingsReplayed: number;
  containments: number;
  position: bigint;
}

/**
 * Follows the audit log from its checkpoint, evaluates the rules, records each finding as an
 * AnomalyDetected event (stream `anomaly-<id>`, expected version no_stream), publishes it, applies
 * containment (then AnomalyContained), and commits checkpoint and baselines together.
 */
export class AnomalyDetectorService {
  private ctx: RuleContext;
  private readonly facts = new Map<string, KeyFact>();
  private subjects = new Map<string, SubjectState>();
  private position = 0n;
  private factsSubscription: EventSubscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  readonly stats: DetectorStats = { recordsEvaluated: 0, findingsRecorded: 0, findingsReplayed: 0, containments: 0, position: 0n };

  constructor(
    private config: AnomalyRulesConfig,
    private readonly deps: AnomalyDetectorDeps,
  ) {
    this.ctx = createRuleContext(config, this.facts);
  }

  /** Swap the rules (reload); baselines are kept. */
  reconfigure(config: AnomalyRulesConfig): void {
    this.config = config;
    this.ctx = createRuleContext(config, this.facts);
  }

  /** Load checkpoint and baselines, follow lifecycle events for key facts, then poll the audit log. */
  async start(): Promise<void> {
    await this.reload();
    let caughtUp!: () => void;
    const ready = new Promise<void>((r) => (caughtUp = r));
    this.factsSubscription = this.deps.events.subscribeToAll(
      {},
      {
        onEvent: (e) => {
          const keyId = e.data['keyId'];
          if (typeof keyId !== 'string') return;
          const next = evolveKeyFact(this.facts.get(keyId), e);
          if (next) this.facts.set(keyId, next);
        },
        onCaughtUp: () => caughtUp(),
        onError: (err) => this.deps.log('error', `lifecycle subscription stopped: ${err.message}`),
      },
    );
    await ready;
    this.stopped = false;
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().then(
        (more) => this.schedule(more ? 0 : this.deps.pollMs),
        async (e: unknown) => {
          this.deps.log('error', `evaluation failed, resuming from the checkpoint: ${e instanceof Error ? e.message : String(e)}`);
          await this.reload().catch(() => undefined);
          this.schedule(this.deps.pollMs);
        },
      );
    }, ms);
  }

  private async reload(): Promise<void> {
    this.position = await this.deps.state.loadCheckpoint();
    this.subjects = await this.deps.state.loadSubjects();
    this.stats.position = this.position;
  }

  /** One batch; true when more records are waiting. Public for tests and the benchmark. */
  async tick(): Promise<boolean> {
    const records = await this.deps.feed.readAfter(this.position, this.deps.batchSize);
    if (records.length === 0) return false;
    const updates = new Map<string, SubjectState>();
    const lookup = (k: string) => updates.get(k) ?? this.subjects.get(k);
    const findings: AnomalyFinding[] = [];
    for (const r of records) {
      if (r.actor === this.deps.selfIdentityId) continue;
      const e = evaluateRecord(r, lookup, this.ctx);
      for (const [k, v] of e.updates) updates.set(k, v);
      findings.push(...e.findings);
    }
    for (const f of findings) await this.handle(f);
    const last = records[records.length - 1]?.position ?? this.position;
    await this.deps.state.commit(last, updates);
    for (const [k, v] of updates) this.subjects.set(k, v);
    this.position = last;
    this.stats.position = last;
    this.stats.recordsEvaluated += records.length;
    return records.length === this.deps.batchSize;
  }

  private async handle(f: AnomalyFinding): Promise<void> {
    const stream = anomalyStreamId(f.id);
    const meta = { actor: this.deps.selfIdentityId ?? 'anomaly-detector', correlationId: f.id, occurredAt: this.deps.now().toISOString() };
    let contained = false;
    try {
      await this.deps.events.appendToStream(stream, [{ id: f.id, type: 'AnomalyDetected', data: { ...f }, metadata: meta }], { expectedVersion: 'no_stream' });
      this.stats.findingsRecorded++;
      this.deps.log('warn', `AnomalyDetected ${f.rule} ${f.severity}: ${f.summary}`);
    } catch (e) {
      if (!(e instanceof WrongExpectedVersionError)) throw e;
      // A replay after a crash: already recorded. Finish what may not have happened.
      this.stats.findingsReplayed++;
      contained = (await this.deps.events.readStream(stream)).events.some((x) => x.type === 'AnomalyContained');
      if (contained) return;
    }
    if (this.deps.publisher) await this.deps.publisher.publish(f, this.deps.source);
    const actions = await this.contain(f);
    await this.deps.events.appendToStream(stream, [{ id: randomUUID(), type: 'AnomalyContained', data: { findingId: f.id, actions }, metadata: meta }], { expectedVersion: 0 }).catch((e: unknown) => {
      if (!(e instanceof WrongExpectedVersionError)) throw e;
    });
  }

  private async contain(f: AnomalyFinding): Promise<string[]> {
    const done: string[] = [];
    if (!this.deps.containment) return done;
    const exempt = new Set([...this.config.exemptIdentities, ...(this.deps.selfIdentityId ? [this.deps.selfIdentityId] : [])]);
    for (const action of this.config.containment[f.severity]) {
      const reason = `anomaly ${f.id}: ${f.rule} ${f.severity}`;
      if (action === 'suspend-identity' && f.identityId !== null && !exempt.has(f.identityId)) {
        done.push(`suspend-identity:${f.identityId}:${await this.deps.containment.suspendIdentity(f.identityId, reason)}`);
        this.stats.containments++;
      } else if (action === 'report-key-compromise' && f.keyId !== null) {
        done.push(`report-key-compromise:${f.keyId}:${await this.deps.containment.reportKeyCompromise(f.keyId, f.keyVersion, reason)}`);
        this.stats.containments++;
      }
    }
    return done;
  }

  /** Stop polling; resolves after the running batch. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
    await this.factsSubscription?.stop();
  }
}
