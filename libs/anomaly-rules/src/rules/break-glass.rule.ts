import { isKeyUse, type UsageRecord } from '../model/anomaly.model';
import { alreadyFlagged, FLAG_HORIZON_MS, finding, markFlagged, windowStart, type RuleContext, type RuleResult, type SubjectState } from './rule-context';

/** Break-glass: any use (or attempted use) of a BREAK_GLASS key is reported. */
export function breakGlassRule(subject: SubjectState, identityId: string, r: UsageRecord, ctx: RuleContext): RuleResult {
  const cfg = ctx.config.breakGlass;
  if (!cfg.enabled || r.keyId === undefined || !isKeyUse(r.operation) || ctx.facts.get(r.keyId)?.purpose !== 'BREAK_GLASS') return { subject, findings: [] };
  const size = cfg.dedupeSeconds * 1000;
  const w = windowStart(r.time.getTime(), size);
  const scope = `break-glass|${identityId}|${r.keyId}`;
  if (alreadyFlagged(subject, scope, w)) return { subject, findings: [] };
  return {
    subject: markFlagged(subject, scope, w, FLAG_HORIZON_MS),
    findings: [
      finding({
        rule: 'break-glass',
        scope,
        start: w,
        sizeMs: size,
        severity: cfg.severity,
        record: r,
        identityId,
        keyId: r.keyId,
        keyVersion: r.keyVersion ?? null,
        summary: `identity ${identityId} used break-glass key ${r.keyId} (${r.operation}, ${r.outcome})`,
        evidence: { count: 1, auditRecordIds: [r.id], facts: { operation: r.operation, outcome: r.outcome } },
      }),
    ],
  };
}
