import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { status } from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import { Secret } from '@kms/config';
import { KmsCallError } from '@kms/contracts';
import { notifyChannelFor, PostgresEventStore } from '@kms/event-store-postgres';
import { testDatabaseUrl } from '@kms/persistence-postgres';
import { BullmqDeadlineQueue, connectKeyService, RotationScheduler } from '@kms/rotation-scheduler';
import { Pool } from 'pg';
import { type Actor, type KeyServiceUnderTest, startKeyServiceUnderTest } from './key-service.e2e-harness';

const DAY = 86_400_000;
const KMS_BIN = resolve(__dirname, '../../../bin/kms.js');

function kmsCli(args: string[], env: Record<string, string>): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [KMS_BIN, ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, out: stdout + stderr });
    });
  });
}

type FollowUpMsg = { drill_id: string; follow_up_id: number; owner: string; action: string; due_date: string; overdue: boolean; closed_at: string; closed_by: string; note: string };
type DrillMsg = { drill_id: string; date: string; participants: string[]; archive: string; outcome: string; follow_ups: FollowUpMsg[]; recorded_by: string };
type StatusMsg = { last_drill?: DrillMsg; monthly_drill_overdue: boolean; next_drill_due: string; open_follow_ups: FollowUpMsg[]; recorded?: DrillMsg };

