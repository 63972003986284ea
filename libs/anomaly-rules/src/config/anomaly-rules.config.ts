import { OPERATION_CLASSES, RULE_NAMES, SEVERITIES, type OperationClass, type RuleName, type Severity } from '../model/anomaly.model';
import { isValidCidr } from '../network/ip-network';

/** Spike thresholds for one operation class: a bucket is anomalous above all three bounds. */
export interface SpikeThreshold {
  /** Standard deviations above the EWMA mean. */
  sigma: number;
  /** Multiple of the EWMA mean (guards against a near-zero variance on very regular traffic). */
  minRatio: number;
  /** Absolute floor per bucket, so a quiet identity doing a handful of calls is not a spike. */
  minCount: number;
}

/** A weekly schedule in a time zone: usual days (1 = Monday .. 7 = Sunday) and hours [start, end). */
export interface UsageSchedule {
  timeZone: string;
  days: number[];
  start: string;
  end: string;
}

/** Per-identity expectations, keyed by identity id (client_id). */
export interface IdentityProfile {
  /** Regions the identity may call from; any other region is a high-severity finding. */
  allowedRegions?: string[];
  /** Networks the identity may call from (CIDR); checked with allowedRegions (either matches). */
  allowedCidrs?: string[];
  schedule?: UsageSchedule;
}

export type ContainmentAction = 'suspend-identity' | 'report-key-compromise';

export interface AnomalyRulesConfig {
  spike: {
    enabled: boolean;
    bucketSeconds: number;
    /** EWMA smoothing factor per bucket. */
    alpha: number;
    /** Closed buckets a subject needs before it can spike (its baseline is learned meanwhile). */
    warmupBuckets: number;
    severity: Severity;
    perIdentity: boolean;
    perKey: boolean;
    thresholds: Record<OperationClass, SpikeThreshold>;
  };
  origin: {
    enabled: boolean;
    /** Network -> region map; the longest matching prefix wins. */
    networks: Array<{ cidr: string; region: string }>;
    /** Region of addresses matching no network. */
    defaultRegion: string;
    /** How long an identity's usual regions are learned (from its first call) before new ones are flagged. */
    learnSeconds: number;
    severity: Severity;
    unusualSeverity: Severity;
    dedupeSeconds: number;
  };
  offHours: { enabled: boolean; severity: Severity; dedupeSeconds: number };
  refusedBurst: { enabled: boolean; windowSeconds: number; threshold: number; perIdentity: boolean; perSource: boolean; severity: Severity };
  versionState: { enabled: boolean; severity: Severity; compromisedSeverity: Severity; dedupeSeconds: number };
  breakGlass: { enabled: boolean; severity: Severity; dedupeSeconds: number };
  bulkAccess: { enabled: boolean; windowSeconds: number; distinctKeys: number; severity: Severity };
  identities: Record<string, IdentityProfile>;
  /** What the detector does per severity. */
  containment: Record<Severity, ContainmentAction[]>;
  /** Identities never contained (break-glass operators, the detector itself is always exempt). */
  exemptIdentities: string[];
  evidenceMaxRecordIds: number;
}

/** Defaults: conservative thresholds that stay quiet on steady traffic with normal noise. */
export const DEFAULT_ANOMALY_RULES: AnomalyRulesConfig = {
  spike: {
    enabled: true,
    bucketSeconds: 60,
    alpha: 0.05,
    warmupBuckets: 60,
    severity: 'high',
    perIdentity: true,
    perKey: true,
    thresholds: {
      encrypt: { sigma: 6, minRatio: 4, minCount: 100 },
      decrypt: { sigma: 6, minRatio: 4, minCount: 100 },
      sign: { sigma: 6, minRatio: 4, minCount: 60 },
      mac: { sigma: 6, minRatio: 4, minCount: 100 },
      dataKey: { sigma: 6, minRatio: 4, minCount: 60 },
    },
  },
  origin: { enabled: true, networks: [], defaultRegion: 'unknown', learnSeconds: 86_400, severity: 'high', unusualSeverity: 'medium', dedupeSeconds: 3600 },
  offHours: { enabled: true, severity: 'medium', dedupeSeconds: 3600 },
  refusedBurst: { enabled: true, windowSeconds: 60, threshold: 20, perIdentity: true, perSource: true, severity: 'high' },
  versionState: { enabled: true, severity: 'medium', compromisedSeverity: 'high', dedupeSeconds: 300 },
  breakGlass: { enabled: true, severity: 'medium', dedupeSeconds: 300 },
  bulkAccess: { enabled: true, windowSeconds: 300, distinctKeys: 25, severity: 'high' },
  identities: {},
  containment: { critical: ['suspend-identity'], high: ['suspend-identity'], medium: [], low: [] },
  exemptIdentities: [],
  evidenceMaxRecordIds: 20,
};

