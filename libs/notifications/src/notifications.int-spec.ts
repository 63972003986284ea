import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventStoreMigrations, PostgresEventStore } from '@kms/event-store-postgres';
import { createPgPool, dropSchema, runMigrations, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';
import { withOneCharChanged } from '@kms/testing';
import { Registry } from 'prom-client';
import { distributionListStreamId, ListSecretWrapper } from './lists/distribution-list';
import { type NotificationListChange, type NotificationSettings, NotificationsRuntime } from './notifications.runtime';
import { notificationDeliveryStreamId } from './relay/notification-deliveries';
import { notificationMigrations } from './postgres/notifications.migration';
import { SlackWebhookTestServer, SmtpTestServer } from './testing/smtp-test-server';

const target = { url: testDatabaseUrl(), schema: uniqueTestSchema('notifications') };
const pool = createPgPool(target);
const events = new PostgresEventStore(pool, { pollIntervalMs: 50 });
const wrapKey = randomBytes(32);
const runtimes: NotificationsRuntime[] = [];
const registries = new WeakMap<NotificationsRuntime, Registry>();

beforeAll(async () => {
  await runMigrations(target, [...eventStoreMigrations, ...notificationMigrations]);
});

afterAll(async () => {
  for (const r of runtimes) await r.stop().catch(() => undefined);
  await events.close();
  await pool.end();
  await dropSchema(target);
});

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function settings(smtpPort: number, lists: unknown[], over: Partial<NotificationSettings> = {}): NotificationSettings {
  return {
    smtp: { host: '127.0.0.1', port: smtpPort, secure: false, requireTls: false, from: 'kms@example.test', timeoutSeconds: 5 },
    consoleUrl: 'https://kms.example.test/console',
    lists,
    maxAttempts: 200,
    initialRetryDelayMs: 20,
    maxRetryDelayMs: 200,
    maxLagSeconds: 900,
    ...over,
  };
}

/** List changes the runtimes asked of the second-person gate. */
const asked: NotificationListChange[] = [];

/** A runtime on its own checkpoint name (`relay`), started; stopped after the file. */
async function startRuntime(s: NotificationSettings, name: string): Promise<NotificationsRuntime> {
  const registry = new Registry();
  const r = new NotificationsRuntime(
    {
      settings: s,
      postgres: target,
      eventStore: events,
      recorderFor: () => events,
      listWrapKey: wrapKey,
      // The lib alone: calls run as a security engineer on the store, and list changes are recorded as
      // asked of the second-person gate (the key service's pipeline and gate are in notifications.e2e-spec).
      calls: { run: (_call, work) => work({ caller: { identityId: 'security-engineer', roles: ['security-engineering'] }, store: events, note: () => undefined, secondPerson: async (c) => void asked.push(c) }) },
      relayName: name,
    },
    registry,
  );
  registries.set(r, registry);
  runtimes.push(r);
  // Each test's relay has a checkpoint of its own and starts after everything already in the store.
  const head = BigInt((await pool.query<{ h: string | null }>('SELECT max(global_position)::text AS h FROM events')).rows[0]?.h ?? '0');
  await pool.query('INSERT INTO kms_notification_checkpoints (relay, position) VALUES ($1, $2) ON CONFLICT DO NOTHING', [name, head.toString()]);
  await r.start();
  return r;
}

const meta = (actor: string) => ({ actor, correlationId: randomUUID(), occurredAt: new Date().toISOString() });

/** A key and a dual-authorized operation on it, as the key service records them. */
async function approvedOperation(tenant: string, ticket: string): Promise<{ keyId: string; approvalId: string }> {
  const keyId = randomUUID();
  const approvalId = randomUUID();
  await events.appendToStream(`key-${keyId}`, [{ id: randomUUID(), type: 'KeyCreated', data: { keyId, tenant, name: `k-${keyId.slice(0, 8)}` }, metadata: meta('alice') }], { expectedVersion: 'no_stream' });
  const stream = `approval-${approvalId}`;
  const requested = { approvalId, operation: 'RotateRootTenantKey', targetId: keyId, params: {}, requester: 'alice', changeTicket: ticket, expiresAt: '2099-01-01T00:00:00.000Z' };
  await events.appendToStream(stream, [{ id: randomUUID(), type: 'ApprovalRequested', data: requested, metadata: meta('alice') }], { expectedVersion: 'no_stream' });
  await events.appendToStream(stream, [{ id: randomUUID(), type: 'ApprovalGranted', data: { approvalId, approver: 'bob' }, metadata: meta('bob') }], { expectedVersion: 0 });
  await events.appendToStream(stream, [{ id: randomUUID(), type: 'ApprovedOperationExecuted', data: { approvalId, outcome: 'SUCCEEDED' }, metadata: meta('bob') }], { expectedVersion: 1 });
  return { keyId, approvalId };
}

describe('compliance notifications by email and Slack', () => {
  it('emails and posts to Slack each step of a dual-authorized operation, naming operation, key, requester, approver, ticket and console link, and records each delivery', async () => {
    const smtp = new SmtpTestServer();
    const slack = new SlackWebhookTestServer();
    await smtp.start();
    await slack.start();
    const rt = await startRuntime(
      settings(smtp.port, [{ name: 'compliance', emails: ['compliance@example.test', 'audit@example.test'], slack_webhook_url: `${slack.url}/services/T0/B0/secret`, tenants: ['acme'] }]),
      'steps',
    );
    const { keyId, approvalId } = await approvedOperation('acme', 'CHG-1001');
    await approvedOperation('other-tenant', 'CHG-1002'); // not this list's tenant

    await until(() => rt.relay.deliveries.find({ approvalId }).length === 6, 'three steps on two channels');
    const executed = smtp.received.find((m) => m.headers['subject']?.includes('was executed'));
    expect(executed?.to.sort()).toEqual(['audit@example.test', 'compliance@example.test']);
    for (const fact of ['RotateRootTenantKey', keyId, 'alice', 'bob', 'CHG-1001', `https://kms.example.test/console/approvals/${approvalId}`, 'SUCCEEDED']) {
      expect(executed?.text).toContain(fact);
      expect(executed?.html).toContain(fact);
    }
    expect(smtp.received.map((m) => m.headers['subject'])).toEqual([
      expect.stringContaining('needs a second person'),
      expect.stringContaining('was approved'),
      expect.stringContaining('was executed'),
    ]);
    expect(slack.received).toHaveLength(3);
    expect(slack.received.every((m) => m.path === '/services/T0/B0/secret')).toBe(true);
    const blocks = JSON.stringify(slack.received[2]?.body['blocks']);
    for (const fact of ['RotateRootTenantKey', keyId, 'alice', 'bob', 'CHG-1001']) expect(blocks).toContain(fact);
    expect(slack.received[2]?.body['blocks']).toContainEqual({ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open in the console' }, url: `https://kms.example.test/console/approvals/${approvalId}` }] });

    const records = rt.relay.deliveries.find({ approvalId, kind: 'approval.executed' });
    const email = records.find((r) => r.channel === 'email');
    expect(email?.smtpMessageId).toBe(executed?.headers['message-id']);
    expect(email?.recipients.sort()).toEqual(['audit@example.test', 'compliance@example.test']);
    expect(records.find((r) => r.channel === 'slack')).toMatchObject({ outcome: 'DELIVERED', httpStatus: 200, recipients: ['slack:compliance'], list: 'compliance' });
    // The records are events in the store, next to the operation's own events.
    const sourceId = (await events.readStream(`approval-${approvalId}`)).events[2]?.id ?? '';
    const stored = (await events.readStream(notificationDeliveryStreamId(sourceId))).events;
    expect(stored.map((e) => [e.type, e.data['channel']]).sort()).toEqual([
      ['NotificationDelivered', 'email'],
      ['NotificationDelivered', 'slack'],
    ]);
    // The webhook URL is a secret: it is in no delivery record.
    expect(JSON.stringify(stored.map((e) => [e.data, e.metadata]))).not.toContain('secret');
    await rt.stop();
    await smtp.stop();
    await slack.stop();
  });

  it('loses nothing when the SMTP server stops during a burst: every notification arrives once it is back', async () => {
    const smtp = new SmtpTestServer();
    const slack = new SlackWebhookTestServer();
    await smtp.start();
    await slack.start();
    const rt = await startRuntime(
      settings(smtp.port, [{ name: 'burst', emails: ['compliance@example.test'], slack_webhook_url: `${slack.url}/hook`, kinds: ['approval.executed'], tenants: ['burst'] }]),
      'burst',
    );
    const approvals: string[] = [];
    for (let i = 0; i < 4; i++) approvals.push((await approvedOperation('burst', `CHG-B${i}`)).approvalId);
    await until(() => smtp.received.length >= 2, 'the first emails');
    await smtp.stop();
    for (let i = 4; i < 12; i++) approvals.push((await approvedOperation('burst', `CHG-B${i}`)).approvalId);
    await until(() => (rt.relay.snapshot().waitingOn?.attempts ?? 0) >= 2, 'the relay retrying against the stopped server');
    const health = await rt.healthCheck().check();
    expect(health).toEqual({ degraded: expect.stringContaining('delivery failed') });
    await smtp.start();

    await until(() => approvals.every((id) => rt.relay.deliveries.find({ approvalId: id }).length === 2), 'every approval told on both channels');
    const tickets = new Set(smtp.received.map((m) => /CHG-B\d+/.exec(m.text)?.[0]));
    expect([...tickets].sort()).toEqual(approvals.map((_, i) => `CHG-B${i}`).sort());
    expect(rt.relay.deliveries.find({ kind: 'approval.executed' }).filter((r) => approvals.includes(r.approvalId ?? '') && r.outcome !== 'DELIVERED')).toEqual([]);
    // Slack does not wait for email: deliveries go in order, but both arrive for each.
    expect(slack.received).toHaveLength(12);
    expect(await rt.healthCheck().check()).toBeUndefined();
    await rt.stop();
    await smtp.stop();
    await slack.stop();
  });

  it('dead-letters after the last attempt, at once for a removed webhook, records why, and goes on with the next', async () => {
    const smtp = new SmtpTestServer();
    const slack = new SlackWebhookTestServer();
    await smtp.start();
    await slack.start();
    slack.status = 404;
    // Nothing listens on this port once the probe closes.
    const dead = new SmtpTestServer();
    await dead.start();
    const deadPort = dead.port;
    await dead.stop();
    const rt = await startRuntime(
      settings(deadPort, [{ name: 'doomed', emails: ['nobody@example.test'], slack_webhook_url: `${slack.url}/gone`, kinds: ['key.compromised'], tenants: ['dead'] }], { maxAttempts: 3 }),
      'dead',
    );
    const keyId = randomUUID();
    await events.appendToStream(`key-${keyId}`, [{ id: randomUUID(), type: 'KeyCreated', data: { keyId, tenant: 'dead', name: 'k' }, metadata: meta('alice') }], { expectedVersion: 'no_stream' });
    await events.appendToStream(`key-${keyId}`, [{ id: randomUUID(), type: 'KeyVersionCompromised', data: { keyId, version: 1 }, metadata: meta('alice') }], { expectedVersion: 0 });
    await events.appendToStream(`key-${keyId}`, [{ id: randomUUID(), type: 'KeyVersionCompromised', data: { keyId, version: 2 }, metadata: meta('alice') }], { expectedVersion: 1 });

    await until(() => rt.relay.deliveries.find({ keyId }).length === 4, 'four dead letters');
    const records = rt.relay.deliveries.find({ keyId });
    expect(records.every((r) => r.outcome === 'DEAD_LETTERED')).toBe(true);
    expect(records.filter((r) => r.channel === 'email').map((r) => r.attempts)).toEqual([3, 3]);
    expect(records.filter((r) => r.channel === 'slack').map((r) => r.attempts)).toEqual([1, 1]);
    expect(records.find((r) => r.channel === 'slack')?.error).toContain('HTTP 404');
    expect(records.find((r) => r.channel === 'email')?.error).toMatch(/ECONNREFUSED/);
    expect(rt.relay.snapshot().deadLettered).toBe(4);
    const metrics = await registries.get(rt)?.metrics();
    expect(metrics).toContain('kms_notifications_dead_lettered_total{channel="email",kind="key.compromised"} 2');
    expect(metrics).toContain('kms_notifications_dead_lettered_total{channel="slack",kind="key.compromised"} 2');
    expect(metrics).toContain('kms_notification_retries_total{channel="email"} 4');
    await rt.stop();
    await smtp.stop();
    await slack.stop();
  });

  it('sends over STARTTLS when the server offers it, with AUTH, and never again after a restart past its checkpoint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kms-smtp-tls-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
      const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
      const smtp = new SmtpTestServer({
        disabledCommands: [],
        authOptional: false,
        key: readFileSync(join(dir, 'key.pem')),
        cert,
        onAuth: (auth, _session, callback) => (auth.username === 'kms' && auth.password === 'smtp-pass' ? callback(null, { user: 'kms' }) : callback(new Error('bad credentials'))),
      });
      await smtp.start();
      const s = settings(smtp.port, [{ name: 'tls', emails: ['compliance@example.test'], kinds: ['confirmations.overdue'], tenants: ['tls'] }], {
        smtp: { host: '127.0.0.1', port: smtp.port, secure: false, requireTls: true, from: 'kms@example.test', timeoutSeconds: 5, ca: cert, auth: { user: 'kms', password: () => 'smtp-pass' } },
      });
      const first = await startRuntime(s, 'tls');
      const keyId = randomUUID();
      await events.appendToStream(`key-${keyId}`, [{ id: randomUUID(), type: 'KeyCreated', data: { keyId, tenant: 'tls', name: 'k' }, metadata: meta('alice') }], { expectedVersion: 'no_stream' });
      await events.appendToStream(
        `key-${keyId}`,
        [{ id: randomUUID(), type: 'DependentConfirmationsOverdue', data: { keyId, version: 2, confirmBy: '2026-01-01T00:00:00Z', pending: [{ dependentId: 'd1', name: 'billing' }] }, metadata: meta('rotation-scheduler') }],
        { expectedVersion: 0 },
      );
      await until(() => first.relay.deliveries.find({ keyId }).length === 1, 'the overdue notice');
      expect(smtp.received[0]).toMatchObject({ secure: true, user: 'kms' });
      expect(smtp.received[0]?.text).toContain('billing');
      await first.stop();

      const second = new NotificationsRuntime(
        { settings: s, postgres: target, eventStore: events, recorderFor: () => events, listWrapKey: wrapKey, calls: { run: (_call, work) => work({ caller: { identityId: 'x', roles: [] }, store: events, note: () => undefined, secondPerson: async (c) => void asked.push(c) }) }, relayName: 'tls' },
        new Registry(),
      );
      runtimes.push(second);
      await second.start();
      await second.relay.caughtUp();
      expect(second.relay.deliveries.find({ keyId })).toHaveLength(1); // read back from the store
      expect(smtp.received).toHaveLength(1);
      await second.stop();
      await smtp.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps lists saved over the API with the webhook wrapped, shows it redacted, and refuses a bad field by name', async () => {
    const slack = new SlackWebhookTestServer();
    await slack.start();
    const rt = await startRuntime(settings(1, []), 'lists');
    const caller = { caller: { identityId: 'sec-eng-1', roles: ['security-engineering'] }, store: events, note: () => undefined, secondPerson: async (c: NotificationListChange) => void asked.push(c) };
    const webhook = `${slack.url}/services/T1/B1/very-secret-token`;
    asked.length = 0;
    const shown = await rt.saveList(caller, 'api-list', { slack_webhook_url: webhook, kinds: ['key.compromised'], min_severity: 'critical' });
    // The gate was asked with the list as it will be saved: the webhook wrapped, never in clear.
    expect(asked).toEqual([expect.objectContaining({ operation: 'SaveNotificationList', name: 'api-list', details: expect.objectContaining({ slack: `${slack.url}/…` }) })]);
    expect(JSON.stringify(asked)).not.toContain('very-secret-token');
    expect(shown).toEqual({ name: 'api-list', emails: [], slackWebhook: `${slack.url}/…`, kinds: ['key.compromised'], minSeverity: 'critical', tenants: ['*'], origin: 'api' });
    const saved = (await events.readStream(distributionListStreamId('api-list'))).events[0];
    expect(JSON.stringify([saved?.data, saved?.metadata])).not.toContain('very-secret-token');
    expect(saved?.metadata['actor']).toBe('sec-eng-1');
    // Wrapped under the list's name: altered, or moved to another list, it does not unwrap.
    const wrapper = new ListSecretWrapper(wrapKey);
    const wrapped = String(saved?.data['slackWebhookWrapped']);
    expect(wrapper.unwrap('api-list', wrapped)).toBe(webhook);
    expect(() => wrapper.unwrap('api-list', withOneCharChanged(wrapped))).toThrow('does not unwrap');
    expect(() => wrapper.unwrap('other-list', wrapped)).toThrow('does not unwrap');

    const keyId = randomUUID();
    await events.appendToStream(`key-${keyId}`, [{ id: randomUUID(), type: 'KeyVersionCompromised', data: { keyId, version: 1 }, metadata: meta('alice') }], { expectedVersion: 'no_stream' });
    await until(() => slack.received.length === 1, 'the compromise on the saved list');
    expect(String(slack.received[0]?.body['text'])).toContain(`version 1 of ${keyId} reported compromised`);

    await expect(rt.saveList(caller, 'Bad Name', { emails: ['a@example.test'] })).rejects.toMatchObject({ field: 'name' });
    await expect(rt.saveList(caller, 'x', { emails: ['not-an-address'] })).rejects.toMatchObject({ field: 'emails.0' });
    await expect(rt.saveList(caller, 'x', { slack_webhook_url: 'http://example.com/hook' })).rejects.toMatchObject({ field: 'slack_webhook_url' });
    await expect(rt.saveList(caller, 'x', { emails: ['a@example.test'], min_severity: 'loud' })).rejects.toMatchObject({ field: 'min_severity' });
    await rt.removeList(caller, 'api-list');
    expect(asked.at(-1)).toEqual({ operation: 'RemoveNotificationList', name: 'api-list' });
    await until(() => rt.lists.all().length === 0, 'the list removed');

    // An approved change runs from what the request recorded, under the requester with the approver named.
    const approved = rt.approvedListChanges(events);
    const recorded = (asked[0] as { list: string }).list;
    await approved.save('api-list', recorded, { actor: 'sec-eng-1', correlationId: 'c-approve', approvers: ['sec-eng-2'], approvalId: randomUUID(), changeTicket: 'CHG-9' });
    await until(() => rt.lists.all().length === 1, 'the approved list');
    const history = (await events.readStream(distributionListStreamId('api-list'))).events;
    expect(history.at(-1)?.metadata).toMatchObject({ actor: 'sec-eng-1', approvers: ['sec-eng-2'], changeTicket: 'CHG-9' });
    // A recorded list moved to another name does not pass: its webhook is wrapped under its own name.
    await expect(approved.save('other-list', recorded, { actor: 'sec-eng-1', correlationId: 'c-2' })).rejects.toThrow('does not unwrap');
    await approved.remove('api-list', { actor: 'sec-eng-1', correlationId: 'c-3', approvers: ['sec-eng-2'] });
    await until(() => rt.lists.all().length === 0, 'the list removed after approval');
    await rt.stop();
    await slack.stop();
  });
});
