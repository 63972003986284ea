import { createRuleContext, DEFAULT_ANOMALY_RULES, evaluateStream, isMalformedInput, isRefusal, type AnomalyFinding, type AnomalyRulesConfig, type UsageRecord } from '../index';
import { MONDAY, spread, testConfig, usage } from '../testing';

const MIN = 60_000;

/** Findings the detector would contain the identity for under this configuration. */
function suspending(findings: AnomalyFinding[], config: AnomalyRulesConfig): AnomalyFinding[] {
  return findings.filter((f) => f.identityId !== null && config.containment[f.severity].includes('suspend-identity'));
}

/** A key id as damaged bytes name it: a different one each time. */
function damagedKeyId(i: number): string {
  return `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
}

// The audit records the key service writes for Decrypt (crypto.service.ts, undecryptable()).
const damaged = (i: number, time: Date): UsageRecord => usage({ time, outcome: 'FAILURE', errorCode: 'INVALID_CIPHERTEXT', keyId: damagedKeyId(i) });
const forbidden = (time: Date): UsageRecord => usage({ time, outcome: 'DENIED', errorCode: 'INVALID_CIPHERTEXT', keyId: 'key-of-another-tenant' });

describe('malformed input and refusals', () => {
  it('tells malformed input (FAILURE with a bad-input code) from refusals (DENIED, whatever code was answered)', () => {
    const at = MONDAY;
    expect(isMalformedInput(damaged(1, at))).toBe(true);
    expect(isRefusal(damaged(1, at))).toBe(false);
    for (const code of ['INVALID_ARGUMENT', 'MALFORMED_REQUEST']) expect(isRefusal(usage({ time: at, outcome: 'FAILURE', errorCode: code }))).toBe(false);
    expect(isMalformedInput(forbidden(at))).toBe(false);
    expect(isRefusal(forbidden(at))).toBe(true);
    // A token lifetime refused as access (audited DENIED, answered INVALID_ARGUMENT) is a refusal.
    expect(isRefusal(usage({ time: at, operation: 'IssueToken', outcome: 'DENIED', errorCode: 'INVALID_ARGUMENT' }))).toBe(true);
    expect(isRefusal(usage({ time: at, outcome: 'DENIED', errorCode: 'NOT_A_DEPENDENT' }))).toBe(true);
  });

  describe('with the default rules and containment', () => {
    const config = testConfig();
    const ctx = createRuleContext(config, new Map());

    it('given a workload retrying damaged ciphertexts (200 in a minute, 100 distinct key ids), then nothing suspends it', () => {
      const records = Array.from({ length: 200 }, (_, i) => damaged(i % 100, new Date(MONDAY.getTime() + i * 250)));
      const { findings } = evaluateStream(records, ctx);
      expect(findings).toEqual([]);
      expect(suspending(findings, config)).toEqual([]);
    });

    it('given a burst of uses of a key it may not use (Decrypt of a foreign ciphertext, Encrypt naming the key), then a refused burst suspends it', () => {
      const records = [...spread(10, MONDAY, 30_000, { outcome: 'DENIED', errorCode: 'PERMISSION_DENIED', operation: 'Encrypt', keyId: 'key-of-another-tenant' })];
      for (let i = 0; i < 10; i++) records.push(forbidden(new Date(MONDAY.getTime() + 30_000 + i * 1000)));
      const { findings } = evaluateStream(records, ctx);
      const found = suspending(findings, config);
      expect(found.map((f) => [f.rule, f.identityId, f.severity, f.evidence.count, f.evidence.facts['lastErrorCode']])).toEqual([
        ['refused-burst', 'wl-orders', 'high', DEFAULT_ANOMALY_RULES.refusedBurst.threshold, 'INVALID_CIPHERTEXT'],
      ]);
    });

    it('given damaged ciphertexts mixed into a burst of forbidden uses, then only the forbidden ones are counted', () => {
      const records: UsageRecord[] = [];
      for (let i = 0; i < 19; i++) {
        records.push(forbidden(new Date(MONDAY.getTime() + i * 2000)));
        records.push(damaged(i, new Date(MONDAY.getTime() + i * 2000 + 1000)));
      }
      expect(evaluateStream(records, ctx).findings).toEqual([]);
      const { findings } = evaluateStream([...records, forbidden(new Date(MONDAY.getTime() + 50_000))], ctx);
      expect(findings.filter((f) => f.identityId !== null).map((f) => [f.rule, f.evidence.count])).toEqual([['refused-burst', 20]]);
    });
  });

  it('given a warm spike baseline, when damaged ciphertexts flood in, then no spike; the same volume of real decrypts spikes', () => {
    const config = testConfig((c) => {
      c.spike.warmupBuckets = 10;
      c.spike.thresholds.decrypt = { sigma: 6, minRatio: 4, minCount: 20 };
    });
    const ctx = createRuleContext(config, new Map());
    const steady = Array.from({ length: 30 }, (_, m) => spread(10, new Date(MONDAY.getTime() + m * MIN), MIN)).flat();
    const burstStart = MONDAY.getTime() + 30 * MIN;
    const flood = Array.from({ length: 200 }, (_, i) => usage({ time: new Date(burstStart + i * 250), outcome: 'FAILURE', errorCode: 'INVALID_CIPHERTEXT' }));
    expect(evaluateStream([...steady, ...flood], ctx).findings).toEqual([]);
    const real = spread(200, new Date(burstStart), 50_000);
    expect(suspending(evaluateStream([...steady, ...real], ctx).findings, config).map((f) => f.rule)).toEqual(['spike']);
  });
});
