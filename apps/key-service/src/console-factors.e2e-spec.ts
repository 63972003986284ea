import { decodeJwt } from 'jose';
import { oathtoolTotp, TestAuthenticator } from '@kms/testing';
import { type Actor, type KeyServiceUnderTest, startKeyServiceUnderTest } from './key-service.e2e-harness';

jest.setTimeout(60_000);

type Answer = { status: number; body: Record<string, unknown>; headers: Headers };

/**
 * People's second factors over the key service's own HTTP API (docs/console.md): real WebAuthn
 * ceremonies from a test authenticator that @simplewebauthn/server verifies, TOTP codes from
 * Debian's oathtool, on real PostgreSQL, with the clock the test moves.
 */
describe('console second factors: enrolment link → security key → authenticator app → sign-in', () => {
  let sut: KeyServiceUnderTest;
  let origin: string;

  beforeAll(async () => {
    sut = await startKeyServiceUnderTest('console_factors');
    origin = `http://localhost:${new URL(sut.httpUrl).port}`;
  });
  afterAll(async () => sut?.stop());

  async function post(path: string, body: unknown, token?: string): Promise<Answer> {
    const res = await fetch(`${sut.httpUrl}/v1/console/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
  }

  const challengeOf = (a: Answer) => (a.body['options'] as { challenge: string }).challenge;
  const seconds = (n: number) => sut.clock.advance(n * 1000);

  /** A link for the person, as the KMS hands it out: asked for by one registrar, approved by the other (who receives it). */
  const link = (person: Actor): Promise<string> => sut.linkFor(person.identityId);

  /** Enrol both factors for a person; answers their authenticator and TOTP secret. */
  async function enrol(person: Actor): Promise<{ key: TestAuthenticator; secret: string; token: string; session: string }> {
    const token = await link(person);
    const key = new TestAuthenticator('localhost', origin);
    const options = await post('enrolment/security-key/options', { enrolment_token: token });
    expect(options.status).toBe(200);
    const registered = await post('enrolment/security-key', { enrolment_token: token, ceremony_id: options.body['ceremony_id'], response: key.register({ challenge: challengeOf(options) }) });
    expect(registered).toMatchObject({ status: 201, body: { credential_id: key.id } });
    const session = registered.body['enrolment_session'] as string;
    const app = await post('enrolment/authenticator-app', { enrolment_session: session });
    expect(app.status).toBe(200);
    expect(app.body['otpauth_uri']).toMatch(/^otpauth:\/\/totp\//);
    expect(app.body['qr_code']).toMatch(/^data:image\/png;base64,/);
    const secret = app.body['secret'] as string;
    const confirmed = await post('enrolment/authenticator-app/confirm', { enrolment_session: session, totp_code: oathtoolTotp(secret, sut.clock.now()) });
    expect(confirmed).toMatchObject({ status: 200, body: { identity_id: person.identityId, enrolled: true } });
    return { key, secret, token, session };
  }

  async function signIn(person: Actor, key: TestAuthenticator, code: string | ((now: Date) => string), tweaks: Parameters<TestAuthenticator['assert']>[1] = {}): Promise<Answer> {
    const options = await post('sign-in/options', { identity_id: person.identityId });
    expect(options.status).toBe(200);
    return post('sign-in', { ceremony_id: options.body['ceremony_id'], response: key.assert({ challenge: challengeOf(options) }, tweaks), totp_code: typeof code === 'string' ? code : code(sut.clock.now()) });
  }

  async function denials(operation: string): Promise<Array<{ reason: string | null; error_code: string }>> {
    const { rows } = await sut.db.query<{ reason: string | null; error_code: string }>(
      "SELECT details->>'reason' AS reason, error_code FROM audit_records WHERE operation = $1 AND outcome = 'DENIED' ORDER BY time, id",
      [operation],
    );
    return rows;
  }

  it('enrols with a link and signs in with both factors: a token (amr hwk+otp, cid) the key service accepts for a person-only call', async () => {
    const alice = await sut.register('alice-factors', 'HUMAN', ['sre-oncall']);
    const { key, secret, token, session } = await enrol(alice);
    seconds(30);
    const signedIn = await signIn(alice, key, (now) => oathtoolTotp(secret, now));
    expect(signedIn.status).toBe(200);
    const accessToken = signedIn.body['access_token'] as string;
    const claims = decodeJwt(accessToken);
    expect(claims).toMatchObject({ sub: alice.identityId, amr: ['hwk', 'otp'], cid: key.id, kind: 'HUMAN' });
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBeLessThanOrEqual(900);
    // ListKeys: people only (workloads may not), and people only with FIDO2 + TOTP in their token.
    await expect(sut.client.call('ListKeys', {}, { token: accessToken })).resolves.toHaveProperty('keys');

    // Audited: the link, the key, the app, the sign-in; events carry ids and a fingerprint only.
    const { rows: audited } = await sut.db.query<{ operation: string; outcome: string }>(
      "SELECT operation, outcome FROM audit_records WHERE operation IN ('CreateEnrolmentLink','EnrolWebAuthnCredential','EnrolTotp','SignIn') AND outcome = 'SUCCESS' ORDER BY time, id",
    );
    expect(audited.map((r) => r.operation)).toEqual(expect.arrayContaining(['CreateEnrolmentLink', 'EnrolWebAuthnCredential', 'EnrolTotp', 'SignIn']));
    const { rows: events } = await sut.db.query<{ type: string; data: Record<string, unknown> }>('SELECT type, data FROM events WHERE stream_id = $1 ORDER BY stream_version', [`person-factors-${alice.identityId}`]);
    expect(events.map((e) => e.type)).toEqual(['EnrolmentLinkIssued', 'EnrolmentLinkRedeemed', 'WebAuthnCredentialEnrolled', 'TotpEnrolled']);
    expect(events[2].data).toMatchObject({ credentialId: key.id, publicKeyFingerprint: expect.stringMatching(/^[0-9a-f]{64}$/), via: 'enrolment-link' });

    // No secret anywhere in history or audit: TOTP secret, link and session secrets, public key, the token.
    const { rows: credential } = await sut.db.query<{ public_key: Buffer }>('SELECT public_key FROM webauthn_credentials WHERE credential_id = $1', [key.id]);
    const { rows: totp } = await sut.db.query<{ wrapped_secret: Buffer }>('SELECT wrapped_secret FROM totp_factors WHERE identity_id = $1', [alice.identityId]);
    expect(totp[0].wrapped_secret.toString('latin1')).not.toContain(secret);
    const { rows: dump } = await sut.db.query<{ text: string }>("SELECT coalesce(string_agg(t::text, '\n'), '') AS text FROM (SELECT row_to_json(e)::text AS t FROM events e UNION ALL SELECT row_to_json(a)::text FROM audit_records a) x");
    const all = dump[0].text;
    for (const s of [secret, token.split('.')[1], session.split('.')[1], credential[0].public_key.toString('base64'), credential[0].public_key.toString('base64url'), credential[0].public_key.toString('hex'), accessToken]) {
      expect(all).not.toContain(s);
    }

    // The link is used up.
    const again = await post('enrolment/security-key/options', { enrolment_token: token });
    expect(again).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED', field: 'enrolment_token', reason: 'ENROLMENT_LINK_USED' } });
  });

  it('refuses an expired link and a replaced one, audited DENIED with the reason', async () => {
    const bob = await sut.register('bob-factors', 'HUMAN', ['sre-oncall']);
    const first = await link(bob);
    const second = await link(bob);
    expect(await post('enrolment/security-key/options', { enrolment_token: first })).toMatchObject({ status: 401, body: { reason: 'ENROLMENT_LINK_UNKNOWN' } });
    seconds(15 * 60);
    expect(await post('enrolment/security-key/options', { enrolment_token: second })).toMatchObject({ status: 401, body: { field: 'enrolment_token', reason: 'ENROLMENT_LINK_EXPIRED' } });
    expect((await denials('BeginWebAuthnRegistration')).map((d) => d.reason)).toEqual(expect.arrayContaining(['ENROLMENT_LINK_UNKNOWN', 'ENROLMENT_LINK_EXPIRED']));
    expect(await post('enrolment/security-key/options', { enrolment_token: 'not-a-token' })).toMatchObject({ status: 400, body: { field: 'enrolment_token' } });
    // Only security engineering creates links; a workload never.
    const workload = await sut.register('factors-workload', 'WORKLOAD');
    expect((await post('enrolment-links', { identity_id: bob.identityId }, await workload.token())).status).toBe(403);
  });

  it('refuses wrong origin, wrong rp id and missing user verification at registration', async () => {
    const carol = await sut.register('carol-factors', 'HUMAN', ['sre-oncall']);
    const token = await link(carol);
    const key = new TestAuthenticator('localhost', origin);
    for (const [tweaks, reason] of [
      [{ origin: 'https://evil.example' }, 'WRONG_ORIGIN'],
      [{ rpId: 'evil.example' }, 'WRONG_RP_ID'],
      [{ withoutUserVerification: true }, 'USER_VERIFICATION_MISSING'],
    ] as const) {
      const options = await post('enrolment/security-key/options', { enrolment_token: token });
      const r = await post('enrolment/security-key', { enrolment_token: token, ceremony_id: options.body['ceremony_id'], response: key.register({ challenge: challengeOf(options) }, tweaks) });
      expect(r).toMatchObject({ status: 401, body: { field: 'response', reason } });
    }
    // None of these used the link up.
    expect((await post('enrolment/security-key/options', { enrolment_token: token })).status).toBe(200);
  });

  it('sign-in refuses a reused challenge, wrong origin/rp id, no user verification, a counter regression, a replayed or drifted code, and rate-limits', async () => {
    const dave = await sut.register('dave-factors', 'HUMAN', ['sre-oncall']);
    const { key, secret } = await enrol(dave);
    seconds(30);
    const options = await post('sign-in/options', { identity_id: dave.identityId });
    const code = oathtoolTotp(secret, sut.clock.now());
    const ok = await post('sign-in', { ceremony_id: options.body['ceremony_id'], response: key.assert({ challenge: challengeOf(options) }), totp_code: code });
    expect(ok.status).toBe(200);
    // The same challenge again.
    const reused = await post('sign-in', { ceremony_id: options.body['ceremony_id'], response: key.assert({ challenge: challengeOf(options) }), totp_code: code });
    expect(reused).toMatchObject({ status: 401, body: { field: 'ceremony_id', reason: 'CHALLENGE_UNKNOWN_OR_USED' } });
    // The same TOTP code (same step) with a fresh assertion: replay.
    expect(await signIn(dave, key, code)).toMatchObject({ status: 401, body: { field: 'totp_code', reason: 'TOTP_REPLAYED' } });
    seconds(30);
    expect(await signIn(dave, key, (now) => oathtoolTotp(secret, now), { origin: 'https://evil.example' })).toMatchObject({ status: 401, body: { reason: 'WRONG_ORIGIN' } });
    expect(await signIn(dave, key, (now) => oathtoolTotp(secret, now), { rpId: 'evil.example' })).toMatchObject({ status: 401, body: { reason: 'WRONG_RP_ID' } });
    expect(await signIn(dave, key, (now) => oathtoolTotp(secret, now), { withoutUserVerification: true })).toMatchObject({ status: 401, body: { reason: 'USER_VERIFICATION_MISSING' } });
    // A cloned key replays an old counter.
    expect(await signIn(dave, key, (now) => oathtoolTotp(secret, now), { signCount: 1 })).toMatchObject({ status: 401, body: { field: 'response', reason: 'COUNTER_REGRESSION' } });
    // Two steps on from the last accepted code, so neither code below is a replay.
    seconds(60);
    // Two steps old: outside the ±1 step drift.
    expect(await signIn(dave, key, (now) => oathtoolTotp(secret, new Date(now.getTime() - 60_000)))).toMatchObject({ status: 401, body: { field: 'totp_code', reason: 'TOTP_INVALID' } });
    // One step old is within the drift.
    expect((await signIn(dave, key, (now) => oathtoolTotp(secret, new Date(now.getTime() - 30_000)))).status).toBe(200);
    // Failures so far: the replay and the drifted code. Three more wrong codes reach five: then refused, with retry-after.
    for (let i = 0; i < 3; i++) expect((await signIn(dave, key, '000000')).body['reason']).toBe('TOTP_INVALID');
    seconds(30);
    const limited = await signIn(dave, key, (now) => oathtoolTotp(secret, now));
    expect(limited).toMatchObject({ status: 429, body: { code: 'TOO_MANY_ATTEMPTS', field: 'totp_code', reason: 'TOTP_RATE_LIMITED' } });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Once the window has passed, the right code works again.
    seconds(5 * 60);
    expect((await signIn(dave, key, (now) => oathtoolTotp(secret, now))).status).toBe(200);
    const reasons = (await denials('SignIn')).map((d) => d.reason);
    expect(reasons).toEqual(expect.arrayContaining(['CHALLENGE_UNKNOWN_OR_USED', 'TOTP_REPLAYED', 'WRONG_ORIGIN', 'WRONG_RP_ID', 'USER_VERIFICATION_MISSING', 'COUNTER_REGRESSION', 'TOTP_INVALID', 'TOTP_RATE_LIMITED']));
  });

  it('signs nobody in with a security key whose enrolment never reached the history (a row written behind the service)', async () => {
    const person = await sut.register('row-without-event', 'HUMAN', ['sre-oncall']);
    const { secret } = await enrol(person);
    // A key stored in the table with no WebAuthnCredentialEnrolled event: what a failed commit, or
    // someone writing to the table, would leave. The sealed history decides what is enrolled.
    const rogue = new TestAuthenticator('localhost', origin);
    await sut.db.query('INSERT INTO webauthn_credentials (credential_id, identity_id, public_key, sign_count, created_at) VALUES ($1, $2, $3, 0, now())', [rogue.id, person.identityId, rogue.coseKey()]);
    seconds(30);
    const refused = await signIn(person, rogue, (now) => oathtoolTotp(secret, now));
    expect(refused).toMatchObject({ status: 401, body: { reason: 'CREDENTIAL_UNKNOWN', field: 'response.id' } });
  });
});

