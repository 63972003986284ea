import { buildKeyFacts, createRuleContext, evaluateStream, recheckOf, recheckRecord, type LifecycleEvent, type SubjectState } from '../index';
import { testConfig, usage } from '../testing';

const created: LifecycleEvent = { type: 'KeyCreated', data: { keyId: 'key-payments', purpose: 'SERVICE_ENVELOPE' }, metadata: { occurredAt: '2026-03-02T08:00:00.000Z' } };
const compromised: LifecycleEvent = { type: 'KeyVersionCompromised', data: { keyId: 'key-payments', version: 1 }, metadata: { occurredAt: '2026-03-02T12:00:00.000Z' } };
const config = testConfig();
const known = createRuleContext(config, buildKeyFacts([created, compromised]));
const unknown = createRuleContext(config, buildKeyFacts([created]));

describe('recheckOf', () => {
  it('asks for uses of the version from the compromise on, for any use of a break-glass key, and for nothing else', () => {
    expect(recheckOf(compromised)).toEqual({ rule: 'version-state', keyId: 'key-payments', version: 1, from: Date.parse('2026-03-02T12:00:00.000Z') });
    expect(recheckOf({ type: 'KeyCreated', data: { keyId: 'key-bg', purpose: 'BREAK_GLASS' }, metadata: { occurredAt: '2026-03-02T08:00:00.000Z' } })).toEqual({ rule: 'break-glass', keyId: 'key-bg', version: null, from: 0 });
    expect(recheckOf(created)).toBeNull();
    expect(recheckOf({ type: 'KeyVersionDisabled', data: { keyId: 'key-payments', version: 1 }, metadata: { occurredAt: '2026-03-02T12:00:00.000Z' } })).toBeNull();
    expect(recheckOf({ type: 'KeyVersionCompromised', data: { keyId: 'key-payments', version: 1 }, metadata: {} })).toBeNull();
  });
});

describe('recheckRecord', () => {
  it('given a use judged before the compromise was known, when judged again with it, then the finding has the id a timely evaluation gives, and only that rule ran', () => {
    const use = usage({ time: new Date('2026-03-02T12:30:00.000Z'), keyVersion: 1 });
    const late = evaluateStream([use], unknown);
    expect(late.findings).toEqual([]);
    const timely = evaluateStream([use], known).findings;
    const again = recheckRecord(use, 'version-state', (k) => late.state.get(k), known);
    expect(again.findings).toEqual(timely);
    // Only the identity's flagged windows change: spike counters and other subjects are untouched.
    const before = late.state.get('identity:wl-orders') as SubjectState;
    const after = again.updates.get('identity:wl-orders') as SubjectState;
    expect([...again.updates.keys()]).toEqual(['identity:wl-orders']);
    expect({ ...after, flagged: undefined }).toEqual({ ...before, flagged: undefined });
  });

  it('given a newer window of the same scope was already reported, when an older use is judged again, then it is reported and the newer window stays reported', () => {
    const older = usage({ time: new Date('2026-03-02T12:30:00.000Z'), keyVersion: 1 });
    const newer = usage({ time: new Date('2026-03-02T12:40:00.000Z'), keyVersion: 1 });
    const { state, findings } = evaluateStream([newer], known);
    expect(findings).toHaveLength(1);
    const again = recheckRecord(older, 'version-state', (k) => state.get(k), known);
    expect(again.findings.map((f) => f.window.start)).toEqual(['2026-03-02T12:30:00.000Z']);
    const next = new Map([...state, ...again.updates]);
    expect(evaluateStream([usage({ time: new Date('2026-03-02T12:41:00.000Z'), keyVersion: 1 })], known, next).findings).toEqual([]);
  });

  it('given a record of another version, or of an unauthenticated caller, then nothing', () => {
    expect(recheckRecord(usage({ time: new Date('2026-03-02T12:30:00.000Z'), keyVersion: 2 }), 'version-state', () => undefined, known)).toEqual({ findings: [], updates: new Map() });
    expect(recheckRecord(usage({ time: new Date('2026-03-02T12:30:00.000Z'), keyVersion: 1, actor: 'unauthenticated' }), 'version-state', () => undefined, known).findings).toEqual([]);
  });
});
