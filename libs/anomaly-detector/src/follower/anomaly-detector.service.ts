import { randomUUID } from 'node:crypto';
import {
  createRuleContext,
  evaluateRecord,
  evolveKeyFact,
  recheckOf,
  recheckRecord,
  type AnomalyFinding,
  type AnomalyRulesConfig,
  type FactRecheck,
  type KeyFact,
  type RuleContext,
  type SubjectState,
} from '@kms/anomaly-rules';
import { type EventFollower, type EventStore, followEvents, WrongExpectedVersionError } from '@kms/event-store';
import type { AuditRecordFeed } from '@kms/persistence-postgres';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AnomalyPublisher } from '../publishing/anomaly-publisher.port';
import type { ContainmentGateway } from '../containment/containment.port';
import type { DetectorStateStore } from '../state/detector-state.store';
import type { KeyUseLookup } from '../audit/key-use-lookup.port';
import { rulesVersion, type RulesReloadTarget } from '../config/anomaly-detector.config';

/** Stream of one finding: the deterministic id makes a replayed finding collide instead of repeat. */
export const anomalyStreamId = (findingId: string): string => `anomaly-${findingId}`;

export interface AnomalyDetectorDeps {
  feed: AuditRecordFeed;
  /** Uses of a key by time, to judge again records evaluated before a lifecycle fact arrived. */
  uses: KeyUseLookup;
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
  /** Findings recorded (first time, not replays), by `rule|severity`. */
  findingsByRule: Map<string, number>;
  /** Audit head seen by the last batch or health check: lag = head - position. */
  head: bigint;
  /** Message of the last failed batch; null once a batch succeeds again. */
  lastError: string | null;
  /** Lifecycle facts that arrived after records they concern had been evaluated, checked again since start. */
  factRechecks: number;
  /** rulesVersion() of the rules in force. */
  rulesVersion: string;
  /** Reloads that put new rules in force, and reloads refused (bad file; the previous rules stayed). */
  rulesReloads: { applied: number; refused: number };
}

/** What the readiness check tolerates. */
export interface DetectorHealthOptions {
  /** Not ready when more than this many audit positions behind (default 10,000). */
  maxLagPositions?: number;
}

/** A lifecycle fact that reached the detector when records it concerns may already have been evaluated. */
interface LateFact extends FactRecheck {
  /** Its event store position. */
  eventPosition: bigint;
  /** Audit records at or before this position were evaluated without it. */
  evaluatedThrough: bigint;
}

/**
 * Follows the audit log from its checkpoint, evaluates the rules, records each finding as an
 * AnomalyDetected event (stream `anomaly-<id>`, expected version no_stream), publishes it, applies
 * containment (then AnomalyContained), and commits checkpoint and baselines together.
 *
 * Two feeds, one outcome. The audit log (polled) and the lifecycle events (subscription) are read
 * independently, so the audit record of a use may be evaluated before the detector has applied the
 * KeyVersionCompromised (or break-glass KeyCreated) event that makes the use an anomaly. Waiting
 * for the subscription to reach the event store head before each batch would narrow this but not
 * close it: a compromise committed just after the batch was read can still carry an earlier time
 * than the use. Instead, every such fact that arrives while records are already evaluated is
 * remembered with the audit position evaluated so far, and the next batch first judges those
 * records again with the fact known (only the rule the fact concerns; see recheckRecord). A timely
 * and a late evaluation give the same finding id, so either order yields the finding exactly once
 * (a second attempt collides on its stream). The checkpoint also stores the event position up to
 * which all facts are reflected in the committed records, so a fact that arrives and is not yet
 * checked again when the process stops is checked again after the restart.
 */
