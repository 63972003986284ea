import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from 'playwright-core';
import { SoftwareAttestationSigner } from '@kms/audit-projector';
import { composeAuditProjector } from '@kms/audit-projector-app';
import { approvalIdOf, oathtoolTotp, REPO_ROOT } from '@kms/testing';
import { type Actor, type KeyServiceUnderTest, startKeyServiceUnderTest } from './key-service.e2e-harness';

/*
 * The console in a real browser: Debian's chromium driven by playwright-core, FIDO2 ceremonies with
 * Chrome's DevTools virtual authenticator (CTAP2, user verification), TOTP codes from Debian's
 * oathtool, against the real key service serving the console it built from apps/console.
 * The audit projector's compliance API runs on the same HTTP server, as standalone mode serves it,
 * so the console's compliance pass-through (inventory, history, evidence, controls) reaches it.
 */

const CHROMIUM = '/usr/bin/chromium';
/**
 * The screenshots of docs/console.md are rewritten only when asked (`KMS_CONSOLE_SCREENSHOTS=1`), so an
 * ordinary run leaves the tracked files alone; otherwise they go to the test's own folder.
 */
const DOCS_SCREENSHOTS = process.env['KMS_CONSOLE_SCREENSHOTS'] === '1';


/** A browser tab with its own virtual security key (CTAP2, resident keys, user verification). */
interface Tab {
  context: BrowserContext;
  page: Page;
  cdp: CDPSession;
  authenticatorId: string;
}

