import { KmsError } from '../errors/kms-error';
import { type PersonFactorsCommand, type PersonFactorsEvent, type PersonFactorsState, personFactorsDecider } from './person-factors.decider';

const person = '6f1c1b1e-2a5e-4c1f-9d59-0b7a4e4f7a11';
const t0 = new Date('2026-03-01T09:00:00.000Z');
const at = (minutes: number) => new Date(t0.getTime() + minutes * 60_000);
const metadata = (now: Date) => ({ now, actor: 'engineer', correlationId: 'c1' });
const credentialId = 'AAECAwQFBgcICQoLDA0ODw';
const fingerprint = 'ab'.repeat(32);

function given(events: PersonFactorsEvent[]): PersonFactorsState {
  return events.reduce(personFactorsDecider.evolve, personFactorsDecider.initialState());
}
function when(state: PersonFactorsState, command: PersonFactorsCommand): PersonFactorsEvent[] {
  return personFactorsDecider.decide(command, state);
}
function refusal(fn: () => unknown): KmsError {
  try {
    fn();
  } catch (e) {
    if (e instanceof KmsError) return e;
    throw e;
  }
  throw new Error('not refused');
}

const issued = (linkId: string, expiresAt = at(15)): PersonFactorsEvent[] =>
  when(given([]), { type: 'IssueEnrolmentLink', data: { identityId: person, linkId, expiresAt }, metadata: metadata(t0) });

