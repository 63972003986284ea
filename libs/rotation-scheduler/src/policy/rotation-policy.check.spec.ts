import { DAY_MS } from '@kms/domain';
import { day, History } from '../testing/key-history.fixture';
import { foldScheduledKeys } from '../planner/scheduled-key.projection';
import { checkRotationPolicy, formatPolicyReport } from './rotation-policy.check';

const check = (h: History, at: number, graceMs = 0) => checkRotationPolicy(foldScheduledKeys(h.stored()).values(), new Date(day(at)), { graceMs });
const codes = (h: History, at: number, graceMs = 0) => check(h, at, graceMs).violations.map((v) => `${v.code} ${v.keyId}${v.version ? ` v${v.version}` : ''}`);

describe('rotation policy check', () => {
  it('given keys within their periods, then there is no violation and the summary says so', () => {
    const h = new History().created('a', 'SERVICE_ENVELOPE', 0).created('b', 'ROOT_TENANT', 0);
    const report = check(h, 60);
    expect(report).toMatchObject({ keys: 2, versions: 2, violations: [] });
    expect(formatPolicyReport(report)).toContain('2 keys, 2 versions: OK, no violations');
  });

  it('given a service envelope key not rotated for 61 days, then it is overdue; a grace period tolerates it', () => {
    const h = new History().created('a', 'SERVICE_ENVELOPE', 0);
    expect(codes(h, 61)).toEqual(['ROTATION_OVERDUE a v1']);
    expect(codes(h, 61, 2 * DAY_MS)).toEqual([]);
  });

  it('given a rotation period longer than the purpose allows, then it is reported and the purpose limit decides overdue', () => {
    const h = new History().created('bg', 'BREAK_GLASS', 0, 45);
    expect(codes(h, 10)).toEqual(['ROTATION_PERIOD_TOO_LONG bg']);
    expect(codes(h, 31)).toEqual(['ROTATION_PERIOD_TOO_LONG bg', 'ROTATION_OVERDUE bg v1']);
  });

  it('given a retired root version kept 366 days, then retention is exceeded; scheduled for destruction, it is not', () => {
    const h = new History().created('r', 'ROOT_TENANT', 0).rotated('r', 0).rotated('r', 80).rotated('r', 160).rotated('r', 240).rotated('r', 320);
    expect(codes(h, 366)).toEqual(['RETENTION_EXCEEDED r v1']);
    h.destructionScheduled('r', 1, 365, 30);
    expect(codes(h, 366)).toEqual([]);
    expect(codes(h, 396)).toEqual(['DESTRUCTION_OVERDUE r v1']);
    expect(codes(h, 446)).toEqual(['DESTRUCTION_OVERDUE r v1', 'RETENTION_EXCEEDED r v2', 'ROTATION_OVERDUE r v6']);
  });

  it('lists each violation on its own line naming key, tenant, purpose and version', () => {
    const text = formatPolicyReport(check(new History().created('a', 'SERVICE_ENVELOPE', 0), 70));
    expect(text).toMatch(/1 violation\(s\)\n {2}ROTATION_OVERDUE a \(acme\/a, SERVICE_ENVELOPE, v1\): primary v1 since .* is 10\.0 days overdue/);
  });
});
