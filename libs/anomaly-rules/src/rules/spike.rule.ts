import { EMPTY_BASELINE, ewmaUpdate, ewmaUpdateZeros, spikeThreshold } from '../baseline/ewma';
import { isMalformedInput, OPERATION_CLASS, type UsageRecord } from '../model/anomaly.model';
import { alreadyFlagged, FLAG_HORIZON_MS, finding, markFlagged, windowStart, withId, type RuleContext, type RuleResult, type SpikeCounter, type SubjectState } from './rule-context';

/**
 * Spike: the subject's count of one operation class in the current bucket is above its own EWMA
 * baseline band. Judged while the bucket fills, so a burst is reported within the bucket, once.
 * Calls that failed on malformed input are not use and are not counted.
 */
export function spikeRule(subject: SubjectState, subjectKind: 'identity' | 'key', subjectId: string, r: UsageRecord, ctx: RuleContext): RuleResult {
  const cfg = ctx.config.spike;
  const cls = OPERATION_CLASS[r.operation];
  if (!cfg.enabled || cls === undefined || isMalformedInput(r)) return { subject, findings: [] };
  const size = cfg.bucketSeconds * 1000;
  const t = r.time.getTime();
  const b = windowStart(t, size);
  const fresh: SpikeCounter = { bucketStart: b, count: 0, ids: [], baseline: EMPTY_BASELINE, bucketSeconds: cfg.bucketSeconds };
  let c: SpikeCounter = subject.spike?.[cls] ?? fresh;
  // A reload changed the bucket size: a baseline of counts per old bucket says nothing about the new
  // ones (it would hide or invent spikes), so the subject warms up again in the new size.
  if (c.bucketSeconds !== undefined && c.bucketSeconds !== cfg.bucketSeconds) c = fresh;
  if (b > c.bucketStart) {
    // Close the finished bucket and every empty one since: quiet periods pull the mean down. A warm
    // baseline takes an anomalous bucket only up to its threshold, so a sustained burst cannot
    // teach the baseline that it is normal.
    const warm = c.baseline.samples >= cfg.warmupBuckets;
    const folded = warm ? Math.min(c.count, spikeThreshold(c.baseline, cfg.thresholds[cls])) : c.count;
    let baseline = ewmaUpdate(c.baseline, folded, cfg.alpha);
    const gap = (b - c.bucketStart) / size - 1;
    if (gap > 0) baseline = ewmaUpdateZeros(baseline, gap, cfg.alpha);
    c = { bucketStart: b, count: 0, ids: [], baseline, bucketSeconds: cfg.bucketSeconds };
  }
  // A record stamped before the current bucket (clock skew between writers) counts in the current one.
  c = { ...c, count: c.count + 1, ids: withId(c.ids, r.id, ctx.config.evidenceMaxRecordIds) };
  let next: SubjectState = { ...subject, spike: { ...subject.spike, [cls]: c } };
  const threshold = spikeThreshold(c.baseline, cfg.thresholds[cls]);
  const scope = `spike|${subjectKind}|${subjectId}|${cls}`;
  if (c.baseline.samples < cfg.warmupBuckets || c.count <= threshold || alreadyFlagged(next, scope, c.bucketStart)) return { subject: next, findings: [] };
  next = markFlagged(next, scope, c.bucketStart, FLAG_HORIZON_MS);
  return {
    subject: next,
    findings: [
      finding({
        rule: 'spike',
        scope,
        start: c.bucketStart,
        sizeMs: size,
        severity: cfg.severity,
        record: r,
        identityId: subjectKind === 'identity' ? subjectId : null,
        keyId: subjectKind === 'key' ? subjectId : (r.keyId ?? null),
        summary: `${subjectKind} ${subjectId}: ${c.count} ${cls} calls in ${cfg.bucketSeconds}s, baseline ${c.baseline.mean.toFixed(1)} (threshold ${threshold.toFixed(1)})`,
        evidence: {
          count: c.count,
          auditRecordIds: c.ids,
          facts: { subjectKind, operationClass: cls, baselineMean: round(c.baseline.mean), baselineStdDev: round(Math.sqrt(c.baseline.variance)), threshold: round(threshold), bucketSeconds: cfg.bucketSeconds },
        },
      }),
    ],
  };
}

const round = (x: number): number => Math.round(x * 100) / 100;