/** A configuration file that does not validate; the message names the field. */
export class AnomalyConfigError extends Error {
  override readonly name = 'AnomalyConfigError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function obj(v: unknown, field: string): Json {
  if (v === undefined) return {};
  if (!isObject(v)) throw new AnomalyConfigError(field, 'must be an object');
  return v;
}
function bool(v: unknown, d: boolean, field: string): boolean {
  if (v === undefined) return d;
  if (typeof v !== 'boolean') throw new AnomalyConfigError(field, 'must be true or false');
  return v;
}
function num(v: unknown, d: number, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return d;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw new AnomalyConfigError(field, `must be a number in [${min}, ${max}]`);
  return v;
}
function str(v: unknown, d: string, field: string): string {
  if (v === undefined) return d;
  if (typeof v !== 'string' || v.length === 0) throw new AnomalyConfigError(field, 'must be a non-empty string');
  return v;
}
function severity(v: unknown, d: Severity, field: string): Severity {
  if (v === undefined) return d;
  if (!(SEVERITIES as readonly unknown[]).includes(v)) throw new AnomalyConfigError(field, `must be one of ${SEVERITIES.join(', ')}`);
  return v as Severity;
}
function strings(v: unknown, d: string[], field: string): string[] {
  if (v === undefined) return d;
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw new AnomalyConfigError(field, 'must be an array of strings');
  return v as string[];
}
function knownKeys(o: Json, allowed: readonly string[], field: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw new AnomalyConfigError(`${field}.${k}`, 'unknown setting');
}

const TIME = /^([01]\d|2[0-3]):[0-5]\d$|^24:00$/;

function schedule(v: unknown, field: string): UsageSchedule {
  const o = obj(v, field);
  knownKeys(o, ['timeZone', 'days', 'start', 'end'], field);
  const timeZone = str(o['timeZone'], 'UTC', `${field}.timeZone`);
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    throw new AnomalyConfigError(`${field}.timeZone`, `unknown time zone "${timeZone}"`);
  }
  const daysRaw = o['days'] ?? [1, 2, 3, 4, 5];
  if (!Array.isArray(daysRaw) || daysRaw.some((d) => typeof d !== 'number' || !Number.isInteger(d) || d < 1 || d > 7)) {
    throw new AnomalyConfigError(`${field}.days`, 'must be day numbers 1 (Monday) to 7 (Sunday)');
  }
  const start = str(o['start'], '08:00', `${field}.start`);
  const end = str(o['end'], '19:00', `${field}.end`);
  if (!TIME.test(start)) throw new AnomalyConfigError(`${field}.start`, 'must be HH:MM');
  if (!TIME.test(end)) throw new AnomalyConfigError(`${field}.end`, 'must be HH:MM');
  return { timeZone, days: daysRaw as number[], start, end };
}

/**
 * Validate a parsed configuration document (JSON) and fill in defaults. Unknown settings are
 * refused so a typo never silently leaves a default in place.
 */
