import { KmsError } from '../errors/kms-error';
import { foldWith } from '../events/decider';
import type { CommandMetadata } from '../key/key.commands';
import { chooseJurisdiction, parseEnvironmentKind, parseJurisdiction, type Jurisdiction } from './jurisdiction';
import { hsmTimelineDecider, type HsmDeclaration, type HsmIdentity } from './hsm-timeline.decider';
import { decideCrossing, residencyRulesDecider, type ResidencyEvent } from './residency-rules.decider';

const j = (s: string) => s as Jurisdiction;
const meta = (over: Partial<CommandMetadata> = {}): CommandMetadata => ({ now: new Date('2026-01-02T03:04:05Z'), actor: 'alice', correlationId: 'c-1', changeTicket: 'CHG-1', approvers: ['bob'], ...over });

function thrown(fn: () => unknown): KmsError {
  try {
    fn();
  } catch (e) {
    if (e instanceof KmsError) return e;
    throw e;
  }
  throw new Error('did not throw');
}

describe('jurisdictions', () => {
  it('accepts ISO 3166-1 alpha-2 codes and named regions, lowercased', () => {
    expect(parseJurisdiction('DE', 'jurisdiction')).toBe('de');
    expect(parseJurisdiction('eu-sovereign', 'jurisdiction')).toBe('eu-sovereign');
  });

  it.each(['', 'e', 'eu_sovereign', 'eu--x', '-eu', 'ü'])('refuses %j naming the field', (value) => {
    const e = thrown(() => parseJurisdiction(value, 'jurisdiction'));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.field).toBe('jurisdiction');
  });

  it('requires a jurisdiction when more than one is configured, and only a configured one', () => {
    expect(chooseJurisdiction(undefined, [j('eu')])).toBe('eu');
    expect(thrown(() => chooseJurisdiction(undefined, [j('eu'), j('us')])).message).toContain('is required');
    expect(thrown(() => chooseJurisdiction('fr', [j('eu'), j('us')])).field).toBe('jurisdiction');
    expect(chooseJurisdiction('US', [j('eu'), j('us')])).toBe('us');
  });

  it('knows the three environment kinds', () => {
    expect(parseEnvironmentKind('sovereign', 'environment')).toBe('sovereign');
    expect(thrown(() => parseEnvironmentKind('cloud', 'environment')).field).toBe('environment');
  });
});

describe('residency rules', () => {
  const allow = { type: 'AllowResidencyCrossing' as const, data: { tenant: 'acme', from: 'eu', to: 'us' }, metadata: meta() };

  it('given no rule, when crossing eu -> us, then it is refused naming the destination', () => {
    const e = thrown(() => decideCrossing(residencyRulesDecider.initialState(), 'acme', j('eu'), j('us')));
    expect(e.code).toBe('PERMISSION_DENIED');
    expect(e.field).toBe('destination_key_id');
  });

  it('given an approved rule eu -> us, then that crossing is allowed and the reverse is not', () => {
    const events = residencyRulesDecider.decide(allow, residencyRulesDecider.initialState());
    expect(events.map((e) => e.type)).toEqual(['ResidencyCrossingAllowed']);
    const state = foldWith(residencyRulesDecider, events);
    expect(decideCrossing(state, 'acme', j('eu'), j('us'))).toEqual({ kind: 'allowed-crossing', from: 'eu', to: 'us' });
    expect(thrown(() => decideCrossing(state, 'acme', j('us'), j('eu'))).code).toBe('PERMISSION_DENIED');
    expect(decideCrossing(state, 'acme', j('us'), j('us'))).toEqual({ kind: 'same-jurisdiction' });
  });

  it('refuses a rule change without a second person', () => {
    expect(thrown(() => residencyRulesDecider.decide({ ...allow, metadata: meta({ approvers: [] }) }, residencyRulesDecider.initialState())).code).toBe('APPROVAL_REQUIRED');
    expect(thrown(() => residencyRulesDecider.decide({ ...allow, metadata: meta({ approvers: ['alice'] }) }, residencyRulesDecider.initialState())).code).toBe('APPROVAL_REQUIRED');
  });

  it('when a rule is revoked, the crossing is refused again', () => {
    const allowed: ResidencyEvent[] = residencyRulesDecider.decide(allow, residencyRulesDecider.initialState());
    const revoked = residencyRulesDecider.decide({ ...allow, type: 'RevokeResidencyCrossing' }, foldWith(residencyRulesDecider, allowed));
    expect(revoked.map((e) => e.type)).toEqual(['ResidencyCrossingRevoked']);
    expect(thrown(() => decideCrossing(foldWith(residencyRulesDecider, [...allowed, ...revoked]), 'acme', j('eu'), j('us'))).code).toBe('PERMISSION_DENIED');
  });
});

describe('HSM timeline', () => {
  const declaration: HsmDeclaration = { instanceId: 'hsm-eu', jurisdiction: j('eu'), provider: 'softhsm', environment: 'sovereign', certifications: ['FIPS 140-3 #0000'] };
  const identity: HsmIdentity = { manufacturer: 'SoftHSM project', model: 'SoftHSM v2', serialNumber: 'aa11', firmwareVersion: '2.6', hardwareVersion: '2.6', tokenLabel: 'kms-eu', libraryDescription: 'Implementation of PKCS11' };
  const observe = (id: HsmIdentity, d: HsmDeclaration = declaration) => ({ type: 'ObserveHsmIdentity' as const, data: { declaration: d, identity: id }, metadata: meta() });

  it('records the identity at first start and nothing when it is unchanged', () => {
    const first = hsmTimelineDecider.decide(observe(identity), hsmTimelineDecider.initialState());
    expect(first.map((e) => e.type)).toEqual(['HsmInstanceRegistered']);
    expect(hsmTimelineDecider.decide(observe(identity), foldWith(hsmTimelineDecider, first))).toEqual([]);
  });

  it('records a changed firmware and serial with before and after', () => {
    const state = foldWith(hsmTimelineDecider, hsmTimelineDecider.decide(observe(identity), hsmTimelineDecider.initialState()));
    const [changed] = hsmTimelineDecider.decide(observe({ ...identity, firmwareVersion: '2.7', serialNumber: 'bb22' }), state);
    expect(changed.type).toBe('HsmIdentityChanged');
    expect(changed.type === 'HsmIdentityChanged' && changed.data.changes).toEqual([
      { field: 'serialNumber', before: 'aa11', after: 'bb22' },
      { field: 'firmwareVersion', before: '2.6', after: '2.7' },
    ]);
  });

  it('records a changed declaration again', () => {
    const state = foldWith(hsmTimelineDecider, hsmTimelineDecider.decide(observe(identity), hsmTimelineDecider.initialState()));
    const events = hsmTimelineDecider.decide(observe(identity, { ...declaration, certifications: ['CC EAL4+ #1'] }), state);
    expect(events.map((e) => e.type)).toEqual(['HsmInstanceRegistered']);
  });
});
