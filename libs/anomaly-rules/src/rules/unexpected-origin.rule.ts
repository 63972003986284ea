import type { UsageRecord } from '../model/anomaly.model';
import { cidrContains, parseCidr, parseIp, sourceIp } from '../network/ip-network';
import { alreadyFlagged, FLAG_HORIZON_MS, finding, markFlagged, windowStart, type RuleContext, type RuleResult, type SubjectState } from './rule-context';

/**
 * Unexpected origin: the caller's region (from the network map) or network is outside the identity's
 * configured allowed set (high), or, without one, outside the regions it used while learning (medium).
 */
export function unexpectedOriginRule(subject: SubjectState, identityId: string, r: UsageRecord, ctx: RuleContext): RuleResult {
  const cfg = ctx.config.origin;
  const ip = sourceIp(r.sourceAddress);
  if (!cfg.enabled || ip === null) return { subject, findings: [] };
  const region = ctx.regions.regionOf(ip);
  const t = r.time.getTime();
  const profile = Object.hasOwn(ctx.config.identities, identityId) ? ctx.config.identities[identityId] : undefined;
  const configured = profile?.allowedRegions !== undefined || profile?.allowedCidrs !== undefined;
  let severity = cfg.severity;
  let next = subject;
  if (configured) {
    const parsed = parseIp(ip);
    const inRegion = profile?.allowedRegions?.includes(region) ?? false;
    const inCidr = parsed !== null && (profile?.allowedCidrs ?? []).some((c) => {
      const block = parseCidr(c);
      return block !== null && cidrContains(block, parsed);
    });
    if (inRegion || inCidr) return { subject, findings: [] };
  } else {
    const memory = subject.origin ?? { firstSeen: t, regions: [] };
    if (t - memory.firstSeen < cfg.learnSeconds * 1000) {
      if (memory.regions.includes(region) && subject.origin) return { subject, findings: [] };
      return { subject: { ...subject, origin: { firstSeen: memory.firstSeen, regions: memory.regions.includes(region) ? memory.regions : [...memory.regions, region] } }, findings: [] };
    }
    if (memory.regions.includes(region)) return { subject, findings: [] };
    next = { ...subject, origin: memory };
    severity = cfg.unusualSeverity;
  }
  const size = cfg.dedupeSeconds * 1000;
  const w = windowStart(t, size);
  const scope = `origin|identity|${identityId}|${region}`;
  if (alreadyFlagged(next, scope, w)) return { subject: next, findings: [] };
  next = markFlagged(next, scope, w, FLAG_HORIZON_MS);
  return {
    subject: next,
    findings: [
      finding({
        rule: 'unexpected-origin',
        scope,
        start: w,
        sizeMs: size,
        severity,
        record: r,
        identityId,
        keyId: r.keyId ?? null,
        source: ip,
        summary: `identity ${identityId} called ${r.operation} from ${ip} (region ${region}), ${configured ? 'outside its allowed networks' : 'not among its usual regions'}`,
        evidence: { count: 1, auditRecordIds: [r.id], facts: { region, ip, allowedSet: configured, usualRegions: (subject.origin?.regions ?? []).join(',') } },
      }),
    ],
  };
}
