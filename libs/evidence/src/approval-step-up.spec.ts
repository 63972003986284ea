import { createHash } from 'node:crypto';
import { TestAuthenticator, type TestAuthenticatorAlgorithm } from '@kms/testing';
import { checkStepUpAssertion, coseAlgorithmOf, STEP_UP_SCHEME, type StepUpAssertion, type StepUpBinding, stepUpChallenge } from './approval-step-up';

const APPROVAL = '7d0c3c52-53c4-4d4e-9a0b-5b1f2f0e9a11';
const BOB = '2b9f1e3a-8c4d-4e5f-9a6b-7c8d9e0f1a2b';
const expected = { approvalId: APPROVAL, changeTicket: 'CHG-42', approver: BOB };
const binding: StepUpBinding = { approval_id: APPROVAL, change_ticket: 'CHG-42', decision: 'approve', identity_id: BOB, nonce: 'bm9uY2Utbm9uY2Utbm9uY2Utbm9uY2Utbm9uY2U' };

/** What the server stores after verifying a step-up: the authenticator's answer over the binding's challenge. */
function stepUpBy(key: TestAuthenticator, b: StepUpBinding = binding, tweaks: Parameters<TestAuthenticator['assert']>[1] = {}): StepUpAssertion {
  const r = key.assert({ challenge: stepUpChallenge(b) }, tweaks)['response'] as { authenticatorData: string; clientDataJSON: string; signature: string };
  return { scheme: STEP_UP_SCHEME, binding: b, credentialId: key.id, ...r, publicKey: key.coseKey().toString('base64url'), algorithm: coseAlgorithmOf(key.coseKey()), rpId: key.rpId };
}

const es256 = new TestAuthenticator('localhost', 'http://localhost:8080');

/** authenticatorData or clientDataJSON re-encoded after a change (the signature no longer covers it). */
function edit(field: 'authenticatorData' | 'clientDataJSON', s: StepUpAssertion, change: (b: Buffer) => Buffer): StepUpAssertion {
  return { ...s, [field]: change(Buffer.from(s[field], 'base64url')).toString('base64url') };
}

