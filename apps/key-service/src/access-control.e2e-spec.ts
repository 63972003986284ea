import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { Logger } from '@nestjs/common';
import { ApprovalService } from '@kms/application';
import { KmsCallError, type KmsMessage } from '@kms/contracts';
import { type Actor, type KeyServiceUnderTest, startKeyServiceUnderTest } from './key-service.e2e-harness';
import {
  auditRows,
  createTrailerClient,
  flipChar,
  kmsLikeClaims,
  streamEvents,
  tokenClaims,
  tokenSignedWithOtherKey,
  type TrailerClient,
  unsignedToken,
  withClaims,
} from './access-control.e2e-helpers';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

async function expectError(p: Promise<unknown>, code: status, errorCode: string, field?: string): Promise<KmsCallError> {
  const e = await p.then(
    () => {
      throw new Error(`expected ${errorCode}, the call succeeded`);
    },
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(KmsCallError);
  const k = e as KmsCallError;
  expect({ code: status[k.code], errorCode: k.errorCode }).toEqual({ code: status[code], errorCode });
  if (field) expect(k.field).toBe(field);
  return k;
}

/** A request id an auditor can look up afterwards. */
const rid = (label: string) => `${label}-${randomUUID()}`;

type Version = { version: number; state: string };
type Key = { key_id: string; primary_version: number; versions: Version[]; policy: { grants: Record<string, { permissions: string[] }> } };
type Approval = { approval_id: string; status: string; requester: string; approver: string; operation: string; target_id: string; change_ticket: string; params_json: string };

describe('access control over gRPC (end to end, issue 4)', () => {
  let kms: KeyServiceUnderTest;
  let trailers: TrailerClient;
  /** Workloads. */
  let app: Actor;
  let other: Actor;
  /** People: admin A is kms.admin (security-engineering + key-admin). */
  let bob: Actor; // key-admin: the second person for key operations
  let carol: Actor; // security-engineering: the second person for identity operations
  let oncall: Actor; // sre-oncall
  let officer: Actor; // compliance-officer
  /** Notifications the service logged (LogNotificationSink), parsed. */
  const notifications: Array<{ type: string; subject: Record<string, unknown> }> = [];

  /** One audit record for the request, matching. */
  async function expectAudited(requestId: string, expected: { operation: string; outcome: 'SUCCESS' | 'FAILURE' | 'DENIED'; error_code: string | null; actor: string }) {
    const rows = await auditRows(kms.db, requestId);
    expect(rows.map(({ operation, outcome, error_code, actor }) => ({ operation, outcome, error_code, actor }))).toEqual([expected]);
    return rows[0];
  }

  /** Rotate another identity's credential the only way a person can: admin A asks, carol approves and receives it. */
  async function rotateWithApproval(identityId: string): Promise<{ client_id: string; client_secret: string }> {
    const asked = await trailers.refusal('RotateCredential', { identity_id: identityId, context: { change_ticket: 'CHG-ROTATE' } }, { token: await kms.admin.token() });
    const done = await carol.call<{ issued_credential: { client_id: string; client_secret: string } }>('ApproveRequest', { approval_id: asked.trailers['kms-approval-id'] });
    return done.issued_credential;
  }

  /** A key created by admin A with the given grants (identity id → permissions). */
  async function createKey(name: string, grants: Record<string, string[]>, extra: KmsMessage = {}): Promise<Key> {
    return kms.admin.call<Key>('CreateKey', {
      name,
      purpose: 'SERVICE_ENVELOPE',
      algorithm: 'AES_256_GCM',
      policy: { grants: Object.fromEntries(Object.entries(grants).map(([id, permissions]) => [id, { permissions }])) },
      context: { change_ticket: 'CHG-SETUP' },
      ...extra,
    });
  }

  /** Move the clock forward to 100 ms past the next whole second, so the next few hundred ms stay in one second. */
  const toStartOfSecond = () => kms.clock.set(new Date(Math.ceil((kms.clock.now().getTime() + 1) / SECOND) * SECOND + 100));

  const versionStates = async (keyId: string) => (await kms.admin.call<Key>('GetKey', { key_id: keyId })).versions.map((v) => v.state);

  beforeAll(async () => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(function (this: Logger, message: unknown) {
      if ((this as unknown as { context?: string }).context === 'kms-notifications') notifications.push(JSON.parse(String(message)));
    });
    kms = await startKeyServiceUnderTest('e2e_access_control');
    trailers = createTrailerClient(kms.service.grpcAddress);
    app = await kms.register('orders-app', 'WORKLOAD');
    other = await kms.register('billing-app', 'WORKLOAD');
    bob = await kms.register('bob.keyadmin', 'HUMAN', ['key-admin']);
    carol = await kms.register('carol.seceng', 'HUMAN', ['security-engineering']);
    oncall = await kms.register('sam.oncall', 'HUMAN', ['sre-oncall']);
    officer = await kms.register('olga.compliance', 'HUMAN', ['compliance-officer']);
  });
  afterAll(async () => {
    trailers?.close();
    await kms?.stop();
    jest.restoreAllMocks();
  });

  describe('tokens', () => {
    let keyId: string;
    beforeAll(async () => {
      keyId = (await createKey('token-checks', { [app.identityId]: ['ENCRYPT'] })).key_id;
    });
    const encryptWith = (token: string | undefined, requestId: string) =>
      kms.client.call('Encrypt', { key_id: keyId, plaintext: Buffer.from('x') }, { ...(token ? { token } : {}), requestId });

    it('refuses tampered, foreign, unsigned, missing and garbage tokens with UNAUTHENTICATED, and audits each refusal', async () => {
      const good = await app.token();
      // The untouched token works: the refusals below are about the changes, nothing else.
      await encryptWith(good, rid('control'));

      const admin = tokenClaims(await kms.admin.token());
      const escalated = withClaims(good, { ...tokenClaims(good), sub: admin['sub'], kind: 'HUMAN', roles: ['security-engineering', 'key-admin'], amr: ['hwk', 'otp'] });
      const claims = kmsLikeClaims(app.identityId, kms.clock.now().getTime());
      const cases: Array<[string, string | undefined, RegExp]> = [
        ['payload-flipped', flipChar(good, 1), /token is invalid/],
        ['payload-escalated', escalated, /token is invalid/],
        ['signature-flipped', flipChar(good, 2), /token is invalid/],
        ['other-key', await tokenSignedWithOtherKey(claims), /token is invalid/],
        ['alg-none', unsignedToken(claims), /token is invalid/],
        ['garbage', 'garbage', /token is invalid/],
        ['no-token', undefined, /Bearer/],
      ];
      for (const [label, token, message] of cases) {
        const requestId = rid(label);
        const e = await expectError(encryptWith(token, requestId), status.UNAUTHENTICATED, 'UNAUTHENTICATED');
        expect({ label, details: e.details }).toEqual({ label, details: expect.stringMatching(message) });
        await expectAudited(requestId, { operation: 'Encrypt', outcome: 'DENIED', error_code: 'UNAUTHENTICATED', actor: 'unauthenticated' });
      }
      // Not a bearer token at all.
      const basic = rid('basic');
      await expectError(
        kms.client.call('Encrypt', { key_id: keyId, plaintext: Buffer.from('x') }, { requestId: basic, metadata: { authorization: 'Basic b3JkZXJzOnNlY3JldA==' } }),
        status.UNAUTHENTICATED,
        'UNAUTHENTICATED',
      );
      await expectAudited(basic, { operation: 'Encrypt', outcome: 'DENIED', error_code: 'UNAUTHENTICATED', actor: 'unauthenticated' });
    });

    it('accepts a token up to its expiry plus 30 s of skew, then refuses it saying it expired', async () => {
      const issued = await kms.client.call<{ access_token: string }>('IssueToken', { client_id: app.identityId, client_secret: app.clientSecret, ttl_seconds: 60 });
      const token = issued.access_token;
      kms.clock.advance(60 * SECOND + 29 * SECOND);
      await encryptWith(token, rid('within-skew'));
      kms.clock.advance(2 * SECOND);
      const requestId = rid('expired');
      const e = await expectError(encryptWith(token, requestId), status.UNAUTHENTICATED, 'UNAUTHENTICATED');
      expect(e.details).toMatch(/expired/);
      await expectAudited(requestId, { operation: 'Encrypt', outcome: 'DENIED', error_code: 'UNAUTHENTICATED', actor: 'unauthenticated' });
    });

    it('issues tokens of at most 15 minutes: 900 s works, 901 s is refused naming ttl_seconds and no token is issued', async () => {
      const ok = rid('ttl-900');
      const issued = await kms.client.call<{ access_token: string; expire_time: string }>(
        'IssueToken',
        { client_id: app.identityId, client_secret: app.clientSecret, ttl_seconds: 900 },
        { requestId: ok },
      );
      const c = tokenClaims(issued.access_token);
      expect((c['exp'] as number) - (c['iat'] as number)).toBe(900);
      expect(c).toMatchObject({ sub: app.identityId, iss: 'kms', aud: 'kms', kind: 'WORKLOAD', roles: [] });
      expect(issued.expire_time).toBe(new Date((c['exp'] as number) * 1000).toISOString());
      await expectAudited(ok, { operation: 'IssueToken', outcome: 'SUCCESS', error_code: null, actor: app.identityId });

      // The default is the maximum, never more.
      const dflt = await kms.client.call<{ access_token: string }>('IssueToken', { client_id: app.identityId, client_secret: app.clientSecret });
      const d = tokenClaims(dflt.access_token);
      expect((d['exp'] as number) - (d['iat'] as number)).toBe(900);

      for (const ttl of [901, 3600, 86_400]) {
        const requestId = rid(`ttl-${ttl}`);
        const e = await expectError(
          kms.client.call('IssueToken', { client_id: app.identityId, client_secret: app.clientSecret, ttl_seconds: ttl }, { requestId }),
          status.INVALID_ARGUMENT,
          'INVALID_ARGUMENT',
          'ttl_seconds',
        );
        expect(e.details).toMatch(/^ttl_seconds: .*15 minutes/);
        // Asking for a longer-lived token is a refused access request: DENIED, not a failure.
        const row = await expectAudited(requestId, { operation: 'IssueToken', outcome: 'DENIED', error_code: 'INVALID_ARGUMENT', actor: app.identityId });
        // Nothing about an issued token (expiry) was recorded: none was made.
        expect(row.details ?? {}).not.toHaveProperty('expiresAt');
      }
    });

    it('refuses a wrong client secret and an unknown client alike, with UNAUTHENTICATED', async () => {
      const wrong = rid('wrong-secret');
      const e1 = await expectError(
        kms.client.call('IssueToken', { client_id: app.identityId, client_secret: 'not-the-secret' }, { requestId: wrong }),
        status.UNAUTHENTICATED,
        'UNAUTHENTICATED',
      );
      await expectAudited(wrong, { operation: 'IssueToken', outcome: 'DENIED', error_code: 'UNAUTHENTICATED', actor: app.identityId });
      const unknown = randomUUID();
      const e2 = await expectError(kms.client.call('IssueToken', { client_id: unknown, client_secret: 'not-the-secret' }), status.UNAUTHENTICATED, 'UNAUTHENTICATED');
      // Nothing tells which client ids exist.
      expect(e2.details).toBe(e1.details);
      // Another identity's secret does not work either.
      await expectError(kms.client.call('IssueToken', { client_id: app.identityId, client_secret: other.clientSecret }), status.UNAUTHENTICATED, 'UNAUTHENTICATED');
    });

    it('refuses a person every token from IssueToken, factors claimed or not: only the verified sign-in gives one (issue 16)', async () => {
      // Claiming the factors the console used to assert: refused by name, audited DENIED, no token.
      for (const methods of [['hwk', 'otp'], ['otp', 'hwk'], ['hwk'], ['otp'], ['pwd', 'mfa'], ['mfa']]) {
        const requestId = rid('claimed-factors');
        const e = await expectError(
          kms.client.call('IssueToken', { client_id: bob.identityId, client_secret: bob.clientSecret, auth_methods: methods }, { requestId }),
          status.PERMISSION_DENIED,
          'PERMISSION_DENIED',
          'auth_methods',
        );
        expect(e.details).toMatch(/cannot be claimed by a client/);
        await expectAudited(requestId, { operation: 'IssueToken', outcome: 'DENIED', error_code: 'PERMISSION_DENIED', actor: bob.identityId });
      }
      // Claiming nothing (or a password): a person still gets no token from a client secret.
      for (const methods of [[], ['pwd']]) {
        const requestId = rid('person-secret');
        const e = await expectError(
          kms.client.call('IssueToken', { client_id: bob.identityId, client_secret: bob.clientSecret, auth_methods: methods }, { requestId }),
          status.PERMISSION_DENIED,
          'PERMISSION_DENIED',
          'client_id',
        );
        expect(e.details).toMatch(/security key and authenticator app/);
        await expectAudited(requestId, { operation: 'IssueToken', outcome: 'DENIED', error_code: 'PERMISSION_DENIED', actor: bob.identityId });
      }
      // No audit record or event carries the secret; the sign-in ceremony still gives bob a token with both factors.
      const { rows } = await kms.db.query<{ t: string }>("SELECT row_to_json(a)::text AS t FROM audit_records a WHERE operation = 'IssueToken'");
      expect(rows.map((r) => r.t).join('\n')).not.toContain(bob.clientSecret);
      const { accessToken } = await kms.people.signIn(bob.identityId);
      expect(tokenClaims(accessToken)).toMatchObject({ sub: bob.identityId, kind: 'HUMAN', roles: ['key-admin'], amr: ['hwk', 'otp'], cid: (await kms.people.factorsOf(bob.identityId)).key.id });
      // Workloads are unchanged.
      await expect(kms.client.call('IssueToken', { client_id: app.identityId, client_secret: app.clientSecret })).resolves.toHaveProperty('access_token');
    });

    it('refuses a token issued before a credential rotation; the old secret stops working, the new one works', async () => {
      const rotating = await kms.register('rotating-app', 'WORKLOAD');
      const k = (await createKey('rotation-check', { [rotating.identityId]: ['ENCRYPT'] })).key_id;
      const before = await rotating.token();
      await kms.client.call('Encrypt', { key_id: k, plaintext: Buffer.from('x') }, { token: before });
      kms.clock.advance(2 * SECOND);
      const rotated = await rotateWithApproval(rotating.identityId);
      expect(rotated.client_id).toBe(rotating.identityId);

      const requestId = rid('stale-token');
      const e = await expectError(kms.client.call('Encrypt', { key_id: k, plaintext: Buffer.from('x') }, { token: before, requestId }), status.UNAUTHENTICATED, 'UNAUTHENTICATED');
      expect(e.details).toMatch(/before the credential changed/);
      await expectAudited(requestId, { operation: 'Encrypt', outcome: 'DENIED', error_code: 'UNAUTHENTICATED', actor: 'unauthenticated' });
      await expectError(kms.client.call('IssueToken', { client_id: rotating.identityId, client_secret: rotating.clientSecret }), status.UNAUTHENTICATED, 'UNAUTHENTICATED');

      const renewed = kms.actor(rotating.identityId, rotating.name, rotated.client_secret, false);
      expect((await renewed.call<{ key_version: number }>('Encrypt', { key_id: k, plaintext: Buffer.from('x') })).key_version).toBe(1);
    });

    it("rotating another identity's credential takes a second person, who alone receives the new secret; a workload rotates only its own", async () => {
      const svc = await kms.register('payments-app', 'WORKLOAD');
      const k = (await createKey('credential-rotation', { [svc.identityId]: ['ENCRYPT'] })).key_id;
      // One person alone cannot obtain a workload's secret.
      await expectError(kms.admin.call('RotateCredential', { identity_id: svc.identityId }), status.INVALID_ARGUMENT, 'INVALID_ARGUMENT');
      const asked = await trailers.refusal('RotateCredential', { identity_id: svc.identityId, context: { change_ticket: 'CHG-300' } }, { token: await kms.admin.token() });
      expect(asked.trailers['kms-error-code']).toBe('APPROVAL_REQUIRED');
      // Nothing changed yet: the old secret still works.
      expect((await svc.call<{ key_version: number }>('Encrypt', { key_id: k, plaintext: Buffer.from('x') })).key_version).toBe(1);
      // A workload may not rotate someone else's credential, nor approve.
      const other = await kms.register('other-app', 'WORKLOAD');
      await expectError(other.call('RotateCredential', { identity_id: svc.identityId }), status.PERMISSION_DENIED, 'PERMISSION_DENIED');

      const approveId = rid('approve-rotation');
      const done = await carol.call<Approval & { issued_credential?: { client_id: string; client_secret: string } }>(
        'ApproveRequest',
        { approval_id: asked.trailers['kms-approval-id'] },
        approveId,
      );
      expect(done.status).toBe('EXECUTED');
      expect(done.issued_credential?.client_id).toBe(svc.identityId);
      const row = await expectAudited(approveId, { operation: 'ApproveRequest', outcome: 'SUCCESS', error_code: null, actor: carol.identityId });
      expect(row.details).toMatchObject({ credentialIssuedTo: carol.identityId });
      expect(JSON.stringify(row)).not.toContain(done.issued_credential?.client_secret ?? 'no secret');
      // Reading the approval later never shows the secret.
      expect((await kms.admin.call<Record<string, unknown>>('GetApprovalRequest', { approval_id: asked.trailers['kms-approval-id'] }))['issued_credential']).toBeFalsy();
      await expectError(kms.client.call('IssueToken', { client_id: svc.identityId, client_secret: svc.clientSecret }), status.UNAUTHENTICATED, 'UNAUTHENTICATED');
      const renewed = kms.actor(svc.identityId, svc.name, done.issued_credential?.client_secret ?? '', false);
      expect((await renewed.call<{ key_version: number }>('Encrypt', { key_id: k, plaintext: Buffer.from('x') })).key_version).toBe(1);
    });

    it('refuses a token issued in the same second as, but before, a credential rotation', async () => {
      // A credential is rotated because it leaked; a token minted with it just before must die too.
      const leaky = await kms.register('leaky-app', 'WORKLOAD');
      const k = (await createKey('same-second-rotation', { [leaky.identityId]: ['ENCRYPT'] })).key_id;
      toStartOfSecond();
      const minted = await leaky.token();
      kms.clock.advance(400);
      // The workload rotates its own credential (no second person needed for one's own).
      await kms.client.call('RotateCredential', { identity_id: leaky.identityId }, { token: minted });
      kms.clock.advance(100);
      await expectError(kms.client.call('Encrypt', { key_id: k, plaintext: Buffer.from('x') }, { token: minted }), status.UNAUTHENTICATED, 'UNAUTHENTICATED');
    });
  });

  describe('key policies', () => {
    it('a workload uses only what its key policy grants, and learns nothing about keys it may not use', async () => {
      const keyA = (await createKey('policy-a', { [app.identityId]: ['ENCRYPT'] })).key_id;
      const keyB = (await createKey('policy-b', { [other.identityId]: ['ENCRYPT', 'DECRYPT', 'ADMINISTER'] })).key_id;
      const missing = randomUUID();

      const { ciphertext } = await app.call<{ ciphertext: Buffer }>('Encrypt', { key_id: keyA, plaintext: Buffer.from('granted') });
      const decA = rid('decrypt-a');
      // A ciphertext names its key itself: without a DECRYPT grant it is answered like any ciphertext
      // that cannot be opened, and audited as the refusal it is.
      const eDecA = await expectError(app.call('Decrypt', { ciphertext }, decA), status.INVALID_ARGUMENT, 'INVALID_CIPHERTEXT', 'ciphertext');
      expect(eDecA.details).toMatch(/may not use for DECRYPT/);
      const rowDecA = await expectAudited(decA, { operation: 'Decrypt', outcome: 'DENIED', error_code: 'INVALID_CIPHERTEXT', actor: app.identityId });
      expect(rowDecA.details).toMatchObject({ ciphertextRefusal: 'NO_DECRYPT_GRANT' });

      // Key B exists and works for the workload it grants...
      const { ciphertext: cB } = await other.call<{ ciphertext: Buffer }>('Encrypt', { key_id: keyB, plaintext: Buffer.from('b') });
      // ...but to app it looks exactly like a key that does not exist.
      const encB = rid('encrypt-b');
      const onB = await expectError(app.call('Encrypt', { key_id: keyB, plaintext: Buffer.from('x') }, encB), status.PERMISSION_DENIED, 'PERMISSION_DENIED');
      const onMissing = await expectError(app.call('Encrypt', { key_id: missing, plaintext: Buffer.from('x') }), status.PERMISSION_DENIED, 'PERMISSION_DENIED');
      expect({ details: onB.details, field: onB.field }).toEqual({ details: onMissing.details, field: onMissing.field });
      expect(onB.details).not.toContain(keyB);
      await expectAudited(encB, { operation: 'Encrypt', outcome: 'DENIED', error_code: 'PERMISSION_DENIED', actor: app.identityId });

      const getB = await expectError(app.call('GetKey', { key_id: keyB }), status.PERMISSION_DENIED, 'PERMISSION_DENIED');
      const getMissing = await expectError(app.call('GetKey', { key_id: missing }), status.PERMISSION_DENIED, 'PERMISSION_DENIED');
      expect(getB.details).toBe(getMissing.details);

      const decB = await expectError(app.call('Decrypt', { ciphertext: cB }), status.INVALID_ARGUMENT, 'INVALID_CIPHERTEXT', 'ciphertext');
      const forged = Buffer.from(cB);
      forged[5] ^= 0x01; // the key id inside the ciphertext now names no key
      const decForged = await expectError(app.call('Decrypt', { ciphertext: forged }), status.INVALID_ARGUMENT, 'INVALID_CIPHERTEXT', 'ciphertext');
      expect(decB.details).toBe(decForged.details);

      for (const [method, req] of [
        ['ListKeys', {}],
        ['CreateKey', { name: 'by-a-workload', purpose: 'SERVICE_ENVELOPE', algorithm: 'AES_256_GCM' }],
      ] as const) {
        const requestId = rid(method);
        const e = await expectError(app.call(method, req, requestId), status.PERMISSION_DENIED, 'PERMISSION_DENIED');
        expect(e.details).toBe(`permission denied: workload identities may not call ${method}`);
        await expectAudited(requestId, { operation: method, outcome: 'DENIED', error_code: 'PERMISSION_DENIED', actor: app.identityId });
      }
    });

    it('a ciphertext naming a missing key, a key the caller may not decrypt with, or with altered header bytes gets one answer; the audit tells them apart', async () => {
      const usable = (await createKey('ciphertext-usable', { [app.identityId]: ['ENCRYPT', 'DECRYPT'] })).key_id;
      const foreignKey = (await createKey('ciphertext-foreign', { [other.identityId]: ['ENCRYPT', 'DECRYPT'] })).key_id;
      const aad = Buffer.from('tenant=a');
      const { ciphertext: own } = await app.call<{ ciphertext: Buffer }>('Encrypt', { key_id: usable, plaintext: Buffer.from('mine'), aad });
      const { ciphertext: foreign } = await other.call<{ ciphertext: Buffer }>('Encrypt', { key_id: foreignKey, plaintext: Buffer.from('theirs'), aad });
      const missingKey = Buffer.from(own);
      missingKey[5] ^= 0x01; // damaged key-id bytes: the header names a key that does not exist
      const alteredVersion = Buffer.from(own);
      alteredVersion[22] ^= 0x02; // the header names version 3 of a key the caller may use

      const cases = { missing: missingKey, forbidden: foreign, alteredVersion } as const;
      const answers: Record<string, unknown> = {};
      const audited: Record<string, unknown> = {};
      for (const [name, ciphertext] of Object.entries(cases)) {
        const requestId = rid(`ciphertext-${name}`);
        const e = await expectError(app.call('Decrypt', { ciphertext, aad }, requestId), status.INVALID_ARGUMENT, 'INVALID_CIPHERTEXT', 'ciphertext');
        answers[name] = { code: e.code, errorCode: e.errorCode, field: e.field, details: e.details };
        const [row] = await auditRows(kms.db, requestId);
        audited[name] = [row?.outcome, row?.error_code, (row?.details as Record<string, unknown> | null)?.['ciphertextRefusal']];
      }
      expect(answers['forbidden']).toEqual(answers['missing']);
      expect(answers['alteredVersion']).toEqual(answers['missing']);
      expect(JSON.stringify(answers)).not.toContain(foreignKey);
      expect(audited).toEqual({
        missing: ['FAILURE', 'INVALID_CIPHERTEXT', 'KEY_NOT_FOUND'],
        forbidden: ['DENIED', 'INVALID_CIPHERTEXT', 'NO_DECRYPT_GRANT'],
        alteredVersion: ['FAILURE', 'INVALID_CIPHERTEXT', 'KEY_VERSION_NOT_FOUND'],
      });
      // ReEncrypt answers the same for the same sources; the intact ciphertext still opens.
      for (const ciphertext of Object.values(cases)) {
        const e = await expectError(app.call('ReEncrypt', { ciphertext, source_aad: aad }), status.INVALID_ARGUMENT, 'INVALID_CIPHERTEXT', 'ciphertext');
        expect(e.details).toBe((answers['missing'] as { details: string }).details);
      }
      expect((await app.call<{ plaintext: Buffer }>('Decrypt', { ciphertext: own, aad })).plaintext.toString()).toBe('mine');
    });

    it('a compliance officer can read but never use a key, even when its policy grants them DECRYPT', async () => {
      const k = await createKey('officer-granted', { [officer.identityId]: ['ENCRYPT', 'DECRYPT', 'GENERATE_DATA_KEY'], [app.identityId]: ['ENCRYPT'] });
      const { ciphertext } = await app.call<{ ciphertext: Buffer }>('Encrypt', { key_id: k.key_id, plaintext: Buffer.from('for the eyes of app only') });

      expect((await officer.call<Key>('GetKey', { key_id: k.key_id })).key_id).toBe(k.key_id);
      const listed = await officer.call<{ keys: Array<{ key_id: string }> }>('ListKeys', { page_size: 500 });
      expect(listed.keys.map((x) => x.key_id)).toContain(k.key_id);
      await officer.call('ListApprovalRequests', {});

      for (const [method, req] of [
        ['Decrypt', { ciphertext }],
        ['Encrypt', { key_id: k.key_id, plaintext: Buffer.from('x') }],
        ['GenerateDataKey', { key_id: k.key_id }],
      ] as const) {
        const requestId = rid(`officer-${method}`);
        const e = await expectError(officer.call(method, req, requestId), status.PERMISSION_DENIED, 'PERMISSION_DENIED');
        expect(e.details).toMatch(new RegExp(`${method} needs one of the roles`));
        const row = await expectAudited(requestId, { operation: method, outcome: 'DENIED', error_code: 'PERMISSION_DENIED', actor: officer.identityId });
        expect(row.actor_role).toBe('compliance-officer');
      }
    });

    it('changing a key policy is itself controlled: it takes effect only after a second person approves', async () => {
      const k = (await createKey('policy-change', { [app.identityId]: ['ENCRYPT'] })).key_id;
      const { ciphertext } = await app.call<{ ciphertext: Buffer }>('Encrypt', { key_id: k, plaintext: Buffer.from('later') });
      const policy = { grants: { [app.identityId]: { permissions: ['ENCRYPT', 'DECRYPT'] } } };
      const asked = await trailers.refusal('SetKeyPolicy', { key_id: k, policy, context: { change_ticket: 'CHG-200' } }, { token: await kms.admin.token() });
      expect(asked.trailers['kms-error-code']).toBe('APPROVAL_REQUIRED');
      const approvalId = asked.trailers['kms-approval-id'];
      await expectError(app.call('Decrypt', { ciphertext }), status.INVALID_ARGUMENT, 'INVALID_CIPHERTEXT', 'ciphertext');

      expect((await bob.call<Approval>('ApproveRequest', { approval_id: approvalId })).status).toBe('EXECUTED');
      expect((await app.call<{ plaintext: Buffer }>('Decrypt', { ciphertext })).plaintext.toString()).toBe('later');
      const changed = (await streamEvents(kms.db, `key-${k}`)).filter((e) => e.type === 'KeyPolicyChanged');
      expect(changed).toHaveLength(1);
      expect(changed[0].metadata).toMatchObject({ actor: kms.admin.identityId, approvers: [bob.identityId], approvalId, changeTicket: 'CHG-200' });
    });
  });

  describe('dual authorization', () => {
    /** A key with two versions, so version 1 is not the primary and may be scheduled for destruction. */
    async function twoVersionKey(name: string): Promise<string> {
      const k = (await createKey(name, { [app.identityId]: ['ENCRYPT', 'DECRYPT'] })).key_id;
      await kms.admin.call('RotateKey', { key_id: k, context: { change_ticket: 'CHG-SETUP' } });
      return k;
    }

    async function askDestruction(keyId: string, ticket: string): Promise<{ approvalId: string; requestId: string; details: string }> {
      const requestId = rid('ask-destruction');
      const r = await trailers.refusal(
        'ScheduleKeyVersionDestruction',
        { key_id: keyId, key_version: 1, context: { change_ticket: ticket, reason: 'retire v1' } },
        { token: await kms.admin.token(), requestId },
      );
      expect({ code: status[r.code], errorCode: r.trailers['kms-error-code'] }).toEqual({ code: 'FAILED_PRECONDITION', errorCode: 'APPROVAL_REQUIRED' });
      const approvalId = r.trailers['kms-approval-id'];
      expect(approvalId).toMatch(/^[0-9a-f-]{36}$/);
      expect(r.details).toContain(approvalId);
      return { approvalId, requestId, details: r.details };
    }

    const approvalEvents = async (approvalId: string) => (await streamEvents(kms.db, `approval-${approvalId}`)).map((e) => e.type);
    const noticesFor = (approvalId: string) => notifications.filter((n) => n.subject['approvalId'] === approvalId).map((n) => n.type);

    it('a manual destruction needs two different people and happens only after the second approval', async () => {
      const k = await twoVersionKey('dual-destroy');
      const { ciphertext } = await app.call<{ ciphertext: Buffer; key_version: number }>('Encrypt', { key_id: k, plaintext: Buffer.from('v2 data') });

      // Without a change ticket nothing is requested.
      const noTicket = rid('no-ticket');
      await expectError(kms.admin.call('ScheduleKeyVersionDestruction', { key_id: k, key_version: 1 }, noTicket), status.INVALID_ARGUMENT, 'INVALID_ARGUMENT', 'context.change_ticket');
      await expectAudited(noTicket, { operation: 'ScheduleKeyVersionDestruction', outcome: 'FAILURE', error_code: 'INVALID_ARGUMENT', actor: kms.admin.identityId });

      // Person A asks: an approval request, nothing done yet.
      const { approvalId, requestId } = await askDestruction(k, 'CHG-100');
      const asked = await expectAudited(requestId, { operation: 'ScheduleKeyVersionDestruction', outcome: 'FAILURE', error_code: 'APPROVAL_REQUIRED', actor: kms.admin.identityId });
      expect(asked.details).toMatchObject({ approvalId });
      expect(await versionStates(k)).toEqual(['ENABLED', 'ENABLED']);
      const pending = await officer.call<Approval>('GetApprovalRequest', { approval_id: approvalId });
      expect(pending).toMatchObject({ status: 'PENDING', requester: kms.admin.identityId, operation: 'ScheduleKeyVersionDestruction', target_id: k, change_ticket: 'CHG-100' });
      expect(JSON.parse(pending.params_json)).toMatchObject({ version: 1 });
      const listed = await officer.call<{ requests: Approval[] }>('ListApprovalRequests', { status: 'PENDING' });
      expect(listed.requests.map((r) => r.approval_id)).toContain(approvalId);

      // A cannot approve their own request.
      const self = rid('self-approval');
      const eSelf = await expectError(kms.admin.call('ApproveRequest', { approval_id: approvalId }, self), status.PERMISSION_DENIED, 'SELF_APPROVAL');
      expect(eSelf.details).toMatch(/second person/);
      await expectAudited(self, { operation: 'ApproveRequest', outcome: 'DENIED', error_code: 'SELF_APPROVAL', actor: kms.admin.identityId });

      // People without the right role, and workloads, cannot approve.
      for (const [who, actor] of [
        ['oncall', oncall],
        ['officer', officer],
        ['workload', app],
      ] as const) {
        const requestId2 = rid(`approve-${who}`);
        await expectError(actor.call('ApproveRequest', { approval_id: approvalId }, requestId2), status.PERMISSION_DENIED, 'PERMISSION_DENIED');
        await expectAudited(requestId2, { operation: 'ApproveRequest', outcome: 'DENIED', error_code: 'PERMISSION_DENIED', actor: actor.identityId });
      }
      expect(await versionStates(k)).toEqual(['ENABLED', 'ENABLED']);
      expect((await kms.admin.call<Approval>('GetApprovalRequest', { approval_id: approvalId })).status).toBe('PENDING');

      // Person B approves: the destruction is scheduled now, as A's operation with B recorded.
      const approveId = rid('approve-bob');
      const done = await bob.call<Approval>('ApproveRequest', { approval_id: approvalId, context: { reason: 'checked CHG-100' } }, approveId);
      expect(done).toMatchObject({ status: 'EXECUTED', approver: bob.identityId, requester: kms.admin.identityId });
      await expectAudited(approveId, { operation: 'ApproveRequest', outcome: 'SUCCESS', error_code: null, actor: bob.identityId });
      expect(await versionStates(k)).toEqual(['DESTROY_SCHEDULED', 'ENABLED']);
      expect((await app.call<{ plaintext: Buffer }>('Decrypt', { ciphertext })).plaintext.toString()).toBe('v2 data');

      const scheduled = (await streamEvents(kms.db, `key-${k}`)).filter((e) => e.type === 'KeyVersionDestructionScheduled');
      expect(scheduled).toHaveLength(1);
      expect(scheduled[0].metadata).toMatchObject({ actor: kms.admin.identityId, approvers: [bob.identityId], changeTicket: 'CHG-100', approvalId });

      expect(await approvalEvents(approvalId)).toEqual(['ApprovalRequested', 'ApprovalGranted', 'ApprovedOperationExecuted']);
      expect(noticesFor(approvalId)).toEqual(['ApprovalRequested', 'ApprovalGranted', 'ApprovedOperationExecuted']);

      // It ran once: a second approval is refused.
      await expectError(carol.call('ApproveRequest', { approval_id: approvalId }), status.FAILED_PRECONDITION, 'APPROVAL_NOT_PENDING');
      expect((await streamEvents(kms.db, `key-${k}`)).filter((e) => e.type === 'KeyVersionDestructionScheduled')).toHaveLength(1);
    });

    it('an expired request does nothing', async () => {
      const k = await twoVersionKey('dual-expire');
      const { approvalId } = await askDestruction(k, 'CHG-101');
      kms.clock.advance(25 * HOUR);
      const late = rid('late-approval');
      const e = await expectError(bob.call('ApproveRequest', { approval_id: approvalId }, late), status.FAILED_PRECONDITION, 'APPROVAL_EXPIRED');
      expect(e.details).toMatch(/nothing was done/);
      await expectAudited(late, { operation: 'ApproveRequest', outcome: 'FAILURE', error_code: 'APPROVAL_EXPIRED', actor: bob.identityId });
      expect(await versionStates(k)).toEqual(['ENABLED', 'ENABLED']);
      expect((await streamEvents(kms.db, `key-${k}`)).map((x) => x.type)).not.toContain('KeyVersionDestructionScheduled');
      expect((await bob.call<Approval>('GetApprovalRequest', { approval_id: approvalId })).status).toBe('EXPIRED');
      expect(await approvalEvents(approvalId)).toEqual(['ApprovalRequested', 'ApprovalExpired']);
      expect(noticesFor(approvalId)).toEqual(['ApprovalRequested', 'ApprovalExpired']);
      // Still nothing on a second try.
      const again = await carol.call('ApproveRequest', { approval_id: approvalId }).catch((err: unknown) => err);
      expect(again).toBeInstanceOf(KmsCallError);
      expect(status[(again as KmsCallError).code]).toBe('FAILED_PRECONDITION');
      expect(await versionStates(k)).toEqual(['ENABLED', 'ENABLED']);
    });

    it('an expired request keeps answering APPROVAL_EXPIRED, whoever marked it expired', async () => {
      const k = await twoVersionKey('dual-expire-swept');
      const first = await askDestruction(k, 'CHG-102');
      const second = await askDestruction(k, 'CHG-102b');
      kms.clock.advance(25 * HOUR);
      // The first is expired by a late approval, the second by what the service's 30-second timer does.
      await expectError(bob.call('ApproveRequest', { approval_id: first.approvalId }), status.FAILED_PRECONDITION, 'APPROVAL_EXPIRED');
      await kms.service.app.get(ApprovalService).expireDue({ actor: 'system:approval-expiry', correlationId: randomUUID() });
      expect(await approvalEvents(second.approvalId)).toEqual(['ApprovalRequested', 'ApprovalExpired']);
      // A client must not get a different code depending on which came first.
      await expectError(bob.call('ApproveRequest', { approval_id: first.approvalId }), status.FAILED_PRECONDITION, 'APPROVAL_EXPIRED');
      await expectError(bob.call('ApproveRequest', { approval_id: second.approvalId }), status.FAILED_PRECONDITION, 'APPROVAL_EXPIRED');
      expect(await versionStates(k)).toEqual(['ENABLED', 'ENABLED']);
    });

    it('a rejected request can no longer be approved', async () => {
      const k = await twoVersionKey('dual-reject');
      const { approvalId } = await askDestruction(k, 'CHG-103');
      const rejectId = rid('reject');
      expect((await bob.call<Approval>('RejectRequest', { approval_id: approvalId }, rejectId)).status).toBe('REJECTED');
      await expectAudited(rejectId, { operation: 'RejectRequest', outcome: 'SUCCESS', error_code: null, actor: bob.identityId });
      const late = rid('approve-rejected');
      await expectError(carol.call('ApproveRequest', { approval_id: approvalId }, late), status.FAILED_PRECONDITION, 'APPROVAL_NOT_PENDING');
      await expectAudited(late, { operation: 'ApproveRequest', outcome: 'FAILURE', error_code: 'APPROVAL_NOT_PENDING', actor: carol.identityId });
      await expectError(bob.call('ApproveRequest', { approval_id: approvalId }), status.FAILED_PRECONDITION, 'APPROVAL_NOT_PENDING');
      expect(await versionStates(k)).toEqual(['ENABLED', 'ENABLED']);
      expect(await approvalEvents(approvalId)).toEqual(['ApprovalRequested', 'ApprovalRejected']);
      expect(noticesFor(approvalId)).toEqual(['ApprovalRequested', 'ApprovalRejected']);
    });
  });

  describe('suspension', () => {
    it('a suspended workload is refused at once; re-enabling needs a second person and old tokens stay dead', async () => {
      const worker = await kms.register('suspendable-app', 'WORKLOAD');
      const k = (await createKey('suspension', { [worker.identityId]: ['ENCRYPT'] })).key_id;
      const encrypt = (token: string, requestId = rid('encrypt')) => kms.client.call('Encrypt', { key_id: k, plaintext: Buffer.from('x') }, { token, requestId });
      const oldToken = await worker.token();
      await encrypt(oldToken);

      kms.clock.advance(MINUTE);
      const suspended = await kms.admin.call<{ suspended: boolean }>('SuspendIdentity', { identity_id: worker.identityId });
      expect(suspended.suspended).toBe(true);

      const refused = rid('suspended-token');
      const e = await expectError(encrypt(oldToken, refused), status.PERMISSION_DENIED, 'PERMISSION_DENIED');
      expect(e.details).toMatch(/suspended/);
      const issue = rid('suspended-issue');
      await expectError(
        kms.client.call('IssueToken', { client_id: worker.identityId, client_secret: worker.clientSecret }, { requestId: issue }),
        status.PERMISSION_DENIED,
        'PERMISSION_DENIED',
      );
      await expectAudited(issue, { operation: 'IssueToken', outcome: 'DENIED', error_code: 'PERMISSION_DENIED', actor: worker.identityId });

      // Re-enabling: needs a ticket, then a second person with the right role.
      kms.clock.advance(MINUTE);
      await expectError(kms.admin.call('ReEnableIdentity', { identity_id: worker.identityId }), status.INVALID_ARGUMENT, 'INVALID_ARGUMENT', 'context.change_ticket');
      const askId = rid('ask-reenable');
      const asked = await trailers.refusal(
        'ReEnableIdentity',
        { identity_id: worker.identityId, context: { change_ticket: 'CHG-300' } },
        { token: await kms.admin.token(), requestId: askId },
      );
      expect({ code: status[asked.code], errorCode: asked.trailers['kms-error-code'] }).toEqual({ code: 'FAILED_PRECONDITION', errorCode: 'APPROVAL_REQUIRED' });
      const approvalId = asked.trailers['kms-approval-id'];
      expect(asked.details).toContain(approvalId);
      await expectAudited(askId, { operation: 'ReEnableIdentity', outcome: 'FAILURE', error_code: 'APPROVAL_REQUIRED', actor: kms.admin.identityId });
      await expectError(kms.client.call('IssueToken', { client_id: worker.identityId, client_secret: worker.clientSecret }), status.PERMISSION_DENIED, 'PERMISSION_DENIED');

      // Re-enabling an identity is security-engineering's: a key-admin may not approve it.
      const wrongRole = rid('reenable-keyadmin');
      await expectError(bob.call('ApproveRequest', { approval_id: approvalId }, wrongRole), status.PERMISSION_DENIED, 'PERMISSION_DENIED');
      await expectAudited(wrongRole, { operation: 'ApproveRequest', outcome: 'DENIED', error_code: 'PERMISSION_DENIED', actor: bob.identityId });
      await expectError(kms.admin.call('ApproveRequest', { approval_id: approvalId }), status.PERMISSION_DENIED, 'SELF_APPROVAL');
      expect((await carol.call<Approval>('ApproveRequest', { approval_id: approvalId })).status).toBe('EXECUTED');

      const fresh = await kms.client.call<{ access_token: string }>('IssueToken', { client_id: worker.identityId, client_secret: worker.clientSecret });
      await encrypt(fresh.access_token);
      // The token from before the suspension is still within its 15 minutes, and still refused.
      const stale = rid('pre-suspension-token');
      await expectError(encrypt(oldToken, stale), status.UNAUTHENTICATED, 'UNAUTHENTICATED');
      await expectAudited(stale, { operation: 'Encrypt', outcome: 'DENIED', error_code: 'UNAUTHENTICATED', actor: 'unauthenticated' });

      const events = await streamEvents(kms.db, `identity-${worker.identityId}`);
      expect(events.map((x) => x.type)).toEqual(['IdentityRegistered', 'IdentitySuspended', 'IdentityReEnabled']);
      expect(events[2].metadata).toMatchObject({ actor: kms.admin.identityId, approvers: [carol.identityId], approvalId, changeTicket: 'CHG-300' });
    });

    it("a suspended identity's refused call is audited under that identity", async () => {
      const worker = await kms.register('suspended-auditee', 'WORKLOAD');
      const k = (await createKey('suspension-audit', { [worker.identityId]: ['ENCRYPT'] })).key_id;
      const token = await worker.token();
      kms.clock.advance(MINUTE);
      await kms.admin.call('SuspendIdentity', { identity_id: worker.identityId });
      const requestId = rid('suspended-audit');
      await expectError(kms.client.call('Encrypt', { key_id: k, plaintext: Buffer.from('x') }, { token, requestId }), status.PERMISSION_DENIED, 'PERMISSION_DENIED');
      // Who tried to use a key after being suspended is exactly what an auditor asks.
      await expectAudited(requestId, { operation: 'Encrypt', outcome: 'DENIED', error_code: 'PERMISSION_DENIED', actor: worker.identityId });
    });

    it('an on-call engineer may suspend a workload but not re-enable it', async () => {
      const worker = await kms.register('oncall-suspends', 'WORKLOAD');
      expect((await oncall.call<{ suspended: boolean }>('SuspendIdentity', { identity_id: worker.identityId })).suspended).toBe(true);
      await expectError(
        oncall.call('ReEnableIdentity', { identity_id: worker.identityId, context: { change_ticket: 'CHG-301' } }),
        status.PERMISSION_DENIED,
        'PERMISSION_DENIED',
      );
    });

    it('a token issued in the same second as, but before, a suspension stays refused after re-enabling', async () => {
      const worker = await kms.register('same-second-suspend', 'WORKLOAD');
      const k = (await createKey('same-second-suspend', { [worker.identityId]: ['ENCRYPT'] })).key_id;
      toStartOfSecond();
      const token = await worker.token();
      kms.clock.advance(300);
      await kms.admin.call('SuspendIdentity', { identity_id: worker.identityId });
      const asked = await trailers.refusal(
        'ReEnableIdentity',
        { identity_id: worker.identityId, context: { change_ticket: 'CHG-302' } },
        { token: await kms.admin.token() },
      );
      kms.clock.advance(300);
      expect((await carol.call<Approval>('ApproveRequest', { approval_id: asked.trailers['kms-approval-id'] })).status).toBe('EXECUTED');
      await expectError(kms.client.call('Encrypt', { key_id: k, plaintext: Buffer.from('x') }, { token }), status.UNAUTHENTICATED, 'UNAUTHENTICATED');
    });
  });
});