describe('backup-restore drills as events (gRPC, CLI)', () => {
  let kms: KeyServiceUnderTest;
  let workload: Actor;

  beforeAll(async () => {
    kms = await startKeyServiceUnderTest('e2e_drills');
    workload = await kms.register('some-workload', 'WORKLOAD');
  });
  afterAll(async () => {
    await kms?.stop();
  });

  it('records a drill with follow-ups due 5 business days later, audited, as a DrillRecorded event; a workload may not', async () => {
    // The harness clock is Sunday 2026-03-01: before any drill the monthly drill is overdue.
    expect(await kms.admin.call<StatusMsg>('GetDrillStatus', {})).toMatchObject({ monthly_drill_overdue: true, next_drill_due: '', open_follow_ups: [] });
    const r = await kms.admin.call<StatusMsg>('RecordDrill', {
      date: '2026-02-27',
      participants: ['alice', 'bob'],
      archive: 'kms-backup-2026-02-27T02-30-00-000Z',
      outcome: 'PARTIAL',
      follow_ups: [
        { owner: 'sre', action: 'restore the HSM token directory too' },
        { owner: 'dba', action: 'pin pg_dump to the server version' },
      ],
    });
    // Friday 27 February + 5 business days = Friday 6 March.
    expect(r.recorded?.follow_ups.map((f) => [f.follow_up_id, f.owner, f.due_date])).toEqual([
      [1, 'sre', '2026-03-06'],
      [2, 'dba', '2026-03-06'],
    ]);
    expect(r).toMatchObject({ monthly_drill_overdue: false, next_drill_due: '2026-03-30', last_drill: { drill_id: r.recorded?.drill_id, recorded_by: kms.admin.identityId } });
    const events = await kms.db.query<{ type: string; data: { drillId: string; participants: string[] } }>(`SELECT type, data FROM events WHERE stream_id = 'drill-log'`);
    expect(events.rows).toEqual([{ type: 'DrillRecorded', data: expect.objectContaining({ drillId: r.recorded?.drill_id, participants: ['alice', 'bob'] }) }]);
    const audited = await kms.db.query<{ operation: string; outcome: string; actor: string }>(`SELECT operation, outcome, actor FROM audit_records WHERE operation IN ('RecordDrill') ORDER BY "position"`);
    expect(audited.rows).toEqual([{ operation: 'RecordDrill', outcome: 'SUCCESS', actor: kms.admin.identityId }]);

    const denied = await workload.call('RecordDrill', { date: '2026-02-27', participants: ['x'], archive: 'a', outcome: 'PASSED' }).catch((e: unknown) => e);
    expect((denied as KmsCallError).code).toBe(status.PERMISSION_DENIED);
    const bad = await kms.admin.call('RecordDrill', { date: '2026-02-30', participants: ['x'], archive: 'a', outcome: 'PASSED' }).catch((e: unknown) => e);
    expect({ code: (bad as KmsCallError).code, field: (bad as KmsCallError).field }).toEqual({ code: status.INVALID_ARGUMENT, field: 'date' });
    expect((await kms.db.query(`SELECT 1 FROM events WHERE stream_id = 'drill-log'`)).rowCount).toBe(1);
  });

  it('closes a follow-up once (an event), and reports the rest overdue after its due date and the monthly drill overdue after 31 days', async () => {
    const before = await kms.admin.call<StatusMsg>('GetDrillStatus', {});
    const drillId = before.last_drill?.drill_id ?? '';
    const closed = await kms.admin.call<StatusMsg>('CloseDrillFollowUp', { drill_id: drillId, follow_up_id: 2, note: 'pinned in CHG-77' });
    expect(closed.open_follow_ups.map((f) => f.follow_up_id)).toEqual([1]);
    expect(closed.last_drill?.follow_ups.find((f) => f.follow_up_id === 2)).toMatchObject({ closed_by: kms.admin.identityId, note: 'pinned in CHG-77' });
    const again = await kms.admin.call('CloseDrillFollowUp', { drill_id: drillId, follow_up_id: 2, note: '' }).catch((e: unknown) => e);
    expect((again as KmsCallError).errorCode).toBe('ILLEGAL_TRANSITION');

    kms.clock.advance(6 * DAY); // Saturday 7 March: follow-up 1 was due on the 6th
    expect((await kms.admin.call<StatusMsg>('GetDrillStatus', {})).open_follow_ups).toEqual([expect.objectContaining({ follow_up_id: 1, overdue: true })]);
    kms.clock.advance(24 * DAY); // 31 March: no drill since 27 February
    expect((await kms.admin.call<StatusMsg>('GetDrillStatus', {})).monthly_drill_overdue).toBe(true);
  });

  it('kms drill record and kms drill status', async () => {
    const env = { KMS_ADDRESS: kms.service.grpcAddress, KMS_TOKEN: await kms.admin.token() };
    const rec = await kmsCli(['drill', 'record', '--date', '2026-03-31', '--participants', 'alice,carol', '--archive', 'kms-backup-2026-03-30T02-30-00-000Z', '--outcome', 'passed', '--follow-up', 'sre:document the restore timing'], env);
    expect(rec.code).toBe(0);
    expect(rec.out).toMatch(/^drill\t[0-9a-f-]{36}\t2026-03-31\tPASSED\n/);
    // Tuesday 31 March + 5 business days = Tuesday 7 April.
    expect(rec.out).toContain('follow-up\t1\tsre\tdue 2026-04-07\tdocument the restore timing');
    const st = await kmsCli(['drill', 'status'], env);
    // Follow-up 1 of the February drill is still open and overdue: exit 1.
    expect(st.code).toBe(1);
    expect(st.out).toContain('monthly drill\ton time\tnext due 2026-05-01');
    expect(st.out).toMatch(/follow-up\t[0-9a-f-]{36}\t1\tsre\tdue 2026-03-06\tOVERDUE\trestore the HSM token directory too/);
    const badFollowUp = await kmsCli(['drill', 'record', '--date', '2026-03-31', '--participants', 'alice', '--archive', 'a', '--outcome', 'PASSED', '--follow-up', 'no owner here'], env);
    expect(badFollowUp.code).toBe(2);
    expect(badFollowUp.out).toContain('follow-up');
  });

  it('the rotation scheduler raises the overdue-drill alerts on its rounds, once each, as DrillOverdueReported events (audited)', async () => {
    const identity = await kms.register('kms-rotation-scheduler', 'WORKLOAD', ['rotation-scheduler']);
    const gateway = connectKeyService(kms.service.grpcAddress, { clientId: identity.identityId, clientSecret: new Secret(identity.clientSecret) }, kms.clock);
    const pool = new Pool({ connectionString: testDatabaseUrl(), options: `-c search_path=${kms.schema}`, max: 3 });
    const store = new PostgresEventStore(pool, { channel: notifyChannelFor(kms.schema), pollIntervalMs: 100 });
    const queue = new BullmqDeadlineQueue({
      redisUrl: process.env['KMS_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379',
      prefix: `kms-drills-${randomUUID().slice(0, 8)}`,
      queueName: 'rotation-deadlines',
      attempts: 1,
      backoffMs: 100,
      concurrency: 1,
    });
    const scheduler = new RotationScheduler(store, gateway.keyService, queue, kms.clock, { reconcileIntervalMs: 0, destroyAfterDays: 30, drillAlerts: gateway.drillAlerts });
    const alerts = async () => (await kms.db.query<{ data: Record<string, unknown> }>(`SELECT data FROM events WHERE stream_id = 'drill-log' AND type = 'DrillOverdueReported' ORDER BY stream_version`)).rows.map((r) => r.data);
    try {
      // 31 March: the March drill is on time; follow-up 1 of the February drill has been overdue since 6 March.
      await scheduler.start();
      expect(await alerts()).toEqual([expect.objectContaining({ subject: 'FOLLOW_UP', followUpId: 1, owner: 'sre', dueDate: '2026-03-06' })]);
      await scheduler.reconcile();
      expect(await alerts()).toHaveLength(1);
      // 10 May: no drill since 31 March (due by 1 May), and the March drill's follow-up (due 7 April) is late.
      kms.clock.advance(40 * DAY);
      await scheduler.reconcile();
      expect((await alerts()).slice(1)).toEqual([
        { subject: 'MONTHLY_DRILL', dueDate: '2026-05-01' },
        expect.objectContaining({ subject: 'FOLLOW_UP', followUpId: 1, owner: 'sre', dueDate: '2026-04-07' }),
      ]);
      expect(scheduler.drillAlerts().map((a) => a.subject)).toEqual(['FOLLOW_UP', 'MONTHLY_DRILL', 'FOLLOW_UP']);
      expect((await scheduler.status()).lastDrillAlertError).toBeNull();
      const audited = await kms.db.query<{ actor: string }>(`SELECT actor FROM audit_records WHERE operation = 'ReportDrillsOverdue' AND outcome = 'SUCCESS'`);
      expect(new Set(audited.rows.map((r) => r.actor))).toEqual(new Set([identity.identityId]));
      // Only the scheduler's service role raises them.
      const denied = await kms.admin.call('ReportDrillsOverdue', {}).catch((e: unknown) => e);
      expect((denied as KmsCallError).code).toBe(status.PERMISSION_DENIED);
    } finally {
      await scheduler.stop();
      gateway.close();
      await store.close();
      await pool.end();
    }
  });
});