describe('approval step-up assertion, re-verified offline', () => {
  it.each<[TestAuthenticatorAlgorithm, number]>([
    ['ES256', -7],
    ['RS256', -257],
    ['EdDSA', -8],
  ])('given a %s key that signed the binding of this approval, then it verifies with what it carries', (alg, cose) => {
    const key = new TestAuthenticator('localhost', 'http://localhost:8080', alg);
    const s = stepUpBy(key);
    expect(s.algorithm).toBe(cose);
    expect(checkStepUpAssertion(s, expected)).toEqual({ problems: [], notes: [], algorithm: alg, rpId: 'localhost', origin: 'http://localhost:8080' });
  });

  it('given the challenge is SHA-256 of the binding fields in order, then it is what the server asked the key to sign', () => {
    const canonical = `{"approval_id":"${APPROVAL}","change_ticket":"CHG-42","decision":"approve","identity_id":"${BOB}","nonce":"${binding.nonce}"}`;
    expect(stepUpChallenge(binding)).toBe(createHash('sha256').update(canonical).digest('base64url'));
  });

  const other = new TestAuthenticator('localhost', 'http://localhost:8080');
  it.each<[string, () => StepUpAssertion, string]>([
    ['the signature', () => ({ ...stepUpBy(es256), signature: stepUpBy(es256, { ...binding, nonce: 'b3RoZXI' }).signature }), 'the signature does not verify'],
    ['the public key (another key)', () => ({ ...stepUpBy(es256), publicKey: other.coseKey().toString('base64url') }), 'the signature does not verify'],
    ['the public key (not COSE)', () => ({ ...stepUpBy(es256), publicKey: Buffer.from('not a key').toString('base64url') }), 'the public key is not a COSE key'],
    ['the algorithm', () => ({ ...stepUpBy(es256), algorithm: -257 }), "algorithm is -257, the COSE key's is -7"],
    ['the UV flag (cleared, signed)', () => stepUpBy(es256, binding, { withoutUserVerification: true }), 'the user-verified flag (UV) is not set'],
    ['the UV flag (cleared after signing)', () => edit('authenticatorData', stepUpBy(es256), (b) => (b[32] &= ~0x04, b)), 'the user-verified flag (UV) is not set'],
    ['the rpIdHash (signed for another RP)', () => stepUpBy(es256, binding, { rpId: 'evil.example' }), "rpIdHash is not SHA-256 of the relying-party id localhost"],
    ['the recorded rpId', () => ({ ...stepUpBy(es256), rpId: 'kms.example' }), 'rpIdHash is not SHA-256 of the relying-party id kms.example'],
    ['the origin (off the RP id)', () => stepUpBy(es256, binding, { origin: 'https://evil.example' }), 'clientDataJSON.origin https://evil.example is not on the relying-party id localhost'],
    ['the clientData challenge', () => edit('clientDataJSON', stepUpBy(es256), (b) => Buffer.from(b.toString().replace(stepUpChallenge(binding), stepUpChallenge({ ...binding, change_ticket: 'CHG-43' })))), 'clientDataJSON.challenge is not the challenge recomputed'],
    ['the clientData type', () => edit('clientDataJSON', stepUpBy(es256), (b) => Buffer.from(b.toString().replace('webauthn.get', 'webauthn.create'))), 'clientDataJSON.type is webauthn.create'],
    ['the binding nonce', () => ({ ...stepUpBy(es256), binding: { ...binding, nonce: 'AAAA' } }), 'clientDataJSON.challenge is not the challenge recomputed'],
    ['the binding approval id', () => ({ ...stepUpBy(es256), binding: { ...binding, approval_id: 'another' } }), 'binding names approval another'],
    ['the binding change ticket', () => ({ ...stepUpBy(es256), binding: { ...binding, change_ticket: 'CHG-43' } }), 'binding names change ticket CHG-43, the approval CHG-42'],
    ['the binding approver', () => ({ ...stepUpBy(es256), binding: { ...binding, identity_id: 'mallory' } }), 'binding names approver mallory'],
    ['the binding decision', () => ({ ...stepUpBy(es256), binding: { ...binding, decision: 'reject' as 'approve' } }), 'binding decision is reject'],
    ['the scheme', () => ({ ...stepUpBy(es256), scheme: 'v0' }), 'scheme is v0'],
    ['authenticatorData (truncated)', () => edit('authenticatorData', stepUpBy(es256), (b) => b.subarray(0, 20)), 'authenticatorData is 20 bytes'],
  ])('given %s changed, then it does not verify and says what failed', (_what, make, message) => {
    const { problems } = checkStepUpAssertion(make(), expected);
    expect(problems).toEqual(expect.arrayContaining([expect.stringContaining(message)]));
  });

  it('given a binding signed correctly but for another approval record, then it fails naming the differing fields', () => {
    const s = stepUpBy(es256, { ...binding, approval_id: 'f00', change_ticket: 'CHG-1' });
    expect(checkStepUpAssertion(s, expected).problems).toEqual([`binding names approval f00, not ${APPROVAL}`, 'binding names change ticket CHG-1, the approval CHG-42']);
  });

  it('given no recorded rpId (an approval made before it was recorded), then the origin\'s domain is tried and noted', () => {
    const { rpId: _, ...old } = stepUpBy(es256);
    expect(checkStepUpAssertion(old, expected)).toMatchObject({ problems: [], rpId: 'localhost', notes: [expect.stringContaining('no relying-party id recorded')] });
    const signedElsewhere = { ...stepUpBy(es256, binding, { rpId: 'evil.example' }), rpId: undefined };
    expect(checkStepUpAssertion(signedElsewhere, expected).problems).toEqual(["no relying-party id is recorded and the rpIdHash is not that of the origin's domain"]);
  });

  it('given an unsupported COSE key (ES384), then it names the algorithm', () => {
    // kty EC2, alg ES384 (-35), crv P-384: a well-formed key of an algorithm the KMS does not register.
    const cose = Buffer.concat([Buffer.from([0xa5, 0x01, 0x02, 0x03, 0x38, 0x22, 0x20, 0x02, 0x21, 0x58, 0x30]), Buffer.alloc(48, 1), Buffer.from([0x22, 0x58, 0x30]), Buffer.alloc(48, 2)]);
    expect(checkStepUpAssertion({ ...stepUpBy(es256), publicKey: cose.toString('base64url') }, expected).problems).toEqual([expect.stringContaining('unsupported COSE key (kty 2, alg -35)')]);
  });
});
