import type { FactRecheck } from '../facts/key-facts.projection';
import type { AnomalyFinding, UsageRecord } from '../model/anomaly.model';
import { sourceIp } from '../network/ip-network';
import { breakGlassRule } from '../rules/break-glass.rule';
import { bulkAccessRule } from '../rules/bulk-access.rule';
import { offHoursRule } from '../rules/off-hours.rule';
import { refusedBurstRule } from '../rules/refused-burst.rule';
import { UNAUTHENTICATED_ACTOR, type RuleContext, type RuleResult, type SubjectState } from '../rules/rule-context';
import { spikeRule } from '../rules/spike.rule';
import { unexpectedOriginRule } from '../rules/unexpected-origin.rule';
import { versionStateRule } from '../rules/version-state.rule';

/** Reads a subject's current state ("identity:<id>", "key:<id>", "source:<ip>"). */
export type SubjectLookup = (subjectKey: string) => SubjectState | undefined;

/** The evaluation of one record: findings, and the subjects whose state changed. */
export interface Evaluation {
  findings: AnomalyFinding[];
  updates: Map<string, SubjectState>;
}

type Step = (s: SubjectState) => RuleResult;

function runSteps(key: string, lookup: SubjectLookup, steps: Step[], out: Evaluation): void {
  const before = lookup(key) ?? {};
  let s = before;
  for (const step of steps) {
    const r = step(s);
    s = r.subject;
    if (r.findings.length > 0) out.findings.push(...r.findings);
  }
  if (s !== before) out.updates.set(key, s);
}

/**
 * Evaluate every rule for one audit record. Pure: time is the record's own time, state comes from
 * `lookup` and goes out in `updates`, so a replay of the same records from the same state gives the
 * same findings with the same ids.
 */
export function evaluateRecord(r: UsageRecord, lookup: SubjectLookup, ctx: RuleContext): Evaluation {
  const out: Evaluation = { findings: [], updates: new Map() };
  const authenticated = r.actor !== UNAUTHENTICATED_ACTOR && r.actor !== '';
  if (authenticated) {
    const id = r.actor;
    const steps: Step[] = [
      (s) => versionStateRule(s, id, r, ctx),
      (s) => breakGlassRule(s, id, r, ctx),
      (s) => unexpectedOriginRule(s, id, r, ctx),
      (s) => offHoursRule(s, id, r, ctx),
      (s) => bulkAccessRule(s, id, r, ctx),
    ];
    if (ctx.config.refusedBurst.perIdentity) steps.push((s) => refusedBurstRule(s, 'identity', id, r, ctx));
    if (ctx.config.spike.perIdentity) steps.push((s) => spikeRule(s, 'identity', id, r, ctx));
    runSteps(`identity:${id}`, lookup, steps, out);
  }
  if (r.keyId !== undefined && ctx.config.spike.perKey) {
    const keyId = r.keyId;
    runSteps(`key:${keyId}`, lookup, [(s) => spikeRule(s, 'key', keyId, r, ctx)], out);
  }
  const ip = ctx.config.refusedBurst.perSource ? sourceIp(r.sourceAddress) : null;
  if (ip !== null) runSteps(`source:${ip}`, lookup, [(s) => refusedBurstRule(s, 'source', ip, r, ctx)], out);
  return out;
}

/**
 * Judge again, with the key facts known now, a record that was evaluated before a lifecycle fact
 * reached the detector (see recheckOf): only the rule the fact concerns runs, so counters (spikes,
 * bursts, bulk access) are not counted twice. The finding, if any, has the id a timely evaluation
 * would have given. Flagged windows never move back, so a late look at an old window does not
 * make a newer, already reported one reportable again.
 */
export function recheckRecord(r: UsageRecord, rule: FactRecheck['rule'], lookup: SubjectLookup, ctx: RuleContext): Evaluation {
  const out: Evaluation = { findings: [], updates: new Map() };
  if (r.actor === UNAUTHENTICATED_ACTOR || r.actor === '') return out;
  const key = `identity:${r.actor}`;
  const before = lookup(key) ?? {};
  const result = rule === 'version-state' ? versionStateRule(before, r.actor, r, ctx) : breakGlassRule(before, r.actor, r, ctx);
  if (result.findings.length === 0) return out;
  const flagged = { ...result.subject.flagged };
  for (const [scope, start] of Object.entries(before.flagged ?? {})) if ((flagged[scope] ?? -Infinity) < start) flagged[scope] = start;
  out.updates.set(key, { ...result.subject, flagged });
  out.findings.push(...result.findings);
  return out;
}

/** Evaluate a stream against an in-memory state (tests, benchmarks, replays). */
export function evaluateStream(records: Iterable<UsageRecord>, ctx: RuleContext, state = new Map<string, SubjectState>()): { findings: AnomalyFinding[]; state: Map<string, SubjectState> } {
  const findings: AnomalyFinding[] = [];
  const lookup: SubjectLookup = (k) => state.get(k);
  for (const r of records) {
    const e = evaluateRecord(r, lookup, ctx);
    for (const [k, v] of e.updates) state.set(k, v);
    findings.push(...e.findings);
  }
  return { findings, state };
}