export class AnomalyDetectorService implements RulesReloadTarget {
  private ctx: RuleContext;
  private readonly facts = new Map<string, KeyFact>();
  private subjects = new Map<string, SubjectState>();
  private position = 0n;
  /** Last audit position whose records were evaluated (committed or not). */
  private evaluatedThrough = 0n;
  /** Last event store position the lifecycle subscription applied. */
  private appliedFacts = 0n;
  /** Event store position committed with the checkpoint (see DetectorCheckpoint.facts). */
  private factsCommitted = 0n;
  private lateFacts: LateFact[] = [];
  private factsFollower: EventFollower | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  readonly stats: DetectorStats = {
    recordsEvaluated: 0,
    findingsRecorded: 0,
    findingsReplayed: 0,
    containments: 0,
    position: 0n,
    findingsByRule: new Map(),
    head: 0n,
    lastError: null,
    factRechecks: 0,
    rulesVersion: '',
    rulesReloads: { applied: 0, refused: 0 },
  };

  constructor(
    private config: AnomalyRulesConfig,
    private readonly deps: AnomalyDetectorDeps,
  ) {
    this.ctx = createRuleContext(config, this.facts);
    this.stats.rulesVersion = rulesVersion(config);
  }

  /** rulesVersion() of the rules in force. */
  get rulesVersion(): string {
    return this.stats.rulesVersion;
  }

  /**
   * Swap the rules (reload); baselines are kept. Records are evaluated synchronously within a batch,
   * so a batch is judged wholly by the old or wholly by the new rules; the next batch uses the new ones.
   */
  reconfigure(config: AnomalyRulesConfig): void {
    this.config = config;
    this.ctx = createRuleContext(config, this.facts);
    this.stats.rulesVersion = rulesVersion(config);
    this.stats.rulesReloads.applied++;
  }

  /** Count a refused reload (the rules in force stay); shown on /metrics. */
  rulesRefused(_message: string): void {
    this.stats.rulesReloads.refused++;
  }

