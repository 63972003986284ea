import { buildKeyFacts, createRuleContext, evaluateStream, type AnomalyRulesConfig, type KeyFacts } from '../index';
import { MONDAY, spread, testConfig, usage } from '../testing';

const at = (iso: string) => new Date(iso);
const run = (records: Parameters<typeof evaluateStream>[0], config: AnomalyRulesConfig = testConfig(), facts: KeyFacts = new Map()) =>
  evaluateStream(records, createRuleContext(config, facts)).findings;

describe('unexpected origin rule', () => {
  const config = testConfig((c) => {
    c.origin.networks = [
      { cidr: '10.0.0.0/8', region: 'eu-west' },
      { cidr: '10.200.0.0/16', region: 'us-east' },
      { cidr: '2001:db8::/32', region: 'ap-south' },
    ];
    c.origin.learnSeconds = 3600;
    c.identities['wl-pinned'] = { allowedRegions: ['eu-west'] };
  });

  it('given an identity allowed only in eu-west, when it calls from a us-east network (longest prefix), then a high finding names the region', () => {
    const f = run([usage({ actor: 'wl-pinned', time: MONDAY, sourceAddress: 'ipv4:10.1.0.1:1' }), usage({ actor: 'wl-pinned', time: MONDAY, sourceAddress: 'ipv4:10.200.3.4:5' })], config);
    expect(f.map((x) => [x.rule, x.severity, x.evidence.facts['region'], x.source])).toEqual([['unexpected-origin', 'high', 'us-east', '10.200.3.4']]);
  });

  it('given an identity that learned eu-west for an hour, when it later calls from an IPv6 ap-south address, then a medium finding, once per dedupe window', () => {
    const learn = spread(60, MONDAY, 3_600_000, { sourceAddress: 'ipv4:10.9.9.9:1' });
    const later = [0, 1, 2].map((i) => usage({ time: new Date(MONDAY.getTime() + 2 * 3_600_000 + i * 1000), sourceAddress: 'ipv6:[2001:db8::7]:443' }));
    const f = run([...learn, ...later], config).filter((x) => x.rule === 'unexpected-origin');
    expect(f.map((x) => [x.severity, x.evidence.facts['region']])).toEqual([['medium', 'ap-south']]);
  });

  it('given calls only from the usual region, then nothing is reported', () => {
    const f = run(spread(500, MONDAY, 86_400_000, { sourceAddress: 'ipv4:10.3.3.3:9' }), config);
    expect(f.filter((x) => x.rule === 'unexpected-origin')).toEqual([]);
  });
});

describe('off-hours rule', () => {
  const config = testConfig((c) => {
    c.identities['wl-orders'] = { schedule: { timeZone: 'Europe/Paris', days: [1, 2, 3, 4, 5], start: '08:00', end: '19:00' } };
  });

  it('given a Monday-Friday 08:00-19:00 Paris schedule, when it calls at 07:30 Paris and on Saturday, then two findings', () => {
    const f = run(
      [
        usage({ time: at('2026-03-02T06:30:00Z') }), // 07:30 in Paris (CET)
        usage({ time: at('2026-03-02T10:00:00Z') }), // 11:00: inside
        usage({ time: at('2026-03-07T12:00:00Z') }), // Saturday
      ],
      config,
    ).filter((x) => x.rule === 'off-hours');
    expect(f.map((x) => x.evidence.auditRecordIds.length)).toEqual([1, 1]);
    expect(f.map((x) => x.evidence.facts['localDay'])).toEqual([1, 6]);
  });

  it('given an identity without a schedule, then night calls are not reported', () => {
    expect(run([usage({ actor: 'wl-other', time: at('2026-03-02T02:00:00Z') })], config)).toEqual([]);
  });
});