export function parseAnomalyRulesConfig(input: unknown): AnomalyRulesConfig {
  const d = DEFAULT_ANOMALY_RULES;
  const root = obj(input, 'config');
  knownKeys(root, ['spike', 'origin', 'offHours', 'refusedBurst', 'versionState', 'breakGlass', 'bulkAccess', 'identities', 'containment', 'exemptIdentities', 'evidenceMaxRecordIds'], 'config');

  const s = obj(root['spike'], 'spike');
  knownKeys(s, ['enabled', 'bucketSeconds', 'alpha', 'warmupBuckets', 'severity', 'perIdentity', 'perKey', 'thresholds'], 'spike');
  const th = obj(s['thresholds'], 'spike.thresholds');
  knownKeys(th, OPERATION_CLASSES, 'spike.thresholds');
  const thresholds = Object.fromEntries(
    OPERATION_CLASSES.map((c) => {
      const t = obj(th[c], `spike.thresholds.${c}`);
      knownKeys(t, ['sigma', 'minRatio', 'minCount'], `spike.thresholds.${c}`);
      const def = d.spike.thresholds[c];
      return [c, { sigma: num(t['sigma'], def.sigma, `spike.thresholds.${c}.sigma`, 0), minRatio: num(t['minRatio'], def.minRatio, `spike.thresholds.${c}.minRatio`, 1), minCount: num(t['minCount'], def.minCount, `spike.thresholds.${c}.minCount`, 1) }];
    }),
  ) as Record<OperationClass, SpikeThreshold>;

  const o = obj(root['origin'], 'origin');
  knownKeys(o, ['enabled', 'networks', 'defaultRegion', 'learnSeconds', 'severity', 'unusualSeverity', 'dedupeSeconds'], 'origin');
  const networksRaw = o['networks'] ?? [];
  if (!Array.isArray(networksRaw)) throw new AnomalyConfigError('origin.networks', 'must be an array of {cidr, region}');
  const networks = networksRaw.map((n: unknown, i) => {
    const f = `origin.networks[${i}]`;
    const e = obj(n, f);
    knownKeys(e, ['cidr', 'region'], f);
    const cidr = str(e['cidr'], '', `${f}.cidr`);
    if (!isValidCidr(cidr)) throw new AnomalyConfigError(`${f}.cidr`, `"${cidr}" is not a CIDR block`);
    return { cidr, region: str(e['region'], '', `${f}.region`) };
  });

  const oh = obj(root['offHours'], 'offHours');
  knownKeys(oh, ['enabled', 'severity', 'dedupeSeconds'], 'offHours');
  const rb = obj(root['refusedBurst'], 'refusedBurst');
  knownKeys(rb, ['enabled', 'windowSeconds', 'threshold', 'perIdentity', 'perSource', 'severity'], 'refusedBurst');
  const vs = obj(root['versionState'], 'versionState');
  knownKeys(vs, ['enabled', 'severity', 'compromisedSeverity', 'dedupeSeconds'], 'versionState');
  const bg = obj(root['breakGlass'], 'breakGlass');
  knownKeys(bg, ['enabled', 'severity', 'dedupeSeconds'], 'breakGlass');
  const ba = obj(root['bulkAccess'], 'bulkAccess');
  knownKeys(ba, ['enabled', 'windowSeconds', 'distinctKeys', 'severity'], 'bulkAccess');

  const ids = obj(root['identities'], 'identities');
  const identities: Record<string, IdentityProfile> = {};
  for (const [id, raw] of Object.entries(ids)) {
    const f = `identities.${id}`;
    const p = obj(raw, f);
    knownKeys(p, ['allowedRegions', 'allowedCidrs', 'schedule'], f);
    const profile: IdentityProfile = {};
    if (p['allowedRegions'] !== undefined) profile.allowedRegions = strings(p['allowedRegions'], [], `${f}.allowedRegions`);
    if (p['allowedCidrs'] !== undefined) {
      profile.allowedCidrs = strings(p['allowedCidrs'], [], `${f}.allowedCidrs`);
      for (const c of profile.allowedCidrs) if (!isValidCidr(c)) throw new AnomalyConfigError(`${f}.allowedCidrs`, `"${c}" is not a CIDR block`);
    }
    if (p['schedule'] !== undefined) profile.schedule = schedule(p['schedule'], `${f}.schedule`);
    identities[id] = profile;
  }

  const c = obj(root['containment'], 'containment');
  knownKeys(c, SEVERITIES, 'containment');
  const containment = Object.fromEntries(
    SEVERITIES.map((sev) => {
      const actions = strings(c[sev], d.containment[sev], `containment.${sev}`);
      for (const a of actions) if (a !== 'suspend-identity' && a !== 'report-key-compromise') throw new AnomalyConfigError(`containment.${sev}`, `unknown action "${a}" (suspend-identity, report-key-compromise)`);
      return [sev, actions];
    }),
  ) as Record<Severity, ContainmentAction[]>;

  return {
    spike: {
      enabled: bool(s['enabled'], d.spike.enabled, 'spike.enabled'),
      bucketSeconds: num(s['bucketSeconds'], d.spike.bucketSeconds, 'spike.bucketSeconds', 1, 86_400),
      alpha: num(s['alpha'], d.spike.alpha, 'spike.alpha', 0.0001, 1),
      warmupBuckets: num(s['warmupBuckets'], d.spike.warmupBuckets, 'spike.warmupBuckets', 0),
      severity: severity(s['severity'], d.spike.severity, 'spike.severity'),
      perIdentity: bool(s['perIdentity'], d.spike.perIdentity, 'spike.perIdentity'),
      perKey: bool(s['perKey'], d.spike.perKey, 'spike.perKey'),
      thresholds,
    },
    origin: {
      enabled: bool(o['enabled'], d.origin.enabled, 'origin.enabled'),
      networks,
      defaultRegion: str(o['defaultRegion'], d.origin.defaultRegion, 'origin.defaultRegion'),
      learnSeconds: num(o['learnSeconds'], d.origin.learnSeconds, 'origin.learnSeconds', 0),
      severity: severity(o['severity'], d.origin.severity, 'origin.severity'),
      unusualSeverity: severity(o['unusualSeverity'], d.origin.unusualSeverity, 'origin.unusualSeverity'),
      dedupeSeconds: num(o['dedupeSeconds'], d.origin.dedupeSeconds, 'origin.dedupeSeconds', 1),
    },
    offHours: {
      enabled: bool(oh['enabled'], d.offHours.enabled, 'offHours.enabled'),
      severity: severity(oh['severity'], d.offHours.severity, 'offHours.severity'),
      dedupeSeconds: num(oh['dedupeSeconds'], d.offHours.dedupeSeconds, 'offHours.dedupeSeconds', 1),
    },
    refusedBurst: {
      enabled: bool(rb['enabled'], d.refusedBurst.enabled, 'refusedBurst.enabled'),
      windowSeconds: num(rb['windowSeconds'], d.refusedBurst.windowSeconds, 'refusedBurst.windowSeconds', 1),
      threshold: num(rb['threshold'], d.refusedBurst.threshold, 'refusedBurst.threshold', 1),
      perIdentity: bool(rb['perIdentity'], d.refusedBurst.perIdentity, 'refusedBurst.perIdentity'),
      perSource: bool(rb['perSource'], d.refusedBurst.perSource, 'refusedBurst.perSource'),
      severity: severity(rb['severity'], d.refusedBurst.severity, 'refusedBurst.severity'),
    },
    versionState: {
      enabled: bool(vs['enabled'], d.versionState.enabled, 'versionState.enabled'),
      severity: severity(vs['severity'], d.versionState.severity, 'versionState.severity'),
      compromisedSeverity: severity(vs['compromisedSeverity'], d.versionState.compromisedSeverity, 'versionState.compromisedSeverity'),
      dedupeSeconds: num(vs['dedupeSeconds'], d.versionState.dedupeSeconds, 'versionState.dedupeSeconds', 1),
    },
    breakGlass: {
      enabled: bool(bg['enabled'], d.breakGlass.enabled, 'breakGlass.enabled'),
      severity: severity(bg['severity'], d.breakGlass.severity, 'breakGlass.severity'),
      dedupeSeconds: num(bg['dedupeSeconds'], d.breakGlass.dedupeSeconds, 'breakGlass.dedupeSeconds', 1),
    },
    bulkAccess: {
      enabled: bool(ba['enabled'], d.bulkAccess.enabled, 'bulkAccess.enabled'),
      windowSeconds: num(ba['windowSeconds'], d.bulkAccess.windowSeconds, 'bulkAccess.windowSeconds', 1),
      distinctKeys: num(ba['distinctKeys'], d.bulkAccess.distinctKeys, 'bulkAccess.distinctKeys', 2),
      severity: severity(ba['severity'], d.bulkAccess.severity, 'bulkAccess.severity'),
    },
    identities,
    containment,
    exemptIdentities: strings(root['exemptIdentities'], d.exemptIdentities, 'exemptIdentities'),
    evidenceMaxRecordIds: num(root['evidenceMaxRecordIds'], d.evidenceMaxRecordIds, 'evidenceMaxRecordIds', 1, 1000),
  };
}

/** Rule names, re-exported for documentation and validation messages. */
export type { RuleName };
export { RULE_NAMES };