describe('the console in Chromium (FIDO2 virtual authenticator, oathtool codes)', () => {
  let sut: KeyServiceUnderTest;
  let browser: Browser;
  /** The test's own folder: the console it builds, and the screenshots unless they go to docs/. */
  let work: string;
  let origin: string;
  let port: string;
  let screenshots: string;
  let closeProjector: (() => Promise<void>) | undefined;
  const tabs: Tab[] = [];

  beforeAll(async () => {
    // The setup step installs Chromium: without it this test fails, it is never skipped.
    if (!existsSync(CHROMIUM)) throw new Error(`needs ${CHROMIUM}: scripts/setup.sh installs the chromium package`);
    // The console as this commit's sources build it, into a folder of the test's own.
    work = await mkdtemp(join(tmpdir(), 'kms-console-browser-'));
    const build = join(work, 'console');
    execFileSync('npx', ['--no-install', 'vite', 'build', '--config', 'apps/console/vite.config.mts', '--outDir', build, '--emptyOutDir', '--logLevel', 'warn'], { cwd: REPO_ROOT, stdio: 'pipe' });
    // The compliance API (audit projector) on the same HTTP server, as standalone mode composes it.
    sut = await startKeyServiceUnderTest('console_browser', { KMS_CONSOLE_ASSETS_DIR: build }, {
      extraModules: (rt, config) => {
        const projector = composeAuditProjector(config, {
          eventStore: rt.deps.store,
          ...(rt.sealedHistory ? { seals: rt.sealedHistory } : {}),
          pool: rt.pool,
          auditLog: rt.audit,
          auditSealer: rt.auditSealer,
          signer: SoftwareAttestationSigner.fromSeed(rt.deriveKey('audit-attestation-v1')),
          secrets: rt.deps.secrets,
          clock: rt.deps.clock,
          integrity: { alarm: rt.integrity, expose: false },
        });
        closeProjector = projector.close;
        return [projector.module];
      },
    });
    port = new URL(sut.httpUrl).port;
    // WebAuthn's relying party is `localhost` (the default): the page must be on that host.
    origin = `http://localhost:${port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    screenshots = DOCS_SCREENSHOTS ? join(REPO_ROOT, 'docs', 'console') : join(work, 'screenshots');
    await mkdir(screenshots, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    for (const t of tabs) await t.context.close().catch(() => undefined);
    await browser?.close();
    await sut?.stop();
    await closeProjector?.();
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function newTab(): Promise<Tab> {
    const context = await browser.newContext();
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable', { enableUI: false });
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'usb', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });
    const tab = { context, page, cdp, authenticatorId };
    tabs.push(tab);
    return tab;
  }

  const byTestId = (page: Page, id: string) => page.locator(`[data-testid="${id}"]`);

  /** A person's link as the KMS hands it out: one security engineer asks, a second approves and receives it. */
  const enrolmentLink = (person: Actor): Promise<string> => sut.linkFor(person.identityId);

  /** Enrol a person in the browser: security key, then authenticator app; returns the TOTP secret. */
  async function enrol(tab: Tab, token: string, screenshot?: string): Promise<string> {
    const { page } = tab;
    await page.goto(`${origin}/console/enrol?token=${encodeURIComponent(token)}`);
    await byTestId(page, 'enrol-security-key').click();
    await byTestId(page, 'enrol-secret').waitFor();
    const secret = (await byTestId(page, 'enrol-secret').textContent())?.trim() ?? '';
    expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
    // The QR code is a PNG data URL the CSP allows: it actually rendered.
    expect(await byTestId(page, 'enrol-qr').evaluate((img) => (img as unknown as { complete: boolean; naturalWidth: number }).complete && (img as unknown as { naturalWidth: number }).naturalWidth)).toBeGreaterThan(0);
    // The secret and its QR code are a throwaway test's, masked all the same.
    if (screenshot) await page.screenshot({ path: join(screenshots, screenshot), fullPage: true, mask: [byTestId(page, 'enrol-secret'), byTestId(page, 'enrol-qr')] });
    await byTestId(page, 'enrol-code').fill(nextCode(secret));
    await byTestId(page, 'enrol-confirm').click();
    await byTestId(page, 'enrol-done').waitFor();
    return secret;
  }

  /** Sign in by name: security key in the browser, then the code. Waits for either outcome. */
  async function signIn(tab: Tab, name: string, code: string, at = origin, screenshot?: string): Promise<void> {
    const { page } = tab;
    await page.goto(`${at}/console/`);
    // A tab still signed in (cookies are per host, not per port) signs out in the page first.
    await page.locator('[data-testid="signin-identity"], [data-testid="home-page"]').first().waitFor();
    if (await byTestId(page, 'home-page').isVisible()) {
      await byTestId(page, 'sign-out').click();
      await byTestId(page, 'signin-identity').waitFor();
    }
    await byTestId(page, 'signin-identity').fill(name);
    await byTestId(page, 'signin-security-key').click();
    await page.locator('[data-testid="signin-code"], [data-testid="signin-error"]').first().waitFor();
    if (await byTestId(page, 'signin-error').isVisible()) return;
    await byTestId(page, 'signin-code').fill(code);
    if (screenshot) await page.screenshot({ path: join(screenshots, screenshot), fullPage: true, mask: [byTestId(page, 'signin-code')] });
    await byTestId(page, 'signin-submit').click();
    await page.locator('[data-testid="signin-error"], [data-testid="session-person"]').first().waitFor();
  }

  /** The service's audit records of an operation (this schema is the test's own). */
  async function auditRows(operation: string, identityId?: string): Promise<Array<{ actor: string; outcome: string; error_code: string | null; details: Record<string, unknown> }>> {
    // In the order they were committed (several share one instant of the test's clock).
    // The harness's own people (the administrator, the registrars) enrol and sign in too: with identityId, only that person's rows count.
    const r =
      identityId === undefined
        ? await sut.db.query('SELECT actor, outcome, error_code, details FROM audit_records WHERE operation = $1 ORDER BY position', [operation])
        : await sut.db.query("SELECT actor, outcome, error_code, details FROM audit_records WHERE operation = $1 AND coalesce(details->>'identityId', '') = $2 ORDER BY position", [operation, identityId]);
    return r.rows;
  }

  /** A token for the person signed in in `tab`: a device code (as `kms login` asks) approved from their console session. */
  async function tokenApprovedIn(tab: Tab): Promise<string> {
    const post = async (path: string, body: unknown) =>
      (await (await fetch(`${sut.httpUrl}/v1/console/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json()) as Record<string, string>;
    const begun = await post('device/code', { client_name: 'browser test' });
    const approved = await tab.page.evaluate(async (code) => {
      const s = (await (await fetch('/v1/console/api/session')).json()) as { csrf_token: string };
      return (await fetch(`/v1/console/api/device/${code}/approve`, { method: 'POST', headers: { 'x-kms-csrf': s.csrf_token } })).status;
    }, begun['user_code']);
    expect(approved).toBe(204);
    const issued = await post('device/token', { device_code: begun['device_code'] });
    expect(issued['token_type']).toBe('Bearer');
    return issued['access_token'];
  }

  /** Wait until the audit projector has the key in its read model (what the compliance API reads). */
  async function projected(keyId: string): Promise<void> {
    for (let i = 0; i < 100; i++) {
      const r = await fetch(`${sut.httpUrl}/v1/keys/${keyId}/history`, { headers: { authorization: `Bearer ${await sut.admin.token()}` } });
      if (r.status === 200) return;
      expect(r.status).toBe(404);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`key ${keyId} was not projected within 10 s`);
  }

  /** A code of the next 30-second step: a step at or before the last accepted one is a replay. */
  function nextCode(secret: string): string {
    sut.clock.advance(30_000);
    return oathtoolTotp(secret, sut.clock.now());
  }

  describe('serving', () => {
    it('serves the console at /console/ with its CSP, the SPA fallback and cacheable hashed assets', async () => {
      const index = await fetch(`${origin}/console/approvals`);
      expect(index.status).toBe(200);
      expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(index.headers.get('cache-control')).toBe('no-cache');
      const csp = index.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      const html = await index.text();
      // No inline script: the one script is a file under /console/assets/.
      expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
      const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)?.[1];
      expect(script).toMatch(/^\/console\/assets\/.+\.js$/);
      const js = await fetch(`${origin}${script}`);
      expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(js.headers.get('cache-control')).toContain('immutable');
      // Nothing is fetched from elsewhere at run time.
      expect(html).not.toMatch(/https?:\/\//);
    });
  });

  describe('enrolment and sign-in (the routes on this branch)', () => {
    let alice: Actor;
    let aliceTab: Tab;
    let aliceSecret: string;
    let aliceLink: string;
    let aliceCode: string;

    beforeAll(async () => {
      alice = await sut.register('alice', 'HUMAN', ['key-admin']);
      aliceTab = await newTab();
    });

    it('enrols a person with the link two security engineers issued: security key, QR code and secret, first code', async () => {
      aliceLink = await enrolmentLink(alice);
      aliceSecret = await enrol(aliceTab, aliceLink, 'enrolment.png');
      expect(await byTestId(aliceTab.page, 'enrol-identity').textContent()).toBe(alice.identityId);
      const { credentials } = await aliceTab.cdp.send('WebAuthn.getCredentials', { authenticatorId: aliceTab.authenticatorId });
      expect(credentials).toHaveLength(1);
      expect(credentials[0]?.rpId).toBe('localhost');
      const stored = await sut.db.query('SELECT credential_id FROM webauthn_credentials WHERE identity_id = $1', [alice.identityId]);
      expect(stored.rows.map((r: { credential_id: string }) => r.credential_id)).toEqual([credentials[0]?.credentialId.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')]);
      expect((await auditRows('EnrolTotp', alice.identityId)).map((r) => r.outcome)).toEqual(['SUCCESS']);
    });

    it('refuses the same enrolment link a second time, and the page says why', async () => {
      const page = aliceTab.page;
      await page.goto(`${origin}/console/enrol?token=${encodeURIComponent(aliceLink)}`);
      await byTestId(page, 'enrol-security-key').click();
      await byTestId(page, 'enrol-error').waitFor();
      expect(await byTestId(page, 'enrol-error-reason').textContent()).toBe('ENROLMENT_LINK_USED');
      expect(await byTestId(page, 'enrol-error-field').textContent()).toBe('enrolment_token');
      expect(await byTestId(page, 'enrol-error-message').textContent()).toMatch(/already used/);
      expect(await byTestId(page, 'enrol-qr').count()).toBe(0);
    });

    it('signs in with the security key and a code from oathtool', async () => {
      aliceCode = nextCode(aliceSecret);
      await signIn(aliceTab, alice.identityId, aliceCode, origin, 'sign-in.png');
      expect(await byTestId(aliceTab.page, 'signin-error').count()).toBe(0);
      await byTestId(aliceTab.page, 'session-person').waitFor();
      expect((await auditRows('SignIn', alice.identityId)).map((r) => r.outcome)).toEqual(['SUCCESS']);
      // Nothing of the sign-in is kept in browser storage.
      expect(await aliceTab.page.evaluate('[localStorage.length, sessionStorage.length]')).toEqual([0, 0]);
    });

    it('refuses a replayed code in the page, naming the field and reason', async () => {
      await signIn(aliceTab, alice.identityId, aliceCode);
      const page = aliceTab.page;
      await byTestId(page, 'signin-error').waitFor();
      expect(await byTestId(page, 'signin-error-reason').textContent()).toBe('TOTP_REPLAYED');
      expect(await byTestId(page, 'signin-error-field').textContent()).toBe('totp_code');
      await page.screenshot({ path: join(screenshots, 'sign-in-replayed-code.png'), fullPage: true });
      // Back to the first step: the challenge of the refused attempt is spent.
      expect(await byTestId(page, 'signin-security-key').isVisible()).toBe(true);
      expect((await auditRows('SignIn', alice.identityId)).map((r) => [r.outcome, r.details['reason'] ?? null])).toEqual([
        ['SUCCESS', null],
        ['DENIED', 'TOTP_REPLAYED'],
      ]);
    });

    it('refuses a reused challenge: the signed sign-in the page sent, sent again from the page, is refused CHALLENGE_UNKNOWN_OR_USED', async () => {
      const page = aliceTab.page;
      // Capture what the page posts when alice signs in (security key assertion + code).
      let sent: string | undefined;
      const capture = (request: { url(): string; method(): string; postData(): string | null }) => {
        if (request.method() === 'POST' && new URL(request.url()).pathname === '/v1/console/sign-in') sent = request.postData() ?? undefined;
      };
      page.on('request', capture);
      try {
        await signIn(aliceTab, alice.identityId, nextCode(aliceSecret));
      } finally {
        page.off('request', capture);
      }
      await byTestId(page, 'session-person').waitFor();
      expect(sent).toMatch(/"ceremony_id"/);
      // The same bytes again, from the page (a replay by anyone who saw them): the challenge is spent.
      const replay = await page.evaluate(async (body) => {
        const r = await fetch('/v1/console/sign-in', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        return { status: r.status, body: (await r.json()) as Record<string, unknown> };
      }, sent as string);
      expect(replay).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED', field: 'ceremony_id', reason: 'CHALLENGE_UNKNOWN_OR_USED' } });
      expect((await auditRows('SignIn')).filter((r) => r.details['reason'] === 'CHALLENGE_UNKNOWN_OR_USED')).toHaveLength(1);
    });

    it('fails the ceremony when the page is not on the relying party (127.0.0.1 while the RP id is localhost)', async () => {
      const before = (await auditRows('SignIn', alice.identityId)).length;
      await signIn(aliceTab, alice.identityId, '000000', `http://127.0.0.1:${port}`);
      const page = aliceTab.page;
      await byTestId(page, 'signin-error').waitFor();
      // The browser itself refuses to sign for another relying party: no assertion leaves it.
      expect(await byTestId(page, 'signin-error-message').textContent()).toMatch(/invalid domain|SecurityError/i);
      expect(await byTestId(page, 'signin-code').count()).toBe(0);
      expect(await auditRows('SignIn', alice.identityId)).toHaveLength(before);
    });

    it('refuses an assertion made on another origin of the relying party (a relaying proxy on another port): the server says WRONG_ORIGIN', async () => {
      // A phishing relay: localhost on another port forwards everything to the KMS. The browser lets a
      // page there use the RP id localhost, so only the server's origin check stands in the way.
      const relay = createServer((req, res) => {
        const upstream = httpRequest({ host: '127.0.0.1', port: Number(port), path: req.url, method: req.method, headers: req.headers }, (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        });
        upstream.on('error', () => res.destroy());
        req.pipe(upstream);
      });
      await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
      try {
        const relayPort = (relay.address() as AddressInfo).port;
        await signIn(aliceTab, alice.identityId, nextCode(aliceSecret), `http://localhost:${relayPort}`);
        const page = aliceTab.page;
        await byTestId(page, 'signin-error').waitFor();
        expect(await byTestId(page, 'signin-error-reason').textContent()).toBe('WRONG_ORIGIN');
        expect((await auditRows('SignIn', alice.identityId)).at(-1)).toMatchObject({ outcome: 'DENIED', details: expect.objectContaining({ reason: 'WRONG_ORIGIN' }) });
      } finally {
        relay.closeAllConnections();
        await new Promise((resolve) => relay.close(resolve));
      }
    });
  });

  describe('sessions, approvals, inventory and device (the console session API, /v1/console/api/*)', () => {
    it('keeps the session in an HttpOnly SameSite=Strict cookie and the CSRF token in memory only', async () => {
      const bob = await sut.register('bob', 'HUMAN', ['security-engineering']);
      const tab = await newTab();
      const secret = await enrol(tab, await enrolmentLink(bob));
      await signIn(tab, 'bob', nextCode(secret));
      await byTestId(tab.page, 'session-person').waitFor();
      expect(await byTestId(tab.page, 'session-person').textContent()).toContain('bob');
      const [cookie] = (await tab.context.cookies()).filter((c) => c.name === 'kms_console');
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/', secure: false });
      expect(await tab.page.evaluate("[localStorage.length, sessionStorage.length, document.cookie.includes('kms_console')]")).toEqual([0, 0, false]);
      // A state-changing call without the CSRF header is refused, and the session survives it.
      const forged = await tab.page.evaluate(async () => {
        const r = await fetch('/v1/console/api/sign-out', { method: 'POST' });
        return { status: r.status, body: (await r.json()) as { reason?: string } };
      });
      expect(forged).toMatchObject({ status: 403, body: { reason: 'CSRF' } });
      await tab.page.reload();
      await byTestId(tab.page, 'session-person').waitFor();
      // Signing out in the page ends the session on the server: the cookie no longer opens anything.
      await byTestId(tab.page, 'sign-out').click();
      await byTestId(tab.page, 'signin-identity').waitFor();
      expect(await tab.page.evaluate(async () => (await fetch('/v1/console/api/session')).status)).toBe(401);
      expect((await auditRows('ConsoleSignOut')).filter((r) => r.actor === bob.identityId).map((r) => [r.outcome, r.details['reason'] ?? null])).toEqual([
        ['DENIED', 'CSRF'],
        ['SUCCESS', null],
      ]);
    });

    it("person A requests a policy change, person B approves it in the browser with a step-up assertion; A's own approval is refused (SELF_APPROVAL) and the page shows it", async () => {
      const ticket = 'CHG-CONSOLE-1';
      const [carol, dave] = [await sut.register('carol', 'HUMAN', ['key-admin']), await sut.register('dave', 'HUMAN', ['key-admin'])];
      const [carolTab, daveTab] = [await newTab(), await newTab()];
      const carolSecret = await enrol(carolTab, await enrolmentLink(carol));
      const daveSecret = await enrol(daveTab, await enrolmentLink(dave));
      // carol signs in in her browser; her gRPC token comes from a device code she approves there (the kms login flow):
      // IssueToken gives people no token, and a second enrolment (the harness's) would be refused.
      await signIn(carolTab, 'carol', nextCode(carolSecret));
      const carolToken = await tokenApprovedIn(carolTab);
      const key = await sut.client.call<{ key_id: string }>('CreateKey', { tenant: 'acme', name: 'console-approval', purpose: 'SERVICE_ENVELOPE', algorithm: 'AES_256_GCM' }, { token: carolToken });
      const approvalId = await sut.client
        .call('SetKeyPolicy', { key_id: key.key_id, policy: { grants: { [dave.identityId]: { permissions: ['ENCRYPT'] } } }, context: { change_ticket: ticket, reason: 'console browser test' } }, { token: carolToken })
        .then(
          () => {
            throw new Error('SetKeyPolicy by a person did not ask for a second person');
          },
          (e: unknown) => approvalIdOf(e),
        );

      // Carol sees her own request without an approve button.
      await carolTab.page.goto(`${origin}/console/approvals`);
      const ownRow = byTestId(carolTab.page, `approval-row-${approvalId}`);
      await ownRow.waitFor();
      expect(await ownRow.getAttribute('data-status')).toBe('PENDING');
      await byTestId(carolTab.page, `approval-own-${approvalId}`).waitFor();
      expect(await byTestId(carolTab.page, `approve-${approvalId}`).count()).toBe(0);
      // The button's absence is only a hint: with the list altered on its way to the page (own: false),
      // carol's browser signs a real step-up for her own request, and the server refuses it.
      await carolTab.page.route('**/v1/console/api/approvals', async (route) => {
        const res = await route.fetch();
        const body = (await res.json()) as { items: Array<{ own: boolean }> };
        await route.fulfill({ response: res, json: { items: body.items.map((i) => ({ ...i, own: false })) } });
      });
      await carolTab.page.reload();
      await byTestId(carolTab.page, `approve-${approvalId}`).click();
      await byTestId(carolTab.page, 'approval-error').waitFor();
      expect(await byTestId(carolTab.page, 'approval-error-code').textContent()).toBe('SELF_APPROVAL');
      expect(await byTestId(carolTab.page, 'approval-error-message').textContent()).toMatch(/.+/);
      await carolTab.page.unroute('**/v1/console/api/approvals');
      expect((await auditRows('ApproveRequest')).filter((r) => r.outcome === 'DENIED').map((r) => r.error_code)).toEqual(['SELF_APPROVAL']);

      // Dave approves in his browser: step-up assertion by his security key, bound to this request.
      await signIn(daveTab, 'dave', nextCode(daveSecret));
      await daveTab.page.goto(`${origin}/console/approvals`);
      const row = byTestId(daveTab.page, `approval-row-${approvalId}`);
      await row.waitFor();
      expect(await row.locator('[data-testid="approval-ticket"]').textContent()).toBe(ticket);
      expect(await row.locator('[data-testid="approval-requester"]').textContent()).toBe('carol');
      expect(await row.locator('[data-testid="approval-target"]').textContent()).toContain('console-approval');
      await daveTab.page.screenshot({ path: join(screenshots, 'approvals.png'), fullPage: true });
      await byTestId(daveTab.page, `approve-${approvalId}`).click();
      await byTestId(daveTab.page, 'approval-done').waitFor();
      expect(await byTestId(daveTab.page, 'approval-done').textContent()).toContain('EXECUTED');
      await byTestId(daveTab.page, `approval-row-${approvalId}`).locator('[data-testid="approval-decided-by"]').waitFor();
      expect(await byTestId(daveTab.page, `approval-row-${approvalId}`).getAttribute('data-status')).toBe('EXECUTED');
      expect(await byTestId(daveTab.page, `approval-row-${approvalId}`).locator('[data-testid="approval-decided-by"]').textContent()).toBe('dave (you)');
      const approval = await sut.admin.call<{ status: string; approver: string }>('GetApprovalRequest', { approval_id: approvalId });
      expect(approval).toMatchObject({ status: 'EXECUTED', approver: dave.identityId });
      const changed = await sut.admin.call<{ policy: { grants: Record<string, { permissions: string[] }> } }>('GetKey', { key_id: key.key_id });
      expect(changed.policy.grants[dave.identityId]?.permissions).toEqual(['ENCRYPT']);
      // The browser's assertion is in the approval's history, bound to this request and ticket.
      const { authenticatorId, cdp } = daveTab;
      const [credential] = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
      const { rows } = await sut.db.query<{ data: { stepUp: { credentialId: string; binding: Record<string, string> } } }>("SELECT data FROM events WHERE stream_id = $1 AND type = 'ApprovalGranted'", [`approval-${approvalId}`]);
      expect(rows.map((r) => r.data.stepUp)).toEqual([
        expect.objectContaining({ credentialId: Buffer.from(credential?.credentialId ?? '', 'base64').toString('base64url'), binding: expect.objectContaining({ approval_id: approvalId, change_ticket: ticket, decision: 'approve', identity_id: dave.identityId }) }),
      ]);
    });

    it("shows the key inventory with overdue rotations highlighted, a key's history and evidence bundle, and the control matrix", async () => {
      const erin = await sut.register('erin', 'HUMAN', ['security-engineering']);
      const tab = await newTab();
      const secret = await enrol(tab, await enrolmentLink(erin));
      const key = await sut.admin.call<{ key_id: string }>('CreateKey', { tenant: 'acme', name: 'console-inventory', purpose: 'SERVICE_ENVELOPE', algorithm: 'AES_256_GCM', labels: { jurisdiction: 'EU' } });
      await projected(key.key_id);
      // SERVICE_ENVELOPE keys rotate every 60 days (docs/policy.md): 61 days on, this one is overdue.
      sut.clock.advance(61 * 24 * 3600_000);
      await signIn(tab, 'erin', nextCode(secret));
      await tab.page.goto(`${origin}/console/keys`);
      const row = byTestId(tab.page, `key-row-${key.key_id}`);
      await row.waitFor();
      expect(await row.getAttribute('data-overdue')).toBe('true');
      expect(await row.locator('[data-testid="key-jurisdiction"]').textContent()).toBe('EU');
      expect(await row.locator('[data-testid="key-next-rotation"]').textContent()).toContain('overdue');
      // Highlighted: the overdue row has a background of its own.
      const background = (el: unknown) => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(el).backgroundColor;
      expect(await row.evaluate(background)).not.toBe('rgba(0, 0, 0, 0)');
      await tab.page.screenshot({ path: join(screenshots, 'keys.png'), fullPage: true });

      await byTestId(tab.page, `key-link-${key.key_id}`).click();
      await byTestId(tab.page, 'key-versions').waitFor();
      expect(await byTestId(tab.page, 'key-versions').locator('tbody tr').count()).toBe(1);
      expect(await byTestId(tab.page, 'key-ledger').textContent()).toContain('KeyCreated');
      const [download] = await Promise.all([tab.page.waitForEvent('download'), byTestId(tab.page, 'evidence-download').click()]);
      await byTestId(tab.page, 'evidence-downloaded').waitFor();
      const bundle = await readFile((await download.path()) ?? '');
      // A ustar archive whose entries name the key.
      expect(bundle.subarray(257, 262).toString('latin1')).toBe('ustar');
      expect(bundle.toString('latin1')).toContain(key.key_id);
      expect(download.suggestedFilename()).toMatch(/\.tar$/);

      await tab.page.goto(`${origin}/console/controls`);
      const control = byTestId(tab.page, 'control-row-KMS-ROT-SERVICE_ENVELOPE');
      await control.waitFor();
      expect(await control.locator('[data-testid="control-status"]').textContent()).toBe('FAIL');
      // Its evidence links open the console's own pages: the overdue keys, and this key's history.
      expect(await control.locator('[data-testid="control-evidence"]').evaluateAll((as) => as.map((a) => a.getAttribute('href')))).toEqual(
        expect.arrayContaining(['/console/keys?purpose=SERVICE_ENVELOPE&overdue=true', `/console/keys/${key.key_id}`]),
      );
      await tab.page.screenshot({ path: join(screenshots, 'controls.png'), fullPage: true });

      // The escrow page: a break-glass key with no seal yet is listed with what is missing.
      const breakGlass = await sut.admin.call<{ key_id: string }>('CreateKey', { tenant: 'acme', name: 'console-break-glass', purpose: 'BREAK_GLASS', algorithm: 'AES_256_GCM' });
      await projected(breakGlass.key_id);
      await byTestId(tab.page, 'nav-escrow').click();
      const escrowRow = byTestId(tab.page, `escrow-row-${breakGlass.key_id}`);
      await escrowRow.waitFor();
      expect(await escrowRow.locator('[data-testid="escrow-seal"]').textContent()).toContain('no seal');
      expect(await escrowRow.locator('[data-testid="escrow-last-drill"]').textContent()).toBe('never');
      expect(await escrowRow.locator('[data-testid="escrow-findings"]').textContent()).toMatch(/version 1 is not sealed in escrow.*no recovery drill/);
      await tab.page.screenshot({ path: join(screenshots, 'escrow.png'), fullPage: true });
    });

    it('approves a kms login code on the device page; the CLI then receives a token of that person', async () => {
      const frank = await sut.register('frank', 'HUMAN', ['key-admin']);
      const tab = await newTab();
      const secret = await enrol(tab, await enrolmentLink(frank));
      const begun = await fetch(`${sut.httpUrl}/v1/console/device/code`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_name: 'kms-cli test' }) });
      expect(begun.status).toBe(200);
      const code = (await begun.json()) as { device_code: string; user_code: string; verification_uri_complete: string };
      expect(code.verification_uri_complete).toBe(`${origin}/console/device?code=${code.user_code}`);
      const poll = () => fetch(`${sut.httpUrl}/v1/console/device/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ device_code: code.device_code }) });
      const pending = await poll();
      expect([pending.status, ((await pending.json()) as { error: string }).error]).toEqual([400, 'authorization_pending']);

      await signIn(tab, 'frank', nextCode(secret));
      await tab.page.goto(code.verification_uri_complete);
      expect(await byTestId(tab.page, 'device-user-code').textContent()).toBe(code.user_code);
      expect(await byTestId(tab.page, 'device-status').textContent()).toBe('pending');
      expect(await byTestId(tab.page, 'device-client').textContent()).toBe('kms-cli test');
      await byTestId(tab.page, 'device-approve').click();
      await byTestId(tab.page, 'device-outcome').waitFor();
      expect(await byTestId(tab.page, 'device-outcome').textContent()).toMatch(/^Approved/);

      const token = await poll();
      expect(token.status).toBe(200);
      const issued = (await token.json()) as { access_token: string; token_type: string; expires_in: number };
      expect(issued).toMatchObject({ token_type: 'Bearer', access_token: expect.any(String) });
      expect(issued.expires_in).toBeLessThanOrEqual(900);
      // A token of frank, with both factors, that the key service accepts.
      const claims = JSON.parse(Buffer.from(issued.access_token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub: string; amr: string[] };
      expect(claims).toMatchObject({ sub: frank.identityId, amr: ['hwk', 'otp'] });
      const keys = await sut.client.call<{ keys?: unknown[] }>('ListKeys', { tenant: 'acme' }, { token: issued.access_token, requestId: randomUUID() });
      expect(Array.isArray(keys.keys)).toBe(true);
      // Once only: the same device code does not give a second token.
      const again = await poll();
      expect([again.status, ((await again.json()) as { error: string }).error]).toEqual([400, 'invalid_grant']);
      // The page, opened again, says the code is used.
      await tab.page.reload();
      expect(await byTestId(tab.page, 'device-status').textContent()).toBe('approved');
      expect(await byTestId(tab.page, 'device-approve').count()).toBe(0);
    });
  });
});

