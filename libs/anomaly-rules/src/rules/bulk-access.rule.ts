import { isKeyUse, isMalformedInput, type UsageRecord } from '../model/anomaly.model';
import { alreadyFlagged, FLAG_HORIZON_MS, finding, markFlagged, windowStart, withId, type RuleContext, type RuleResult, type SubjectState, type WindowKeys } from './rule-context';

/**
 * Bulk export-like behaviour: one identity uses at least `distinctKeys` different keys in a window.
 * A call that failed on malformed input used no key (a damaged ciphertext names arbitrary key ids).
 */
export function bulkAccessRule(subject: SubjectState, identityId: string, r: UsageRecord, ctx: RuleContext): RuleResult {
  const cfg = ctx.config.bulkAccess;
  if (!cfg.enabled || r.keyId === undefined || !isKeyUse(r.operation) || isMalformedInput(r)) return { subject, findings: [] };
  const size = cfg.windowSeconds * 1000;
  const w = windowStart(r.time.getTime(), size);
  const prev = subject.bulk && subject.bulk.windowStart === w ? subject.bulk : { windowStart: w, keys: [], ids: [] };
  if (prev.keys.includes(r.keyId) || prev.keys.length >= cfg.distinctKeys) return { subject: { ...subject, bulk: prev }, findings: [] };
  const c: WindowKeys = { windowStart: w, keys: [...prev.keys, r.keyId], ids: withId(prev.ids, r.id, ctx.config.evidenceMaxRecordIds) };
  let next: SubjectState = { ...subject, bulk: c };
  const scope = `bulk|identity|${identityId}`;
  if (c.keys.length < cfg.distinctKeys || alreadyFlagged(next, scope, w)) return { subject: next, findings: [] };
  next = markFlagged(next, scope, w, FLAG_HORIZON_MS);
  return {
    subject: next,
    findings: [
      finding({
        rule: 'bulk-access',
        scope,
        start: w,
        sizeMs: size,
        severity: cfg.severity,
        record: r,
        identityId,
        summary: `identity ${identityId} used ${c.keys.length} distinct keys within ${cfg.windowSeconds}s`,
        evidence: { count: c.keys.length, auditRecordIds: c.ids, facts: { windowSeconds: cfg.windowSeconds, threshold: cfg.distinctKeys, keys: c.keys.slice(0, 50).join(',') } },
      }),
    ],
  };
}
