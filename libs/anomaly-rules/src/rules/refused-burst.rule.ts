import { isMalformedInput, type UsageRecord } from '../model/anomaly.model';
import { alreadyFlagged, FLAG_HORIZON_MS, finding, markFlagged, windowStart, withId, type RuleContext, type RuleResult, type SubjectState, type WindowCounter } from './rule-context';

const REFUSAL_CODES = new Set(['UNAUTHENTICATED', 'PERMISSION_DENIED', 'NOT_A_DEPENDENT', 'SELF_APPROVAL']);

/**
 * Whether the key service refused the call for authentication or authorization (outcome DENIED,
 * whatever code it answered). Malformed input is not a refusal: it never counts towards a burst.
 */
export function isRefusal(r: UsageRecord): boolean {
  if (isMalformedInput(r)) return false;
  return r.outcome === 'DENIED' || (r.errorCode !== undefined && REFUSAL_CODES.has(r.errorCode));
}

/** Refused burst: at least `threshold` refused calls (malformed input excluded) by one identity or from one source in a window. */
export function refusedBurstRule(subject: SubjectState, subjectKind: 'identity' | 'source', subjectId: string, r: UsageRecord, ctx: RuleContext): RuleResult {
  const cfg = ctx.config.refusedBurst;
  if (!cfg.enabled || !isRefusal(r)) return { subject, findings: [] };
  const size = cfg.windowSeconds * 1000;
  const w = windowStart(r.time.getTime(), size);
  const prev = subject.refused && subject.refused.windowStart === w ? subject.refused : { windowStart: w, count: 0, ids: [] };
  const c: WindowCounter = { windowStart: w, count: prev.count + 1, ids: withId(prev.ids, r.id, ctx.config.evidenceMaxRecordIds) };
  let next: SubjectState = { ...subject, refused: c };
  const scope = `refused|${subjectKind}|${subjectId}`;
  if (c.count < cfg.threshold || alreadyFlagged(next, scope, w)) return { subject: next, findings: [] };
  next = markFlagged(next, scope, w, FLAG_HORIZON_MS);
  return {
    subject: next,
    findings: [
      finding({
        rule: 'refused-burst',
        scope,
        start: w,
        sizeMs: size,
        severity: cfg.severity,
        record: r,
        identityId: subjectKind === 'identity' ? subjectId : null,
        source: subjectKind === 'source' ? subjectId : null,
        summary: `${subjectKind} ${subjectId}: ${c.count} refused calls within ${cfg.windowSeconds}s`,
        evidence: { count: c.count, auditRecordIds: c.ids, facts: { subjectKind, windowSeconds: cfg.windowSeconds, threshold: cfg.threshold, lastErrorCode: r.errorCode ?? null } },
      }),
    ],
  };
}
