import { AnomalyConfigError, DEFAULT_ANOMALY_RULES, parseAnomalyRulesConfig } from '../index';

describe('anomaly rules configuration', () => {
  it('given an empty document, then every default applies', () => {
    expect(parseAnomalyRulesConfig({})).toEqual(DEFAULT_ANOMALY_RULES);
  });

  it('given partial overrides, then they replace only their fields', () => {
    const c = parseAnomalyRulesConfig({ spike: { warmupBuckets: 3, thresholds: { sign: { sigma: 4 } } }, containment: { medium: ['report-key-compromise'] } });
    expect(c.spike.warmupBuckets).toBe(3);
    expect(c.spike.thresholds.sign).toEqual({ ...DEFAULT_ANOMALY_RULES.spike.thresholds.sign, sigma: 4 });
    expect(c.spike.thresholds.decrypt).toEqual(DEFAULT_ANOMALY_RULES.spike.thresholds.decrypt);
    expect(c.containment.medium).toEqual(['report-key-compromise']);
  });

  it.each([
    [{ spike: { alpha: 2 } }, 'spike.alpha'],
    [{ spike: { warmupBucket: 3 } }, 'spike.warmupBucket'],
    [{ origin: { networks: [{ cidr: '10.0.0.0/33', region: 'x' }] } }, 'origin.networks[0].cidr'],
    [{ identities: { w: { schedule: { timeZone: 'Mars/Olympus' } } } }, 'identities.w.schedule.timeZone'],
    [{ containment: { high: ['delete-everything'] } }, 'containment.high'],
    [{ breakGlass: { severity: 'urgent' } }, 'breakGlass.severity'],
  ])('given %j, then the error names %s', (doc, field) => {
    expect(() => parseAnomalyRulesConfig(doc)).toThrow(AnomalyConfigError);
    try {
      parseAnomalyRulesConfig(doc);
    } catch (e) {
      expect((e as AnomalyConfigError).field).toBe(field);
    }
  });
});