describe('refused burst rule', () => {
  const config = testConfig((c) => {
    c.refusedBurst.threshold = 5;
    c.refusedBurst.windowSeconds = 60;
  });

  it('given 5 permission denials by one identity in a minute, then one finding for the identity and one for its source', () => {
    const f = run(spread(6, MONDAY, 30_000, { outcome: 'DENIED', errorCode: 'PERMISSION_DENIED' }), config);
    expect(f.map((x) => [x.rule, x.identityId, x.source, x.evidence.count])).toEqual([
      ['refused-burst', 'wl-orders', null, 5],
      ['refused-burst', null, '10.1.2.3', 5],
    ]);
  });

  it('given unauthenticated calls from one source, then only the source is reported', () => {
    const f = run(spread(5, MONDAY, 30_000, { actor: 'unauthenticated', outcome: 'DENIED', errorCode: 'UNAUTHENTICATED', keyId: undefined }), config);
    expect(f.map((x) => [x.identityId, x.source])).toEqual([[null, '10.1.2.3']]);
  });

  it('given 4 refusals per minute for an hour, then nothing is reported', () => {
    const f = run(Array.from({ length: 60 }, (_, m) => spread(4, new Date(MONDAY.getTime() + m * 60_000), 60_000, { outcome: 'DENIED', errorCode: 'PERMISSION_DENIED' })).flat(), config);
    expect(f).toEqual([]);
  });
});

describe('version state rule', () => {
  const facts = buildKeyFacts([
    { type: 'KeyCreated', data: { keyId: 'key-payments', purpose: 'SERVICE_ENVELOPE' }, metadata: {} },
    { type: 'KeyVersionCompromised', data: { keyId: 'key-payments', version: 1 }, metadata: { occurredAt: '2026-03-02T12:00:00.000Z' } },
  ]);

  it.each(['KEY_VERSION_DISABLED', 'KEY_VERSION_DESTROY_SCHEDULED', 'KEY_VERSION_DESTROYED', 'KEY_VERSION_EXPIRED'])('given a refused use with %s, then a medium finding', (code) => {
    const f = run([usage({ time: MONDAY, outcome: 'FAILURE', errorCode: code, keyVersion: 2 })]);
    expect(f.map((x) => [x.rule, x.severity, x.keyVersion, x.evidence.facts['versionState']])).toEqual([['version-state', 'medium', 2, code]]);
  });

  it('given version 1 reported compromised at noon, when it decrypts before and after, then only the later use is a high finding', () => {
    const f = run([usage({ time: at('2026-03-02T11:00:00Z') }), usage({ time: at('2026-03-02T12:30:00Z') }), usage({ time: at('2026-03-02T12:31:00Z'), keyVersion: 2 })], testConfig(), facts);
    expect(f.map((x) => [x.severity, x.keyVersion, x.window.start])).toEqual([['high', 1, '2026-03-02T12:30:00.000Z']]);
  });
});

describe('break-glass rule', () => {
  const facts = buildKeyFacts([{ type: 'KeyCreated', data: { keyId: 'key-bg', purpose: 'BREAK_GLASS' }, metadata: {} }]);

  it('given a break-glass key, when anyone uses it, then a finding even for a single refused call; reads of it are not use', () => {
    const f = run([usage({ time: MONDAY, keyId: 'key-bg', outcome: 'DENIED', errorCode: 'PERMISSION_DENIED' }), usage({ time: MONDAY, keyId: 'key-bg', operation: 'GetKey' })], testConfig(), facts);
    expect(f.map((x) => [x.rule, x.keyId, x.evidence.facts['outcome']])).toEqual([['break-glass', 'key-bg', 'DENIED']]);
  });

  it('given an ordinary key, then its use is not reported', () => {
    expect(run([usage({ time: MONDAY })], testConfig(), facts)).toEqual([]);
  });
});

describe('bulk access rule', () => {
  const config = testConfig((c) => {
    c.bulkAccess.distinctKeys = 10;
    c.bulkAccess.windowSeconds = 300;
  });

  it('given one identity decrypting with 10 distinct keys in 5 minutes, then one high finding listing the keys', () => {
    const records = Array.from({ length: 30 }, (_, i) => usage({ time: new Date(MONDAY.getTime() + i * 5000), keyId: `key-${i % 12}` }));
    const f = run(records, config);
    expect(f.map((x) => [x.rule, x.severity, x.evidence.count])).toEqual([['bulk-access', 'high', 10]]);
  });

  it('given 9 keys used over and over, then nothing is reported', () => {
    const records = Array.from({ length: 300 }, (_, i) => usage({ time: new Date(MONDAY.getTime() + i * 1000), keyId: `key-${i % 9}` }));
    expect(run(records, config)).toEqual([]);
  });
});
