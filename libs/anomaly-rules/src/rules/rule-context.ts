import { createHash } from 'node:crypto';
import type { EwmaBaseline } from '../baseline/ewma';
import type { AnomalyRulesConfig } from '../config/anomaly-rules.config';
import type { KeyFacts } from '../facts/key-facts.projection';
import type { AnomalyFinding, FindingEvidence, OperationClass, RuleName, Severity, UsageRecord } from '../model/anomaly.model';
import { RegionMap } from '../network/ip-network';

/** A per-bucket counter with its learned baseline (spike rule). */
export interface SpikeCounter {
  bucketStart: number;
  count: number;
  ids: string[];
  baseline: EwmaBaseline;
  /** Bucket size the baseline was learned in (absent in state written before it was recorded). */
  bucketSeconds?: number;
}

/** A count in a fixed window (refused bursts). */
export interface WindowCounter {
  windowStart: number;
  count: number;
  ids: string[];
}

/** Distinct keys in a fixed window (bulk access). */
export interface WindowKeys {
  windowStart: number;
  keys: string[];
  ids: string[];
}

/** Regions an identity was seen in while learning (unexpected origin). */
export interface OriginMemory {
  firstSeen: number;
  regions: string[];
}

/**
 * Everything the rules remember about one subject ("identity:<id>", "key:<id>", "source:<ip>").
 * Plain JSON so it can be stored per subject (PostgreSQL jsonb) next to the checkpoint.
 */
export interface SubjectState {
  spike?: Partial<Record<OperationClass, SpikeCounter>>;
  refused?: WindowCounter;
  bulk?: WindowKeys;
  origin?: OriginMemory;
  /** Finding scope -> window start already reported, so one window yields one finding. */
  flagged?: Record<string, number>;
}

/** What rules are evaluated against: configuration, key facts and derived lookups. */
export interface RuleContext {
  config: AnomalyRulesConfig;
  facts: KeyFacts;
  regions: RegionMap;
}

/** Build the context once per configuration (the region map is derived from it). */
export function createRuleContext(config: AnomalyRulesConfig, facts: KeyFacts): RuleContext {
  return { config, facts, regions: new RegionMap(config.origin.networks, config.origin.defaultRegion) };
}

/** A rule's answer for one subject and one record. */
export interface RuleResult {
  subject: SubjectState;
  findings: AnomalyFinding[];
}

/** The actor the key service records for calls without a valid token. */
export const UNAUTHENTICATED_ACTOR = 'unauthenticated';

/** Start of the fixed window of `sizeMs` holding `t`. */
export function windowStart(t: number, sizeMs: number): number {
  return Math.floor(t / sizeMs) * sizeMs;
}

/** A UUID derived from the finding's rule, scope and window: replays reproduce it exactly. */
export function findingId(rule: RuleName, scope: string, start: number): string {
  const h = createHash('sha256').update(`${rule}|${scope}|${start}`).digest();
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x80; // version 8 (custom), RFC 9562
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/** Whether this scope was already reported for this window. */
export function alreadyFlagged(s: SubjectState, scope: string, start: number): boolean {
  return s.flagged?.[scope] === start;
}

/** Remember a report; entries for older windows are dropped so the state stays small. */
export function markFlagged(s: SubjectState, scope: string, start: number, horizonMs: number): SubjectState {
  const flagged: Record<string, number> = { [scope]: start };
  for (const [k, v] of Object.entries(s.flagged ?? {})) if (k !== scope && v >= start - horizonMs) flagged[k] = v;
  return { ...s, flagged };
}

/** Assemble a finding with its deterministic id. */
export function finding(args: {
  rule: RuleName;
  scope: string;
  start: number;
  sizeMs: number;
  severity: Severity;
  record: UsageRecord;
  identityId: string | null;
  keyId?: string | null;
  keyVersion?: number | null;
  source?: string | null;
  summary: string;
  evidence: FindingEvidence;
}): AnomalyFinding {
  return {
    id: findingId(args.rule, args.scope, args.start),
    rule: args.rule,
    severity: args.severity,
    identityId: args.identityId,
    keyId: args.keyId ?? null,
    keyVersion: args.keyVersion ?? null,
    source: args.source ?? null,
    window: { start: new Date(args.start).toISOString(), end: new Date(args.start + args.sizeMs).toISOString() },
    summary: args.summary,
    evidence: args.evidence,
  };
}

/** Append an id to a capped evidence list (copy). */
export function withId(ids: readonly string[], id: string, max: number): string[] {
  return ids.length >= max ? [...ids] : [...ids, id];
}

/** One day: how long flagged windows are remembered. */
export const FLAG_HORIZON_MS = 86_400_000;