describe('person factors decider', () => {
  it('given no factors, when a link is issued, then EnrolmentLinkIssued names the link and its expiry, never a secret', () => {
    expect(issued('l1')).toEqual([
      { type: 'EnrolmentLinkIssued', data: { identityId: person, linkId: 'l1', expiresAt: at(15).toISOString() }, metadata: { actor: 'engineer', correlationId: 'c1', occurredAt: t0.toISOString() } },
    ]);
  });

  it('given a re-issued link, the earlier one is refused', () => {
    const state = given([...issued('l1'), ...issued('l2')]);
    expect(refusal(() => when(state, { type: 'RedeemEnrolmentLink', data: { linkId: 'l1' }, metadata: metadata(at(1)) })).message).toMatch(/unknown or replaced/);
    expect(when(state, { type: 'RedeemEnrolmentLink', data: { linkId: 'l2' }, metadata: metadata(at(1)) })).toHaveLength(1);
  });

  it('given a link, it is refused once expired and once used', () => {
    const state = given(issued('l1'));
    expect(refusal(() => when(state, { type: 'RedeemEnrolmentLink', data: { linkId: 'l1' }, metadata: metadata(at(15)) })).message).toMatch(/expired/);
    const used = given([...issued('l1'), ...when(state, { type: 'RedeemEnrolmentLink', data: { linkId: 'l1' }, metadata: metadata(at(1)) })]);
    expect(refusal(() => when(used, { type: 'RedeemEnrolmentLink', data: { linkId: 'l1' }, metadata: metadata(at(2)) })).message).toMatch(/already used/);
  });

  it('a credential is enrolled with a redeemed link, then TOTP; no new link once a key exists', () => {
    const redeemed = [...issued('l1'), ...when(given(issued('l1')), { type: 'RedeemEnrolmentLink', data: { linkId: 'l1' }, metadata: metadata(at(1)) })];
    const enrolled = when(given(redeemed), { type: 'EnrolWebAuthnCredential', data: { identityId: person, credentialId, publicKeyFingerprint: fingerprint, via: 'enrolment-link' }, metadata: metadata(at(2)) });
    expect(enrolled[0]).toMatchObject({ type: 'WebAuthnCredentialEnrolled', data: { credentialId, publicKeyFingerprint: fingerprint, via: 'enrolment-link' } });
    const withKey = given([...redeemed, ...enrolled]);
    expect(when(withKey, { type: 'EnrolTotp', data: {}, metadata: metadata(at(3)) })).toEqual([expect.objectContaining({ type: 'TotpEnrolled' })]);
    expect(refusal(() => when(withKey, { type: 'IssueEnrolmentLink', data: { identityId: person, linkId: 'l9', expiresAt: at(30) }, metadata: metadata(at(3)) })).code).toBe('FACTORS_ALREADY_ENROLLED');
    expect(refusal(() => when(withKey, { type: 'EnrolWebAuthnCredential', data: { identityId: person, credentialId, publicKeyFingerprint: fingerprint, via: 'session' }, metadata: metadata(at(3)) })).field).toBe('response.id');
  });

  it('a credential without a redeemed link, or TOTP without a key, is refused', () => {
    expect(refusal(() => when(given(issued('l1')), { type: 'EnrolWebAuthnCredential', data: { identityId: person, credentialId, publicKeyFingerprint: fingerprint, via: 'enrolment-link' }, metadata: metadata(at(1)) })).code).toBe('UNAUTHENTICATED');
    expect(refusal(() => when(given([]), { type: 'EnrolWebAuthnCredential', data: { identityId: person, credentialId, publicKeyFingerprint: fingerprint, via: 'session' }, metadata: metadata(at(1)) })).code).toBe('UNAUTHENTICATED');
    expect(refusal(() => when(given(issued('l1')), { type: 'EnrolTotp', data: {}, metadata: metadata(at(1)) })).code).toBe('UNAUTHENTICATED');
  });
  it('given a link asked for by erin and approved by frank, the key enrolled through it ties the person to both; a reset with a new link replaces them', () => {
    const byTwo = { now: t0, actor: 'erin', correlationId: 'c2', approvers: ['frank'], approvalId: 'ap-1', changeTicket: 'CHG-1' };
    const link = when(given([]), { type: 'IssueEnrolmentLink', data: { identityId: person, linkId: 'l1', expiresAt: at(15) }, metadata: byTwo });
    expect(link[0].metadata).toMatchObject({ actor: 'erin', approvers: ['frank'], approvalId: 'ap-1', changeTicket: 'CHG-1' });
    const redeemed = [...link, ...when(given(link), { type: 'RedeemEnrolmentLink', data: { linkId: 'l1' }, metadata: metadata(at(1)) })];
    const enrolled = [...redeemed, ...when(given(redeemed), { type: 'EnrolWebAuthnCredential', data: { identityId: person, credentialId, publicKeyFingerprint: fingerprint, via: 'enrolment-link' }, metadata: metadata(at(2)) })];
    const withTotp = [...enrolled, ...when(given(enrolled), { type: 'EnrolTotp', data: {}, metadata: metadata(at(3)) })];
    expect(given(withTotp).enrolledThroughLinkOf).toEqual(['erin', 'frank']);

    // Lost key: a link with replaceFactors removes every key and the app first, in the same decision.
    const replaced = when(given(withTotp), { type: 'IssueEnrolmentLink', data: { identityId: person, linkId: 'l2', expiresAt: at(30), replaceFactors: true }, metadata: { ...byTwo, actor: 'gina', approvers: ['hank'], now: at(4) } });
    expect(replaced.map((e) => e.type)).toEqual(['PersonFactorsReset', 'EnrolmentLinkIssued']);
    expect(replaced[0].data).toEqual({ identityId: person, credentialIds: [credentialId], totpRemoved: true });
    const reset = given([...withTotp, ...replaced]);
    expect(reset).toMatchObject({ credentials: [], totpEnrolled: false, link: { linkId: 'l2', issuedBy: ['gina', 'hank'] } });
    const again = [...withTotp, ...replaced, ...when(reset, { type: 'RedeemEnrolmentLink', data: { linkId: 'l2' }, metadata: metadata(at(5)) })];
    const renewed = when(given(again), { type: 'EnrolWebAuthnCredential', data: { identityId: person, credentialId: 'BBECAwQFBgcICQoLDA0ODw', publicKeyFingerprint: fingerprint, via: 'enrolment-link' }, metadata: metadata(at(6)) });
    expect(given([...again, ...renewed]).enrolledThroughLinkOf).toEqual(['gina', 'hank']);
    // Without replaceFactors, nothing is removed and nothing issued.
    expect(refusal(() => when(given(withTotp), { type: 'IssueEnrolmentLink', data: { identityId: person, linkId: 'l3', expiresAt: at(30) }, metadata: metadata(at(4)) })).code).toBe('FACTORS_ALREADY_ENROLLED');
  });
});
