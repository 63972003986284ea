import { execFile, spawn } from 'node:child_process';
import { createHash, verify as verifySignature } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { decodeJwt } from 'jose';
import { AuditProjectorModule, complianceIdentity, SoftwareAttestationSigner } from '@kms/audit-projector';
import { coseToPublicKey } from '@kms/evidence';
import { BUNDLE_FILES, readTar, sha256Hex } from '@kms/ledger';
import { PostgresAuditFeed } from '@kms/persistence-postgres';
import { approvalIdOf, type EnrolledPerson, manualCeremonyClock, REPO_ROOT, type TestAuthenticator, withOneCharChanged } from '@kms/testing';
import { type Actor, type KeyServiceUnderTest, startKeyServiceUnderTest } from './key-service.e2e-harness';

jest.setTimeout(180_000);

type Answer = { status: number; body: Record<string, unknown>; headers: Headers };
type Person = Actor & { key: TestAuthenticator; secret: string; factors: EnrolledPerson };
type Session = { cookie: string; csrf: string; setCookie: string; body: Record<string, unknown> };

/**
 * The console's server side over its own HTTP API (docs/console.md): sessions (cookie, CSRF,
 * expiry, suspension), approvals with a step-up FIDO2 assertion stored in the approval's history,
 * the compliance pass-through, and the device flow with `kms login` run as its own process. Real
 * PostgreSQL; WebAuthn answers from the spec-following TestAuthenticator; TOTP codes from oathtool.
 */
