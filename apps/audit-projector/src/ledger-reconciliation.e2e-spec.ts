import { randomBytes, randomUUID } from 'node:crypto';
import { IdentityService, IntegrityAlarm, ManualClock } from '@kms/application';
import { auditRecord } from '@kms/application/testing';
import { ProjectionRunner } from '@kms/audit-projector';
import { SoftwareAttestationSigner } from '@kms/audit-projector/testing';
import { loadConfig } from '@kms/config';
import { EventSealer, type NewEvent } from '@kms/event-store';
import { eventStoreMigrations, PostgresEventStore } from '@kms/event-store-postgres';
import { auditMigrations, AuditSealer, createPgPool, dropSchema, PostgresAuditLog, runMigrations, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';
import { createHttpApp, type HttpApp } from '@kms/platform';
import type { Pool } from 'pg';
import { composeAuditProjector } from './audit-projector.compose';
import { type CeremonyPeople, peopleSigningIn } from './people-ceremony.e2e-helpers';

/*
 * Continuous reconciliation: the projector re-reads `events` and `audit_records` against the ledger it
 * built and names every record that no longer agrees, as an insider with the owner's rights would
 * leave it (triggers lifted): an event edited in place after it was ledgered, two events' positions
 * swapped, an audit record deleted, a forged event inserted. Each raises the integrity alarm (audit
 * record), fails /readyz naming the record, and shows in /metrics.
 */
describe('ledger reconciliation over the real PostgreSQL', () => {
  const target = { url: testDatabaseUrl(), schema: uniqueTestSchema('ap_reconcile') };
  const clock = new ManualClock(new Date('2026-06-01T00:00:00.000Z'));
  const sealer = new EventSealer(randomBytes(32));
  const auditSealer = new AuditSealer(randomBytes(32));
  let pool: Pool;
  let events: PostgresEventStore;
  let auditLog: PostgresAuditLog;
  let alarm: IntegrityAlarm;
  let projector: HttpApp;
  let token: string;
  let ceremonies: CeremonyPeople | undefined;
  const keyId = randomUUID();

  const ev = (type: string, data: Record<string, unknown>): NewEvent => ({ id: randomUUID(), type, data: { keyId, ...data }, metadata: { actor: 'alice', correlationId: randomUUID(), occurredAt: clock.now().toISOString() } });

  async function reconcile(): Promise<{ ok: boolean; checked: Record<string, unknown>; divergences: Array<Record<string, unknown>> }> {
    const res = await fetch(`${projector.url}/v1/ledger/reconciliations`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    if (res.status !== 200) throw new Error(`reconcile: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as { ok: boolean; checked: Record<string, unknown>; divergences: Array<Record<string, unknown>> };
  }

  async function asOwner(sql: string, params: unknown[] = []): Promise<void> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('ALTER TABLE events DISABLE TRIGGER USER; ALTER TABLE audit_records DISABLE TRIGGER USER');
      await client.query(sql, params);
      await client.query('ALTER TABLE events ENABLE TRIGGER USER; ALTER TABLE audit_records ENABLE TRIGGER USER');
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  }

  beforeAll(async () => {
    await runMigrations(target, [...eventStoreMigrations, ...auditMigrations]);
    pool = createPgPool(target, { max: 6 });
    events = new PostgresEventStore(pool, { channel: `kms_events_${target.schema}`.slice(0, 63), pollIntervalMs: 50, sealer });
    auditLog = new PostgresAuditLog(pool, auditSealer);
    alarm = new IntegrityAlarm({ detectedBy: 'audit-projector', audit: auditLog, clock });
    alarm.watch(sealer);
    alarm.watchAudit(auditSealer);
    const config = loadConfig({ KMS_DATABASE_URL: target.url, KMS_DATABASE_SCHEMA: target.schema, KMS_MASTER_KEY: randomBytes(32).toString('base64'), KMS_HTTP_ADDRESS: '127.0.0.1:0' });
    const secrets = { tokenSigningKey: randomBytes(32), credentialPepper: randomBytes(32) };
    const composed = composeAuditProjector(config, {
      eventStore: events,
      pool,
      auditLog,
      auditSealer,
      signer: SoftwareAttestationSigner.generate(),
      secrets,
      clock,
      seals: { stored: events, sealer },
      integrity: { alarm, expose: true },
    });
    projector = await createHttpApp(composed.module, config.http, { logger: false });

    await events.appendToStream(
      `key-${keyId}`,
      [
        ev('KeyCreated', { tenant: 'acme', name: 'payments', purpose: 'SERVICE_ENVELOPE', algorithm: 'AES_256_GCM', protectionLevel: 'SOFTWARE', labels: {}, owner: 'team-a', rotationPeriodDays: 90, policy: { grants: {} } }),
        ev('KeyVersionCreated', { version: 1, algorithm: 'AES_256_GCM', protectionLevel: 'SOFTWARE', materialRef: 'm-1', reason: 'INITIAL' }),
        ev('PrimaryVersionChanged', { version: 1, previousVersion: null, reason: 'INITIAL' }),
        ev('KeyVersionCreated', { version: 2, algorithm: 'AES_256_GCM', protectionLevel: 'SOFTWARE', materialRef: 'm-2', reason: 'MANUAL' }),
        ev('PrimaryVersionChanged', { version: 2, previousVersion: 1, reason: 'MANUAL' }),
      ],
      { expectedVersion: 'no_stream' },
    );
    for (let i = 0; i < 5; i++) await auditLog.append(auditRecord({ operation: 'Encrypt', keyId, time: clock.now() }));

    // A compliance officer's token, from the projector's own identity view.
    const identity = new IdentityService(events, secrets, clock);
    const { identity: officer } = await identity.register({ name: 'olivia-auditor', kind: 'HUMAN', roles: ['compliance-officer'] }, { actor: 'test-setup', correlationId: randomUUID() });
    // The officer's token from a real sign-in (security key + TOTP; IssueToken refuses people).
    ceremonies = await peopleSigningIn(identity);
    token = await ceremonies.signIn(officer.identityId);

    const head = BigInt((await pool.query<{ h: string }>('SELECT max(global_position)::text AS h FROM events')).rows[0].h);
    const auditHead = BigInt((await pool.query<{ h: string }>('SELECT max("position")::text AS h FROM audit_records')).rows[0].h);
    await projector.app.get(ProjectionRunner).waitFor({ events: head, audit: auditHead });
  }, 60_000);

  afterAll(async () => {
    await projector?.app.close();
    await ceremonies?.close();
    await alarm?.settled();
    await events?.close();
    await auditLog?.close();
    await pool?.end();
    await dropSchema(target);
  });

  it('finds nothing to report on untouched history', async () => {
    const report = await reconcile();
    expect(report).toMatchObject({ ok: true, divergences: [], checked: { events: expect.any(Number), auditRecords: expect.any(Number) } });
    expect(report.checked['events']).toBeGreaterThanOrEqual(5);
    expect((await fetch(`${projector.url}/readyz`)).status).toBe(200);
  });

  it('names an event edited in place, two swapped positions, a deleted audit record and a forged event; alarms on each', async () => {
    const rows = (await pool.query<{ p: string; v: number; id: string }>('SELECT global_position::text AS p, stream_version AS v, event_id::text AS id FROM events WHERE stream_id = $1 ORDER BY stream_version', [`key-${keyId}`])).rows;
    const [, v1, , v3, v4] = rows as Array<{ p: string; v: number; id: string }>;
    // Edited in place: the version-1 material reference changed after it was ledgered.
    await asOwner(`UPDATE events SET data = jsonb_set(data, '{materialRef}', '"m-stolen"') WHERE global_position = $1`, [v1?.p]);
    // Two events' places swapped (versions 3 and 4 exchange global positions).
    await asOwner(`UPDATE events SET global_position = -1 WHERE global_position = $1; UPDATE events SET global_position = $1 WHERE global_position = $2; UPDATE events SET global_position = $2 WHERE global_position = -1`.replace(/\$1/g, v3?.p ?? '').replace(/\$2/g, v4?.p ?? ''));
    // An audit record removed.
    const deleted = (await pool.query<{ p: string; id: string }>('SELECT "position"::text AS p, id::text FROM audit_records ORDER BY "position" LIMIT 1 OFFSET 2')).rows[0] as { p: string; id: string };
    await asOwner('DELETE FROM audit_records WHERE "position" = $1', [deleted.p]);
    // A forged event appended to the stream (it is not sealed with the KMS key).
    await pool.query(`INSERT INTO events (event_id, stream_id, stream_version, type, data, metadata) VALUES ($1, $2, 5, 'KeyPolicyChanged', '{}', '{}')`, [randomUUID(), `key-${keyId}`]);

    const report = await reconcile();
    expect(report.ok).toBe(false);
    const named = (v: Record<string, unknown>) => `${String(v['source'])} ${String(v['streamId'] ?? '')}@${String(v['streamVersion'] ?? '')} p${String(v['position'])} ${String(v['recordId'] ?? '')}: ${String(v['problem'])}`;
    const lines = report.divergences.map(named);
    // The edited event: its seal no longer matches, and it differs from its leaf.
    expect(lines).toContainEqual(`events key-${keyId}@1 p${v1?.p} : the event differs from what was sealed (edited or moved)`);
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^events key-${keyId}@1 p${v1?.p} ${v1?.id}: differs from ledger leaf \\d+ \\(edited after it was ledgered\\)$`)));
    // The swapped events: each at the other's position.
    expect(lines).toContainEqual(expect.stringContaining(`events key-${keyId}@4 p${v3?.p}`));
    expect(lines).toContainEqual(expect.stringContaining(`events key-${keyId}@3 p${v4?.p}`));
    // The deleted audit record, by position and id.
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^audit_records @ p${deleted.p} ${deleted.id}: ledgered at leaf \\d+ but no longer in the source \\(deleted or moved\\)$`)));
    // The forged event.
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^events key-${keyId}@5 p\\d+ : the event is not sealed$`)));

    // Each divergence raised the alarm: audit records naming the records, once each.
    await alarm.settled();
    const alarms = await pool.query<{ details: Record<string, unknown> }>(`SELECT details FROM audit_records WHERE operation = 'IntegrityViolation' AND actor = 'system:audit-projector'`);
    expect(alarms.rows.map((r) => r.details['problem'])).toEqual(expect.arrayContaining(['the event is not sealed', expect.stringContaining('no longer in the source (deleted or moved)')]));
    expect(new Set(alarms.rows.map((r) => r.details['alarmId'])).size).toBe(alarms.rows.length);

    // Not ready, naming the records; the metrics say how many.
    const readyz = await fetch(`${projector.url}/readyz`);
    expect(readyz.status).toBe(503);
    const checks = ((await readyz.json()) as { checks: Array<{ name: string; status: string; error?: string }> }).checks;
    expect(checks.find((c) => c.name === 'audit-projector.reconciliation')).toMatchObject({ status: 'failed', error: expect.stringContaining(`divergence(s) between the source tables and the ledger`) });
    expect(checks.find((c) => c.name === 'audit-projector.integrity')).toMatchObject({ status: 'failed', error: expect.stringContaining(`event key-${keyId} version 1 (position ${v1?.p})`) });
    const metrics = await (await fetch(`${projector.url}/metrics`)).text();
    expect(metrics).toContain(`kms_ledger_reconciliation_divergences ${report.divergences.length}`);
    expect(metrics).toMatch(new RegExp(`kms_integrity_alarm\\{[^}]*source="audit_records",position="${deleted.p}",record="${deleted.id}"`));

    // The latest report is kept for GET.
    const latest = await fetch(`${projector.url}/v1/ledger/reconciliations/latest`, { headers: { authorization: `Bearer ${token}` } });
    expect(latest.status).toBe(200);
    expect(((await latest.json()) as { divergences: unknown[] }).divergences).toHaveLength(report.divergences.length);
  });

  it('answers only an authenticated caller', async () => {
    expect((await fetch(`${projector.url}/v1/ledger/reconciliations`, { method: 'POST' })).status).toBe(401);
  });
});
