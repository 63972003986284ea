import { isKeyUse, type UsageRecord } from '../model/anomaly.model';
import { alreadyFlagged, FLAG_HORIZON_MS, finding, markFlagged, windowStart, type RuleContext, type RuleResult, type SubjectState } from './rule-context';

/** Error codes the key service answers when a version is not usable. */
export const REFUSED_VERSION_CODES = new Set(['KEY_VERSION_DISABLED', 'KEY_VERSION_DESTROY_SCHEDULED', 'KEY_VERSION_DESTROYED', 'KEY_VERSION_EXPIRED']);

/**
 * Version state: an attempt to use a disabled, destroy-scheduled, destroyed or expired imported version (the key
 * service refused it), or any use of a version reported compromised at or before the call (still
 * allowed for decryption, so only the lifecycle events reveal it).
 */
export function versionStateRule(subject: SubjectState, identityId: string, r: UsageRecord, ctx: RuleContext): RuleResult {
  const cfg = ctx.config.versionState;
  if (!cfg.enabled || r.keyId === undefined) return { subject, findings: [] };
  const refused = r.errorCode !== undefined && REFUSED_VERSION_CODES.has(r.errorCode);
  const compromisedAt = r.keyVersion !== undefined ? ctx.facts.get(r.keyId)?.compromisedAt[r.keyVersion] : undefined;
  const compromised = !refused && isKeyUse(r.operation) && compromisedAt !== undefined && compromisedAt <= r.time.getTime();
  if (!refused && !compromised) return { subject, findings: [] };
  const state = refused ? (r.errorCode ?? '') : 'KEY_VERSION_COMPROMISED';
  const size = cfg.dedupeSeconds * 1000;
  const w = windowStart(r.time.getTime(), size);
  const scope = `version|${identityId}|${r.keyId}|${r.keyVersion ?? '-'}|${state}`;
  if (alreadyFlagged(subject, scope, w)) return { subject, findings: [] };
  return {
    subject: markFlagged(subject, scope, w, FLAG_HORIZON_MS),
    findings: [
      finding({
        rule: 'version-state',
        scope,
        start: w,
        sizeMs: size,
        severity: compromised ? cfg.compromisedSeverity : cfg.severity,
        record: r,
        identityId,
        keyId: r.keyId,
        keyVersion: r.keyVersion ?? null,
        summary: `identity ${identityId} ${r.operation} on ${r.keyId} v${r.keyVersion ?? '?'}: ${state}`,
        evidence: { count: 1, auditRecordIds: [r.id], facts: { versionState: state, outcome: r.outcome } },
      }),
    ],
  };
}