describe('console API: sessions, approvals with step-up, compliance pass-through, device flow', () => {
  let sut: KeyServiceUnderTest;
  let origin: string;
  let alice: Person;
  let bob: Person;
  let keyId: string;
  let attestation: SoftwareAttestationSigner;

  beforeAll(async () => {
    sut = await startKeyServiceUnderTest('console_api', {}, {
      // The compliance API on the same HTTP server, as standalone mode serves it: the pass-through's default target.
      extraModules: (rt, config) => [
        AuditProjectorModule.forRoot(config, {
          eventStore: rt.deps.store,
          auditFeed: new PostgresAuditFeed(rt.pool, rt.auditSealer),
          auditLog: rt.audit,
          signer: (attestation = SoftwareAttestationSigner.fromSeed(rt.deriveKey('audit-attestation-v1'))),
          identity: complianceIdentity(rt.deps.store, rt.deps.secrets, rt.deps.clock),
          clock: rt.deps.clock,
          settings: { origin: config.auditProjector.ledgerOrigin },
        }),
      ],
    });
    origin = `http://localhost:${new URL(sut.httpUrl).port}`;
    alice = await enrolled(await sut.register('alice-console', 'HUMAN', ['key-admin']));
    bob = await enrolled(await sut.register('bob-console', 'HUMAN', ['security-engineering', 'key-admin']));
    keyId = (await alice.call<{ key_id: string }>('CreateKey', { tenant: 'acme', name: 'console-payments', purpose: 'SERVICE_ENVELOPE', algorithm: 'AES_256_GCM' })).key_id;
  });
  afterAll(async () => sut?.stop());

  const seconds = (n: number) => sut.clock.advance(n * 1000);
  const challengeOf = (a: Answer) => (a.body['options'] as { challenge: string }).challenge;

  async function http(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    const res = await fetch(`${sut.httpUrl}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: res.headers };
  }
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) => http('POST', `/v1/console/${path}`, body, headers);
  /** A session route, with the cookie and (unless told otherwise) the CSRF header. */
  const api = (s: Session, method: string, path: string, body?: unknown, csrf: string | null = s.csrf) =>
    http(method, `/v1/console/api/${path}`, body, { cookie: `kms_console=${s.cookie}`, ...(csrf === null ? {} : { 'x-kms-csrf': csrf }) });

  /** Enrol both factors through the harness (link by the admin, test security key, oathtool), which then signs them in for gRPC too. */
  async function enrolled(person: Actor): Promise<Person> {
    const factors = await sut.people.factorsOf(person.identityId);
    return Object.assign(person, { key: factors.key, secret: factors.totpSecret, factors });
  }

  /** Sign in to a console session by name: security key, then a fresh TOTP step. */
  async function signIn(p: Person): Promise<Session> {
    seconds(30);
    const options = await post('sign-in/options', { name: p.name });
    expect(options.status).toBe(200);
    const r = await post('sign-in', { ceremony_id: options.body['ceremony_id'], response: p.key.assert({ challenge: challengeOf(options) }), totp_code: await p.factors.nextCode(manualCeremonyClock(sut.clock)), session: true });
    expect(r.status).toBe(200);
    const setCookie = r.headers.get('set-cookie') ?? '';
    const cookie = /^kms_console=([A-Za-z0-9_-]{43});/.exec(setCookie)?.[1];
    if (!cookie) throw new Error(`no session cookie in ${setCookie}`);
    return { cookie, csrf: r.body['csrf_token'] as string, setCookie, body: r.body };
  }

  async function requestPolicyChange(ticket: string): Promise<string> {
    try {
      await alice.call('SetKeyPolicy', { key_id: keyId, policy: { grants: { [bob.identityId]: { permissions: ['ENCRYPT'] } } }, context: { change_ticket: ticket, reason: 'console test' } });
    } catch (e) {
      return approvalIdOf(e);
    }
    throw new Error('SetKeyPolicy by a person did not ask for a second person');
  }

  async function denied(operation: string): Promise<Array<{ reason: string | null; error_code: string; actor: string }>> {
    const { rows } = await sut.db.query<{ reason: string | null; error_code: string; actor: string }>(
      "SELECT details->>'reason' AS reason, error_code, actor FROM audit_records WHERE operation = $1 AND outcome = 'DENIED' ORDER BY time, id",
      [operation],
    );
    return rows;
  }

  describe('sessions', () => {
    it('signs in by name to a cookie session: HttpOnly, SameSite=Strict, Path=/, Max-Age 900, no token in the body; the id is stored hashed', async () => {
      const s = await signIn(alice);
      expect(s.setCookie).toMatch(/^kms_console=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=900$/);
      expect(s.setCookie).not.toContain('Secure'); // the console origin is http here
      expect(s.body).toEqual({ identity_id: alice.identityId, name: alice.name, roles: ['key-admin'], expires_at: new Date(sut.clock.now().getTime() + 900_000).toISOString(), csrf_token: s.csrf });
      expect(s.body).not.toHaveProperty('access_token');
      const me = await api(s, 'GET', 'session', undefined, null);
      expect(me).toMatchObject({ status: 200, body: s.body });
      // Only the hash of the id; the token sealed, not in clear.
      const { rows } = await sut.db.query<{ session_hash: Buffer; sealed_token: Buffer }>('SELECT session_hash, sealed_token FROM console_sessions WHERE identity_id = $1', [alice.identityId]);
      expect(rows.map((r) => r.session_hash.toString('hex'))).toContain(createHash('sha256').update(s.cookie).digest('hex'));
      for (const r of rows) expect(r.sealed_token.toString('latin1')).not.toMatch(/eyJ/);
      const { rows: dump } = await sut.db.query<{ text: string }>("SELECT coalesce(string_agg(t::text, '\n'), '') AS text FROM (SELECT row_to_json(e)::text AS t FROM events e UNION ALL SELECT row_to_json(a)::text FROM audit_records a) x");
      expect(dump[0].text).not.toContain(s.cookie);
      expect(dump[0].text).not.toContain(s.csrf);
    });

    it('refuses without a cookie (401 SESSION_REQUIRED) and a state change without or with a wrong CSRF header (403 CSRF), audited', async () => {
      expect(await http('GET', '/v1/console/api/session')).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED', reason: 'SESSION_REQUIRED' } });
      expect(await http('GET', '/v1/console/api/approvals', undefined, { cookie: 'kms_console=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' })).toMatchObject({ status: 401, body: { reason: 'SESSION_REQUIRED' } });
      const s = await signIn(alice);
      expect(await api(s, 'POST', 'sign-out', undefined, null)).toMatchObject({ status: 403, body: { code: 'PERMISSION_DENIED', reason: 'CSRF', field: 'x-kms-csrf' } });
      expect(await api(s, 'POST', 'sign-out', undefined, withOneCharChanged(s.csrf))).toMatchObject({ status: 403, body: { reason: 'CSRF' } });
      expect((await denied('ConsoleSignOut')).filter((d) => d.reason === 'CSRF' && d.actor === alice.identityId)).toHaveLength(2);
      // Sign-out with the header: 204, the cookie cleared, the session gone.
      const out = await api(s, 'POST', 'sign-out');
      expect(out.status).toBe(204);
      expect(out.headers.get('set-cookie')).toBe('kms_console=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0');
      expect(await api(s, 'GET', 'session')).toMatchObject({ status: 401, body: { reason: 'SESSION_REQUIRED' } });
    });

    it('ends a session 15 minutes after sign-in, whatever happens meanwhile', async () => {
      const s = await signIn(alice);
      seconds(14 * 60 + 59);
      expect((await api(s, 'GET', 'session')).status).toBe(200);
      seconds(1);
      expect(await api(s, 'GET', 'session')).toMatchObject({ status: 401, body: { reason: 'SESSION_REQUIRED' } });
    });
  });

  describe('approvals with step-up', () => {
    it("lists approvals with the own flag; B approves A's request with a step-up that is stored and verifies offline; A's own approval, a reused or foreign ceremony are refused", async () => {
      const approvalId = await requestPolicyChange('CHG-CONSOLE-1');
      const other = await requestPolicyChange('CHG-CONSOLE-2');
      const a = await signIn(alice);
      const b = await signIn(bob);

      const listed = (s: Session) => api(s, 'GET', 'approvals').then((r) => (r.body['items'] as Array<Record<string, unknown>>).find((i) => i['approval_id'] === approvalId));
      expect(await listed(a)).toMatchObject({ own: true, status: 'PENDING', operation: 'SetKeyPolicy', target_id: keyId, target_name: 'console-payments', requester_id: alice.identityId, requester_name: alice.name, change_ticket: 'CHG-CONSOLE-1' });
      expect(await listed(b)).toMatchObject({ own: false, status: 'PENDING' });

      // A approving their own request: refused by the decider (SELF_APPROVAL), as ApproveRequest is.
      const ownStepUp = await api(a, 'POST', `approvals/${approvalId}/step-up`);
      expect(ownStepUp.status).toBe(200);
      const own = await api(a, 'POST', `approvals/${approvalId}/approve`, { ceremony_id: ownStepUp.body['ceremony_id'], response: alice.key.assert({ challenge: challengeOf(ownStepUp) }) });
      expect(own).toMatchObject({ status: 403, body: { code: 'SELF_APPROVAL' } });

      // A step-up made for another approval does not approve this one.
      const foreign = await api(b, 'POST', `approvals/${other}/step-up`);
      const wrong = await api(b, 'POST', `approvals/${approvalId}/approve`, { ceremony_id: foreign.body['ceremony_id'], response: bob.key.assert({ challenge: challengeOf(foreign) }) });
      expect(wrong).toMatchObject({ status: 403, body: { code: 'PERMISSION_DENIED', field: 'ceremony_id', reason: 'STEP_UP_WRONG_BINDING' } });
      // Someone else's ceremony (alice's, for this very approval) is not bob's.
      const alices = await api(a, 'POST', `approvals/${approvalId}/step-up`);
      expect(await api(b, 'POST', `approvals/${approvalId}/approve`, { ceremony_id: alices.body['ceremony_id'], response: bob.key.assert({ challenge: challengeOf(alices) }) })).toMatchObject({ status: 403, body: { reason: 'STEP_UP_OF_ANOTHER_PERSON' } });
      // Without the CSRF header nothing is looked at.
      expect(await api(b, 'POST', `approvals/${approvalId}/step-up`, undefined, null)).toMatchObject({ status: 403, body: { reason: 'CSRF' } });

      // B: step-up bound to (approval, ticket, approve, bob), then approve: the change runs.
      const stepUp = await api(b, 'POST', `approvals/${approvalId}/step-up`);
      expect(stepUp.status).toBe(200);
      const options = stepUp.body['options'] as { userVerification: string; rpId: string; allowCredentials: Array<{ id: string }> };
      expect(options).toMatchObject({ userVerification: 'required', rpId: 'localhost', allowCredentials: [{ id: bob.key.id }] });
      const assertion = bob.key.assert({ challenge: challengeOf(stepUp) });
      const approved = await api(b, 'POST', `approvals/${approvalId}/approve`, { ceremony_id: stepUp.body['ceremony_id'], response: assertion });
      expect(approved).toMatchObject({ status: 200, body: { approval_id: approvalId, status: 'EXECUTED', own: false, decided_by: bob.identityId } });
      const key = await sut.admin.call<{ policy: { grants: Record<string, { permissions: string[] }> } }>('GetKey', { key_id: keyId });
      expect(key.policy.grants[bob.identityId]?.permissions).toEqual(['ENCRYPT']);
      // The same ceremony again: single use.
      expect(await api(b, 'POST', `approvals/${other}/approve`, { ceremony_id: stepUp.body['ceremony_id'], response: assertion })).toMatchObject({ status: 403, body: { reason: 'STEP_UP_STALE' } });

      // The assertion is in the approval's sealed history, with the credential's COSE public key.
      const { rows } = await sut.db.query<{ data: { stepUp: Record<string, unknown> & { binding: Record<string, string> } }; metadata: { auditRecordId: string } }>(
        "SELECT data, metadata FROM events WHERE stream_id = $1 AND type = 'ApprovalGranted'",
        [`approval-${approvalId}`],
      );
      expect(rows).toHaveLength(1);
      const stored = rows[0].data.stepUp;
      expect(stored).toMatchObject({ scheme: 'kms-approval-step-up-v1', credentialId: bob.key.id, algorithm: -7, binding: { approval_id: approvalId, change_ticket: 'CHG-CONSOLE-1', decision: 'approve', identity_id: bob.identityId } });
      expect(Buffer.from(stored['publicKey'] as string, 'base64url')).toEqual(bob.key.coseKey());

      // Offline, with node:crypto only: the challenge is SHA-256 of the binding, and the key signed it.
      const b64 = (f: string) => Buffer.from(stored[f] as string, 'base64url');
      const clientData = JSON.parse(b64('clientDataJSON').toString('utf8')) as { type: string; challenge: string; origin: string };
      const bound = stored.binding;
      const canonical = JSON.stringify({ approval_id: bound['approval_id'], change_ticket: bound['change_ticket'], decision: bound['decision'], identity_id: bound['identity_id'], nonce: bound['nonce'] });
      expect(clientData).toMatchObject({ type: 'webauthn.get', origin, challenge: createHash('sha256').update(canonical).digest('base64url') });
      const { key: publicKey, algorithm } = coseToPublicKey(b64('publicKey')); // the offline verifier's COSE reading
      expect(algorithm).toBe(-7); // ES256, P-256
      expect(stored['rpId']).toBe('localhost');
      const signed = Buffer.concat([b64('authenticatorData'), createHash('sha256').update(b64('clientDataJSON')).digest()]);
      expect(verifySignature('sha256', signed, publicKey, b64('signature'))).toBe(true);
      // A different decision (another ticket) would not verify against that signature.
      const tampered = Buffer.concat([b64('authenticatorData'), createHash('sha256').update(b64('clientDataJSON').toString('utf8').replace(clientData.challenge, 'x')).digest()]);
      expect(verifySignature('sha256', tampered, publicKey, b64('signature'))).toBe(false);
      // User verification flag (UV, bit 2) set in the signed authenticator data.
      expect(b64('authenticatorData')[32] & 0x04).toBe(0x04);

      // The refusals are on the record, DENIED with their reasons; the grant names the approval.
      const refusals = await denied('ApproveRequest');
      expect(refusals.map((r) => r.error_code)).toContain('SELF_APPROVAL');
      expect(refusals.map((r) => r.reason)).toEqual(expect.arrayContaining(['STEP_UP_WRONG_BINDING', 'STEP_UP_OF_ANOTHER_PERSON', 'STEP_UP_STALE']));
      const { rows: granted } = await sut.db.query<{ actor: string; details: Record<string, unknown> }>('SELECT actor, details FROM audit_records WHERE id = $1', [rows[0].metadata.auditRecordId]);
      expect(granted[0]).toMatchObject({ actor: bob.identityId, details: { approvalId, status: 'Executed', stepUpCredentialId: bob.key.id, via: 'console-session' } });

      // Reject, with a reason (required).
      expect(await api(b, 'POST', `approvals/${other}/reject`, {})).toMatchObject({ status: 400, body: { field: 'reason' } });
      expect(await api(b, 'POST', `approvals/${other}/reject`, { reason: 'not now' })).toMatchObject({ status: 200, body: { approval_id: other, status: 'REJECTED' } });
    });
  });

  describe('evidence bundle with the step-up', () => {
    /** scripts/verify-evidence-bundle.ts as an auditor runs it: its own process, the bundle and the published key only. */
    const verifyBundle = (bundle: string, pem: string) =>
      new Promise<{ code: number; out: string }>((ok) =>
        execFile(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'scripts/verify-evidence-bundle.ts'), bundle, pem], { cwd: REPO_ROOT, timeout: 60_000 }, (e, o, er) =>
          ok({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out: `${o}${er}` }),
        ),
      );

    it("the key's bundle carries B's step-up, which the offline verifier re-checks (OK naming the approval), warns on a gRPC approval without one, and fails a tampered copy", async () => {
      const stepped = await requestPolicyChange('CHG-EVIDENCE-1');
      const plain = await requestPolicyChange('CHG-EVIDENCE-2');
      const b = await signIn(bob);
      const stepUp = await api(b, 'POST', `approvals/${stepped}/step-up`);
      expect(await api(b, 'POST', `approvals/${stepped}/approve`, { ceremony_id: stepUp.body['ceremony_id'], response: bob.key.assert({ challenge: challengeOf(stepUp) }) })).toMatchObject({ status: 200, body: { status: 'EXECUTED' } });
      // The same person approving over gRPC: no step-up assertion.
      await bob.call('ApproveRequest', { approval_id: plain });

      // Exported as B (security-engineering: ExportEvidence) through the console, once the projector has both grants.
      const compliance = (path: string) => fetch(`${sut.httpUrl}/v1/console/api/compliance/${path}`, { headers: { cookie: `kms_console=${b.cookie}` } });
      const deadline = Date.now() + 20_000;
      for (;;) {
        const listed = (await (await compliance(`approvals?targetId=${keyId}`)).json()) as { items: Array<{ approval_id: string; status: string }> };
        if ([stepped, plain].every((id) => listed.items.some((i) => i.approval_id === id && i.status === 'Executed'))) break;
        if (Date.now() > deadline) throw new Error(`the projector did not catch up: ${JSON.stringify(listed)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const res = await compliance(`evidence/keys/${keyId}`);
      expect(res.status).toBe(200);
      const tar = Buffer.from(await res.arrayBuffer());
      const files = readTar(tar);
      const work = mkdtempSync(join(tmpdir(), 'kms-console-evidence-'));
      try {
        const bundle = join(work, 'bundle.tar');
        const pem = join(work, 'attestation.pem');
        writeFileSync(bundle, tar);
        writeFileSync(pem, await attestation.publicKeyPem());

        // The assertion travels in approvals.json with the approval record; bob's enrolment event in events.json.
        const approvals = JSON.parse((files.get(BUNDLE_FILES.approvals) as Buffer).toString()) as Array<{ approval: { approvalId: string; stepUp?: { credentialId: string; publicKey: string } } }>;
        expect(approvals.find((a) => a.approval.approvalId === stepped)?.approval.stepUp).toMatchObject({ credentialId: bob.key.id, publicKey: bob.key.coseKey().toString('base64url') });
        expect(approvals.find((a) => a.approval.approvalId === plain)?.approval).not.toHaveProperty('stepUp');
        const events = JSON.parse((files.get(BUNDLE_FILES.events) as Buffer).toString()) as Array<{ type: string; streamId: string; data: Record<string, unknown> }>;
        expect(events.filter((e) => e.type === 'WebAuthnCredentialEnrolled')).toEqual([
          expect.objectContaining({ streamId: `person-factors-${bob.identityId}`, data: expect.objectContaining({ credentialId: bob.key.id, publicKeyFingerprint: sha256Hex(bob.key.coseKey()) }) }),
        ]);
        // No secret of any kind in the bundle: no session, CSRF token or TOTP secret.
        for (const content of files.values()) for (const secret of [b.cookie, b.csrf, bob.secret, alice.secret]) expect(content.toString('latin1')).not.toContain(secret);

        const ok = await verifyBundle(bundle, pem);
        expect(ok.out).toContain(`OK   approvals.json: approval ${stepped} (SetKeyPolicy, ticket CHG-EVIDENCE-1): the step-up assertion of credential ${bob.key.id} (ES256) verifies: approver ${bob.identityId}'s key signed this approval and ticket`);
        expect(ok.out).toContain(`OK   approvals.json: approval ${stepped} (SetKeyPolicy, ticket CHG-EVIDENCE-1): credential ${bob.key.id} was enrolled by ${bob.identityId} with this public key`);
        expect(ok.out).toContain(`WARN approvals.json: approval ${plain} (SetKeyPolicy, ticket CHG-EVIDENCE-2) was granted by ${bob.identityId} without a step-up FIDO2 assertion`);
        expect(ok.out).toContain('VERIFIED: every check passed');
        expect(ok.code).toBe(0);

        // A tampered copy: one byte of the stored signature changed.
        const dir = join(work, 'tampered');
        for (const [path, content] of files) {
          mkdirSync(dirname(join(dir, path)), { recursive: true });
          writeFileSync(join(dir, path), content);
        }
        const signature = approvals.find((a) => a.approval.approvalId === stepped)?.approval.stepUp as unknown as { signature: string };
        const text = (files.get(BUNDLE_FILES.approvals) as Buffer).toString();
        const flipped = withOneCharChanged(signature.signature, 20);
        writeFileSync(join(dir, BUNDLE_FILES.approvals), text.replace(signature.signature, flipped));
        const bad = await verifyBundle(dir, pem);
        expect(bad.code).toBe(1);
        expect(bad.out).toContain('FAIL approvals.json: SHA-256 does not match the manifest');
        // Even re-signed by someone holding the attestation key, the altered assertion does not verify, naming the approval.
        const manifest = JSON.parse((files.get(BUNDLE_FILES.manifest) as Buffer).toString()) as { files: Array<{ path: string; sha256: string; bytes: number }> };
        const forgedApprovals = Buffer.from(text.replace(signature.signature, flipped));
        const forgedEvents = Buffer.from((files.get(BUNDLE_FILES.events) as Buffer).toString().replace(signature.signature, flipped));
        for (const entry of manifest.files) {
          const content = entry.path === BUNDLE_FILES.approvals ? forgedApprovals : entry.path === BUNDLE_FILES.events ? forgedEvents : undefined;
          if (content) Object.assign(entry, { sha256: sha256Hex(content), bytes: content.length });
        }
        const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
        writeFileSync(join(dir, BUNDLE_FILES.manifest), manifestBytes);
        writeFileSync(join(dir, BUNDLE_FILES.manifestSignature), `${(await attestation.sign(manifestBytes)).toString('base64')}\n`);
        writeFileSync(join(dir, BUNDLE_FILES.approvals), forgedApprovals);
        writeFileSync(join(dir, BUNDLE_FILES.events), forgedEvents);
        const forged = await verifyBundle(dir, pem);
        expect(forged.code).toBe(1);
        expect(forged.out).toContain('OK   manifest.json: signed by the attestation key');
        expect(forged.out).toContain(`FAIL approvals.json: approval ${stepped} (SetKeyPolicy, ticket CHG-EVIDENCE-1): step-up assertion: the signature does not verify over authenticatorData ‖ SHA-256(clientDataJSON) with the public key`);
        expect(forged.out).toMatch(/FAIL events\.json: event [0-9a-f-]+ is not included in the signed checkpoint/);
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    });
  });

  describe('compliance pass-through', () => {
    it("reads the compliance API as the session's person (keys list, query kept) and refuses a path outside the allow-list", async () => {
      const b = await signIn(bob);
      let keys: Answer | undefined;
      for (let i = 0; i < 50; i++) {
        keys = await api(b, 'GET', `compliance/keys?tenant=acme&page_size=50`);
        if (keys.status === 200 && (keys.body['items'] as Array<{ key_id: string }>).some((k) => k.key_id === keyId)) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(keys?.status).toBe(200);
      expect(keys?.headers.get('content-type')).toMatch(/^application\/json/);
      expect((keys?.body['items'] as Array<{ key_id: string }>).map((k) => k.key_id)).toContain(keyId);
      // The compliance API's own refusal passes through as it is (status and problem body).
      const a = await signIn(alice);
      const refused = await api(a, 'GET', 'compliance/audit-records');
      expect(refused.status).toBe(403);
      expect(refused.headers.get('content-type')).toMatch(/problem\+json/);
      // Outside the allow-list: refused before anything is forwarded.
      expect(await api(b, 'GET', 'compliance/ledger/reconciliations/latest')).toMatchObject({ status: 400, body: { field: 'path' } });
      expect(await api(b, 'GET', 'compliance/keys/..%2F..%2Fconsole/history')).toMatchObject({ status: 400, body: { field: 'path' } });
      expect((await http('GET', '/v1/console/api/compliance/keys')).status).toBe(401);
    });
  });

  describe('device authorization', () => {
    it('pending → slow_down when polled too fast → approved by a session person → a token once; deny; expiry', async () => {
      const begun = await post('device/code', { client_name: 'laptop of bob' });
      expect(begun.status).toBe(200);
      expect(begun.body).toMatchObject({ expires_in: 600, interval: 5, verification_uri: `${origin}/console/device` });
      const userCode = begun.body['user_code'] as string;
      expect(userCode).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
      expect(begun.body['verification_uri_complete']).toBe(`${origin}/console/device?code=${userCode}`);
      const deviceCode = begun.body['device_code'] as string;
      expect(deviceCode).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const poll = () => post('device/token', { device_code: deviceCode });

      expect(await poll()).toMatchObject({ status: 400, body: { error: 'authorization_pending' } });
      expect(await poll()).toMatchObject({ status: 400, body: { error: 'slow_down' } });
      seconds(10);
      expect(await poll()).toMatchObject({ status: 400, body: { error: 'authorization_pending' } });
      expect(await post('device/token', { device_code: 'short' })).toMatchObject({ status: 400, body: { error: 'invalid_request', field: 'device_code' } });

      const b = await signIn(bob);
      expect(await api(b, 'GET', `device/${userCode.toLowerCase().replace('-', '')}`)).toMatchObject({ status: 200, body: { user_code: userCode, client_name: 'laptop of bob', status: 'pending' } });
      expect(await api(b, 'POST', `device/${userCode}/approve`, undefined, null)).toMatchObject({ status: 403, body: { reason: 'CSRF' } });
      expect((await api(b, 'POST', `device/${userCode}/approve`)).status).toBe(204);
      expect(await api(b, 'POST', `device/${userCode}/deny`)).toMatchObject({ status: 409, body: { code: 'DEVICE_AUTHORIZATION_NOT_PENDING' } });

      seconds(15);
      const issued = await poll();
      expect(issued).toMatchObject({ status: 200, body: { token_type: 'Bearer', expires_in: 900 } });
      const token = issued.body['access_token'] as string;
      expect(decodeJwt(token)).toMatchObject({ sub: bob.identityId, amr: ['hwk', 'otp'], cid: bob.key.id });
      await expect(sut.client.call('ListKeys', {}, { token })).resolves.toHaveProperty('keys');
      seconds(15);
      expect(await poll()).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });

      // Denied.
      const second = await post('device/code', {});
      expect((await api(b, 'POST', `device/${second.body['user_code'] as string}/deny`)).status).toBe(204);
      expect(await post('device/token', { device_code: second.body['device_code'] })).toMatchObject({ status: 400, body: { error: 'access_denied' } });
      // Expired after 10 minutes: nobody can approve it, and the CLI is told.
      const third = await post('device/code', {});
      seconds(601);
      expect(await post('device/token', { device_code: third.body['device_code'] })).toMatchObject({ status: 400, body: { error: 'expired_token' } });
      const late = await signIn(bob);
      expect(await api(late, 'POST', `device/${third.body['user_code'] as string}/approve`)).toMatchObject({ status: 404, body: { code: 'DEVICE_AUTHORIZATION_NOT_FOUND' } });

      // Audited: the codes asked for, the polls, the decisions; never the device code or the token.
      const { rows } = await sut.db.query<{ operation: string; text: string }>(
        "SELECT operation, row_to_json(a)::text AS text FROM audit_records a WHERE operation IN ('BeginDeviceLogin','PollDeviceLogin','ApproveDeviceLogin','DenyDeviceLogin')",
      );
      expect(new Set(rows.map((r) => r.operation))).toEqual(new Set(['BeginDeviceLogin', 'PollDeviceLogin', 'ApproveDeviceLogin', 'DenyDeviceLogin']));
      for (const r of rows) {
        expect(r.text).not.toContain(deviceCode);
        expect(r.text).not.toContain(token);
      }
      const { rows: stored } = await sut.db.query<{ device_code_hash: Buffer }>('SELECT device_code_hash FROM device_authorizations WHERE user_code = $1', [userCode]);
      expect(stored[0].device_code_hash).toEqual(createHash('sha256').update(deviceCode).digest());
    });

    it('kms login as its own process: prints the code, waits, writes a 0600 token file a later command uses; kms logout deletes it', async () => {
      // The CLI judges expiry by the wall clock: bring the service's clock to now, then let it run 5x fast.
      sut.clock.set(new Date(Math.max(Date.now(), sut.clock.now().getTime())));
      const ticking = setInterval(() => seconds(5), 1000);
      const dir = mkdtempSync(join(tmpdir(), 'kms-login-e2e-'));
      try {
        const bin = join(REPO_ROOT, 'bin', 'kms.js');
        const env = { ...process.env, XDG_CONFIG_HOME: dir, KMS_HTTP_URL: sut.httpUrl, KMS_ADDRESS: sut.service.grpcAddress, KMS_TOKEN: '', NO_COLOR: '1' };
        const child = spawn(process.execPath, [bin, 'login', '--client-name', 'e2e laptop'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
        const deadline = Date.now() + 60_000;
        while (!/code ([A-Z]{4}-[A-Z]{4})/.test(out) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
        const userCode = /code ([A-Z]{4}-[A-Z]{4})/.exec(out)?.[1];
        if (!userCode) throw new Error(`kms login printed no code: ${out} ${err}`);
        expect(out).toContain(`${origin}/console/device?code=${userCode}`);
        // Still waiting (pending polls) until a person approves.
        await new Promise((r) => setTimeout(r, 6000));
        expect(child.exitCode).toBeNull();
        const b = await signIn(bob);
        expect(await api(b, 'GET', `device/${userCode}`)).toMatchObject({ status: 200, body: { client_name: 'e2e laptop', status: 'pending' } });
        expect((await api(b, 'POST', `device/${userCode}/approve`)).status).toBe(204);
        expect(await exited).toBe(0);
        const file = join(dir, 'kms', 'token.json');
        expect(out).toContain(`Token saved to ${file} (mode 0600)`);
        expect(statSync(file).mode & 0o777).toBe(0o600);
        const saved = JSON.parse(readFileSync(file, 'utf8')) as { access_token: string; expires_at: string };
        expect(decodeJwt(saved.access_token)).toMatchObject({ sub: bob.identityId, amr: ['hwk', 'otp'], cid: bob.key.id });
        clearInterval(ticking);

        // A later command without KMS_TOKEN uses it.
        const run = (args: string[]) =>
          new Promise<{ code: number; out: string; err: string }>((ok) =>
            execFile(process.execPath, [bin, ...args], { env, timeout: 60_000 }, (e, o, er) => ok({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out: o, err: er })),
          );
        const listed = await run(['list-keys', '--json']);
        expect(listed.err).toBe('');
        expect(listed.code).toBe(0);
        expect(listed.out).toContain(keyId);
        expect((await run(['logout'])).code).toBe(0);
        expect(() => statSync(file)).toThrow();
      } finally {
        clearInterval(ticking);
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('suspension', () => {
    it("ends a suspended person's session at its next use", async () => {
      const a = await signIn(alice);
      expect((await api(a, 'GET', 'session')).status).toBe(200);
      await sut.admin.call('SuspendIdentity', { identity_id: alice.identityId });
      expect(await api(a, 'GET', 'session')).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED', reason: 'PERSON_SUSPENDED' } });
      // Gone for good: not even a later use finds it.
      expect(await api(a, 'GET', 'approvals')).toMatchObject({ status: 401, body: { reason: 'SESSION_REQUIRED' } });
    });
  });
});
