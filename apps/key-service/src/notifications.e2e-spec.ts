import { CallPipeline } from '@kms/application';
import { AuditProjectorModule, complianceIdentity, SoftwareAttestationSigner } from '@kms/audit-projector';
import { BUNDLE_FILES, readTar } from '@kms/ledger';
import { SlackWebhookTestServer, SmtpTestServer } from '@kms/notifications/testing';
import { PostgresAuditFeed } from '@kms/persistence-postgres';
import { createTrailerClient, type TrailerClient } from './access-control.e2e-helpers';
import { type Actor, type KeyServiceUnderTest, startKeyServiceUnderTest } from './key-service.e2e-harness';
import { composeNotifications } from './notifications.compose';

jest.setTimeout(180_000);

type Delivery = { outcome: string; kind: string; list: string; channel: string; recipients: string[]; approvalId?: string; keyId?: string; smtpMessageId?: string; httpStatus?: number };

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Issue 17 end to end: security engineering defines a compliance list over the HTTP API, a key
 * policy change requested by one person and approved by another is emailed (real SMTP server on
 * loopback) and posted to Slack (a local webhook), and the key's evidence bundle lists both deliveries.
 */
describe('compliance notifications of a dual-authorized operation (end to end, issue 17)', () => {
  const smtp = new SmtpTestServer();
  const slack = new SlackWebhookTestServer();
  let kms: KeyServiceUnderTest;
  let trailers: TrailerClient;
  let carol: Actor;
  let dave: Actor;
  let bob: Actor;
  let olga: Actor;
  let app: Actor;

  beforeAll(async () => {
    await smtp.start();
    await slack.start();
    kms = await startKeyServiceUnderTest(
      'e2e_notifications',
      {
        KMS_SMTP_HOST: '127.0.0.1',
        KMS_SMTP_PORT: String(smtp.port),
        KMS_SMTP_FROM: 'kms@example.test',
        KMS_NOTIFICATION_CONSOLE_URL: 'https://kms.example.test/console',
        KMS_NOTIFICATION_RETRY_INITIAL_MS: '50',
        KMS_NOTIFICATION_RETRY_MAX_MS: '500',
      },
      {
        extraModules: (rt, config) => [
          composeNotifications(config, rt, { pipeline: () => kms.service.app.get(CallPipeline) }),
          AuditProjectorModule.forRoot(config, {
            eventStore: rt.deps.store,
            auditFeed: new PostgresAuditFeed(rt.pool, rt.auditSealer),
            auditLog: rt.audit,
            signer: SoftwareAttestationSigner.fromSeed(rt.deriveKey('audit-attestation-v1')),
            identity: complianceIdentity(rt.deps.store, rt.deps.secrets, rt.deps.clock),
            clock: rt.deps.clock,
            settings: { origin: config.auditProjector.ledgerOrigin },
          }),
        ],
      },
    );
    trailers = createTrailerClient(kms.service.grpcAddress);
    carol = await kms.register('carol.seceng', 'HUMAN', ['security-engineering']);
    dave = await kms.register('dave.seceng', 'HUMAN', ['security-engineering']);
    bob = await kms.register('bob.keyadmin', 'HUMAN', ['key-admin']);
    olga = await kms.register('olga.compliance', 'HUMAN', ['compliance-officer']);
    app = await kms.register('orders-app', 'WORKLOAD');
  });
  afterAll(async () => {
    trailers?.close();
    await kms?.stop();
    await smtp.stop();
    await slack.stop();
  });

  const http = async (method: string, path: string, who: Actor, body?: unknown, ticket?: string): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await fetch(`${kms.httpUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${await who.token()}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(ticket ? { 'x-change-ticket': ticket } : {}) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };

  it('security engineering defines the list over the API with a second person (audited, webhook never in clear); others may not', async () => {
    const webhook = `${slack.url}/services/T0/B0/e2e-webhook-token`;
    const list = { emails: ['compliance@example.test'], slack_webhook_url: webhook, kinds: ['approval.requested', 'approval.executed'] };
    expect(await http('PUT', '/v1/notification-lists/compliance', carol, list)).toMatchObject({ status: 400, body: { field: 'context.change_ticket' } });
    const asked = await http('PUT', '/v1/notification-lists/compliance', carol, list, 'CHG-LIST-1');
    expect(asked).toMatchObject({ status: 409, body: { code: 'APPROVAL_REQUIRED' } });
    const approvalId = String(asked.body['approvalId']);
    // Nothing is saved until a second person approves; the request carries the webhook wrapped only.
    expect((await kms.db.query("SELECT 1 FROM events WHERE stream_id = 'notification-list-compliance'")).rowCount).toBe(0);
    expect(JSON.stringify((await kms.db.query('SELECT data FROM events WHERE type = $1', ['ApprovalRequested'])).rows)).not.toContain('e2e-webhook-token');
    await expect(carol.call('ApproveRequest', { approval_id: approvalId })).rejects.toMatchObject({ errorCode: 'SELF_APPROVAL' });
    expect((await dave.call<{ status: string; operation: string }>('ApproveRequest', { approval_id: approvalId })).status).toBe('EXECUTED');
    expect((await http('PUT', '/v1/notification-lists/mine', bob, { emails: ['bob@example.test'] })).status).toBe(403);
    expect((await http('GET', '/v1/notification-lists', app)).status).toBe(403);
    expect(await http('PUT', '/v1/notification-lists/bad', carol, { emails: ['nope'] })).toMatchObject({ status: 400, body: { field: 'emails.0' } });
    const listed = await http('GET', '/v1/notification-lists', olga);
    expect(listed.body['lists']).toEqual([expect.objectContaining({ name: 'compliance', emails: ['compliance@example.test'] })]);
    expect(JSON.stringify(listed.body)).not.toContain('e2e-webhook-token');
    // The change is an audited event naming who made it, with the webhook wrapped.
    const { rows } = await kms.db.query<{ data: Record<string, unknown>; metadata: Record<string, unknown> }>("SELECT data, metadata FROM events WHERE stream_id = 'notification-list-compliance'");
    expect(rows).toHaveLength(1);
    expect(rows[0]?.metadata).toMatchObject({ actor: carol.identityId, approvers: [dave.identityId], approvalId, changeTicket: 'CHG-LIST-1' });
    expect(JSON.stringify(rows[0]?.data)).not.toContain('e2e-webhook-token');
    // Removing it takes two people as well.
    expect(await http('DELETE', '/v1/notification-lists/compliance', carol, undefined, 'CHG-LIST-2')).toMatchObject({ status: 409, body: { code: 'APPROVAL_REQUIRED' } });
    expect((await http('GET', '/v1/notification-lists', olga)).body['lists']).toEqual([expect.objectContaining({ name: 'compliance' })]);
    // Through the one call pipeline: the change commits with its record, refusals are audited too.
    const audit = await kms.db.query<{ actor: string; outcome: string; error_code: string | null; list: string | null; route: string }>(
      "SELECT actor, outcome, error_code, details->>'list' AS list, details->>'route' AS route FROM audit_records WHERE operation IN ('SaveNotificationList', 'ListNotificationLists') ORDER BY position",
    );
    expect(audit.rows).toEqual([
      { actor: carol.identityId, outcome: 'FAILURE', error_code: 'INVALID_ARGUMENT', list: 'compliance', route: 'PUT /v1/notification-lists/{name}' },
      { actor: carol.identityId, outcome: 'FAILURE', error_code: 'APPROVAL_REQUIRED', list: 'compliance', route: 'PUT /v1/notification-lists/{name}' },
      { actor: bob.identityId, outcome: 'DENIED', error_code: 'PERMISSION_DENIED', list: null, route: 'PUT /v1/notification-lists/{name}' },
      { actor: app.identityId, outcome: 'DENIED', error_code: 'PERMISSION_DENIED', list: null, route: 'GET /v1/notification-lists' },
      { actor: carol.identityId, outcome: 'FAILURE', error_code: 'INVALID_ARGUMENT', list: null, route: 'PUT /v1/notification-lists/{name}' },
      { actor: olga.identityId, outcome: 'SUCCESS', error_code: null, list: null, route: 'GET /v1/notification-lists' },
      { actor: olga.identityId, outcome: 'SUCCESS', error_code: null, list: null, route: 'GET /v1/notification-lists' },
    ]);
    // Without a token: 401, audited as such.
    expect((await fetch(`${kms.httpUrl}/v1/notification-lists`)).status).toBe(401);
    const anonymous = await kms.db.query<{ outcome: string }>("SELECT outcome FROM audit_records WHERE operation = 'ListNotificationLists' AND actor = 'unauthenticated'");
    expect(anonymous.rows.map((r) => r.outcome)).toEqual(['DENIED']);
  });

  it('a policy change asked by one person and approved by another is emailed and posted to Slack, and the key evidence bundle lists both deliveries', async () => {
    const keyId = (await kms.admin.call<{ key_id: string }>('CreateKey', { tenant: 'acme', name: 'notified-key', purpose: 'SERVICE_ENVELOPE', algorithm: 'AES_256_GCM', context: { change_ticket: 'CHG-SETUP' } })).key_id;
    const policy = { grants: { [app.identityId]: { permissions: ['ENCRYPT'] } } };
    const asked = await trailers.refusal('SetKeyPolicy', { key_id: keyId, policy, context: { change_ticket: 'CHG-17-E2E' } }, { token: await kms.admin.token() });
    expect(asked.trailers['kms-error-code']).toBe('APPROVAL_REQUIRED');
    const approvalId = asked.trailers['kms-approval-id'] ?? '';
    expect((await bob.call<{ status: string }>('ApproveRequest', { approval_id: approvalId })).status).toBe('EXECUTED');

    // This approval's messages (people's enrolment links are approvals too, and are told as well).
    const mail = await until(async () => smtp.received.find((m) => m.headers['subject']?.includes('was executed') && m.text.includes(approvalId)), 'the email');
    expect(mail.to).toEqual(['compliance@example.test']);
    for (const fact of ['SetKeyPolicy', keyId, kms.admin.identityId, bob.identityId, 'CHG-17-E2E', `https://kms.example.test/console/approvals/${approvalId}`, 'SUCCEEDED']) {
      expect(mail.text).toContain(fact);
      expect(mail.html).toContain(fact);
    }
    const post = await until(async () => slack.received.find((m) => JSON.stringify(m.body).includes('was executed') && JSON.stringify(m.body).includes(approvalId)), 'the Slack message');
    expect(post.path).toBe('/services/T0/B0/e2e-webhook-token');
    for (const fact of ['SetKeyPolicy', keyId, kms.admin.identityId, bob.identityId, 'CHG-17-E2E']) expect(JSON.stringify(post.body['blocks'])).toContain(fact);
    // The request was told too (the list takes approval.requested), before the approval.
    expect(smtp.received.some((m) => m.headers['subject']?.includes('needs a second person') && m.text.includes(approvalId))).toBe(true);

    // The compliance officer reads who was told, how, and what the server answered.
    const executed = await until(async () => {
      const got = ((await http('GET', `/v1/notification-deliveries?approval_id=${approvalId}&kind=approval.executed`, olga)).body['deliveries'] ?? []) as Delivery[];
      return got.length === 2 ? got : undefined;
    }, 'both delivery records');
    expect(executed.find((d) => d.channel === 'email')).toMatchObject({ outcome: 'DELIVERED', list: 'compliance', recipients: ['compliance@example.test'], smtpMessageId: mail.headers['message-id'], keyId });
    expect(executed.find((d) => d.channel === 'slack')).toMatchObject({ outcome: 'DELIVERED', list: 'compliance', recipients: ['slack:compliance'], httpStatus: 200, keyId });
    expect((await http('GET', `/v1/notification-deliveries?approval_id=not-a-uuid`, olga))).toMatchObject({ status: 400, body: { field: 'approval_id' } });

    // The key's evidence bundle, exported by security engineering once the projector has ledgered the deliveries.
    const bundleEvents = await until(async () => {
      const res = await fetch(`${kms.httpUrl}/v1/evidence/keys/${keyId}`, { headers: { authorization: `Bearer ${await carol.token()}` } });
      if (res.status !== 200) return undefined;
      const files = readTar(Buffer.from(await res.arrayBuffer()));
      const events = JSON.parse((files.get(BUNDLE_FILES.events) as Buffer).toString()) as Array<{ type: string; data: Record<string, unknown> }>;
      const delivered = events.filter((e) => e.type === 'NotificationDelivered' && e.data['approvalId'] === approvalId && e.data['kind'] === 'approval.executed');
      return delivered.length === 2 ? delivered : undefined;
    }, 'the deliveries in the evidence bundle');
    expect(bundleEvents.map((e) => [e.data['channel'], e.data['list']]).sort()).toEqual([
      ['email', 'compliance'],
      ['slack', 'compliance'],
    ]);
    expect(bundleEvents.find((e) => e.data['channel'] === 'email')?.data['smtpMessageId']).toBe(mail.headers['message-id']);
    expect(bundleEvents.find((e) => e.data['channel'] === 'slack')?.data['httpStatus']).toBe(200);
    expect(JSON.stringify(bundleEvents)).not.toContain('e2e-webhook-token');

    // The compliance API shows, with each approval, who was told and when.
    const approvals = (await (await fetch(`${kms.httpUrl}/v1/approvals?targetId=${keyId}`, { headers: { authorization: `Bearer ${await olga.token()}` } })).json()) as {
      items: Array<{ approval_id: string; notifications: Array<Record<string, unknown>> }>;
    };
    const told = approvals.items.find((a) => a.approval_id === approvalId)?.notifications ?? [];
    expect(told.filter((n) => n['kind'] === 'approval.executed')).toEqual([
      expect.objectContaining({ outcome: 'DELIVERED', list: 'compliance', channel: 'email', recipients: ['compliance@example.test'], smtp_message_id: mail.headers['message-id'] }),
      expect.objectContaining({ outcome: 'DELIVERED', list: 'compliance', channel: 'slack', recipients: ['slack:compliance'], http_status: 200 }),
    ]);
    expect(told.filter((n) => n['kind'] === 'approval.requested').map((n) => n['channel']).sort()).toEqual(['email', 'slack']);
  });
});