  /** Load checkpoint and baselines, follow lifecycle events for key facts, then poll the audit log. */
  async start(): Promise<void> {
    await this.reload();
    // In memory from the start on every boot; the checkpoint's `facts` says which of them still need a recheck.
    this.factsFollower = followEvents(this.deps.events, {
      name: 'anomaly-detector lifecycle facts',
      handle: (e) => {
        const keyId = e.data['keyId'];
        if (typeof keyId === 'string') {
          const next = evolveKeyFact(this.facts.get(keyId), e);
          if (next) this.facts.set(keyId, next);
          const recheck = e.globalPosition > this.factsCommitted && this.evaluatedThrough > 0n ? recheckOf(e) : null;
          if (recheck) this.lateFacts.push({ ...recheck, eventPosition: e.globalPosition, evaluatedThrough: this.evaluatedThrough });
        }
        this.appliedFacts = e.globalPosition;
      },
      onError: (err, { attempt }) => this.deps.log('error', `lifecycle subscription failed (attempt ${attempt}), following again after a pause: ${err.message}`),
    });
    await this.factsFollower.caughtUp();
    this.stopped = false;
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().then(
        (more) => {
          this.stats.lastError = null;
          this.schedule(more ? 0 : this.deps.pollMs);
        },
        async (e: unknown) => {
          this.stats.lastError = e instanceof Error ? e.message : String(e);
          this.deps.log('error', `evaluation failed, resuming from the checkpoint: ${e instanceof Error ? e.message : String(e)}`);
          await this.reload().catch(() => undefined);
          this.schedule(this.deps.pollMs);
        },
      );
    }, ms);
  }

  private async reload(): Promise<void> {
    const checkpoint = await this.deps.state.loadCheckpoint();
    this.position = checkpoint.audit;
    this.evaluatedThrough = checkpoint.audit;
    this.factsCommitted = checkpoint.facts;
    this.subjects = await this.deps.state.loadSubjects();
    this.stats.position = this.position;
  }

  /** One batch; true when more records are waiting. Public for tests and the benchmark. */
  async tick(): Promise<boolean> {
    // Facts that arrived late are dropped from the list only once their findings are committed.
    const rechecks = [...this.lateFacts];
    const records = await this.deps.feed.readAfter(this.position, this.deps.batchSize);
    if (records.length === 0 && rechecks.length === 0) {
      if (this.stats.head < this.position) this.stats.head = this.position;
      return false;
    }
    const updates = new Map<string, SubjectState>();
    const lookup = (k: string) => updates.get(k) ?? this.subjects.get(k);
    const findings = new Map<string, AnomalyFinding>();
    const add = (e: { findings: AnomalyFinding[]; updates: Map<string, SubjectState> }) => {
      for (const [k, v] of e.updates) updates.set(k, v);
      for (const f of e.findings) if (!findings.has(f.id)) findings.set(f.id, f);
    };
    // Records up to the checkpoint that were evaluated before a fact about their key was applied.
    // (Evaluated but uncommitted ones are evaluated again after a failure, with the fact known.)
    for (const late of rechecks) {
      const through = late.evaluatedThrough < this.position ? late.evaluatedThrough : this.position;
      for (let after = 0n; ; ) {
        const uses = await this.deps.uses.usesOf({ keyId: late.keyId, version: late.version, from: new Date(late.from), afterPosition: after, throughPosition: through, limit: this.deps.batchSize });
        for (const r of uses) if (r.actor !== this.deps.selfIdentityId) add(recheckRecord(r, late.rule, lookup, this.ctx));
        const lastUse = uses[uses.length - 1];
        if (uses.length < this.deps.batchSize || !lastUse) break;
        after = lastUse.position;
      }
    }
    // Evaluated synchronously: no lifecycle event is applied in the middle of the batch.
    const factsUsed = this.appliedFacts;
    for (const r of records) if (r.actor !== this.deps.selfIdentityId) add(evaluateRecord(r, lookup, this.ctx));
    const last = records[records.length - 1]?.position ?? this.position;
    this.evaluatedThrough = last;
    for (const f of findings.values()) await this.handle(f);
    // Every committed record now reflects every fact up to factsUsed, except facts still waiting
    // for their recheck (those that arrived during this batch).
    const waiting = this.lateFacts.filter((l) => !rechecks.includes(l));
    const facts = waiting.reduce((min, l) => (l.eventPosition - 1n < min ? l.eventPosition - 1n : min), factsUsed);
    await this.deps.state.commit({ audit: last, facts: facts > this.factsCommitted ? facts : this.factsCommitted }, updates);
    for (const [k, v] of updates) this.subjects.set(k, v);
    this.lateFacts = waiting;
    this.factsCommitted = facts > this.factsCommitted ? facts : this.factsCommitted;
    this.stats.factRechecks += rechecks.length;
    this.position = last;
    this.stats.position = last;
    this.stats.recordsEvaluated += records.length;
    // A batch call's row gives a record per item: more records than rows may still mean more rows.
    const more = records.length >= this.deps.batchSize;
    // Catching up: one head query per full batch keeps the lag metric current.
    this.stats.head = more ? await this.deps.feed.headPosition() : this.stats.head > last ? this.stats.head : last;
    return more;
  }

  private async handle(f: AnomalyFinding): Promise<void> {
    const stream = anomalyStreamId(f.id);
    const meta = { actor: this.deps.selfIdentityId ?? 'anomaly-detector', correlationId: f.id, occurredAt: this.deps.now().toISOString() };
    let contained = false;
    try {
      await this.deps.events.appendToStream(stream, [{ id: f.id, type: 'AnomalyDetected', data: { ...f }, metadata: meta }], { expectedVersion: 'no_stream' });
      this.stats.findingsRecorded++;
      const k = `${f.rule}|${f.severity}`;
      this.stats.findingsByRule.set(k, (this.stats.findingsByRule.get(k) ?? 0) + 1);
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

  /** Whether the follower is running (started and not stopped). */
  get isRunning(): boolean {
    return !this.stopped;
  }

  /**
   * Readiness of the follower: rejects when stopped, when the last batch failed, or when more than
   * `maxLagPositions` audit records are waiting. Refreshes `stats.head` from the feed.
   */
  async health(options: DetectorHealthOptions = {}): Promise<void> {
    if (this.stopped) throw new Error('follower is stopped');
    if (this.stats.lastError !== null) throw new Error(`last batch failed: ${this.stats.lastError}`);
    const facts = this.factsFollower?.status();
    if (facts?.lastError) throw new Error(`lifecycle events not followed: ${facts.lastError}`);
    const head = await this.deps.feed.headPosition();
    this.stats.head = head;
    const lag = head - this.stats.position;
    const max = BigInt(options.maxLagPositions ?? 10_000);
    if (lag > max) throw new Error(`${lag} audit records behind (more than ${max})`);
  }

  /**
   * Register the follower's Prometheus metrics in `registry`: records evaluated, findings by rule
   * and severity, replays, containments, checkpoint position and lag (head - position).
   */
  metrics(registry: Registry): void {
    const stats = this.stats;
    const counter = (name: string, help: string, value: () => number) =>
      new Counter({
        name,
        help,
        registers: [registry],
        collect() {
          this.reset();
          this.inc(value());
        },
      });
    counter('kms_anomaly_detector_records_evaluated_total', 'Audit records evaluated by the anomaly detector.', () => stats.recordsEvaluated);
    counter('kms_anomaly_detector_findings_replayed_total', 'Findings met again after a restart (already recorded).', () => stats.findingsReplayed);
    counter('kms_anomaly_detector_containments_total', 'Containment actions applied.', () => stats.containments);
    counter('kms_anomaly_detector_fact_rechecks_total', 'Lifecycle facts (compromise, break-glass key) that arrived after records they concern were evaluated, checked again.', () => stats.factRechecks);
    new Counter({
      name: 'kms_anomaly_detector_findings_total',
      help: 'Findings recorded as AnomalyDetected, by rule and severity.',
      labelNames: ['rule', 'severity'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [k, n] of stats.findingsByRule) {
          const [rule = '', severity = ''] = k.split('|');
          this.inc({ rule, severity }, n);
        }
      },
    });
    new Gauge({
      name: 'kms_anomaly_detector_position',
      help: 'Audit position of the committed checkpoint.',
      registers: [registry],
      collect() {
        this.set(Number(stats.position));
      },
    });
    new Gauge({
      name: 'kms_anomaly_detector_lag_positions',
      help: 'Audit records stored but not yet evaluated (head - checkpoint), as of the last batch or health check.',
      registers: [registry],
      collect() {
        const lag = stats.head - stats.position;
        this.set(Number(lag > 0n ? lag : 0n));
      },
    });
    new Gauge({
      name: 'kms_anomaly_detector_rules_info',
      help: 'The rules in force: 1 for their version (sha256 of the validated configuration, 16 hex digits).',
      labelNames: ['version'],
      registers: [registry],
      collect() {
        this.reset();
        this.set({ version: stats.rulesVersion }, 1);
      },
    });
    new Counter({
      name: 'kms_anomaly_detector_rules_reloads_total',
      help: 'Rules reloads (SIGHUP or file change) by outcome: applied, or refused because the file was invalid.',
      labelNames: ['outcome'],
      registers: [registry],
      collect() {
        this.reset();
        this.inc({ outcome: 'applied' }, stats.rulesReloads.applied);
        this.inc({ outcome: 'refused' }, stats.rulesReloads.refused);
      },
    });
    const running = () => this.isRunning;
    new Gauge({
      name: 'kms_anomaly_detector_up',
      help: '1 when the follower is running and its last batch succeeded.',
      registers: [registry],
      collect() {
        this.set(running() && stats.lastError === null ? 1 : 0);
      },
    });
  }

  /** Stop polling; resolves after the running batch. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
    await this.factsFollower?.stop();
  }
}
