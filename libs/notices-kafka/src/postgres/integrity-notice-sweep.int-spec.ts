import { randomUUID } from 'node:crypto';
import { IntegrityAlarm } from '@kms/application';
import { auditRecord } from '@kms/application/testing';
import { InMemoryNoticePublisher, IntegrityNoticeSweep } from '@kms/notices';
import { auditMigrations, createPgPool, dropSchema, PostgresAuditFeed, PostgresAuditLog, runMigrations, testDatabaseUrl, uniqueTestSchema } from '@kms/persistence-postgres';
import { testAuditSealer } from '@kms/persistence-postgres/testing';
import type { Pool } from 'pg';
import { noticeMigrations } from './notices.migration';
import { PostgresNoticeStore } from './postgres-notice-store';

/*
 * Integrity alarms reach partners as urgent notices: whichever process found the violation records it
 * in the audit trail; the key service's sweep publishes it from there, at least once, in order.
 */
describe('IntegrityNoticeSweep over the real audit trail', () => {
  const target = { url: testDatabaseUrl(), schema: uniqueTestSchema('integrity_sweep') };
  let pool: Pool;
  let audit: PostgresAuditLog;

  beforeAll(async () => {
    await runMigrations(target, [...auditMigrations, ...noticeMigrations]);
    pool = createPgPool(target, { max: 4 });
    audit = new PostgresAuditLog(pool, testAuditSealer());
  });

  afterAll(async () => {
    await audit.close();
    await pool.end();
    await dropSchema(target);
  });

  function sweep(publisher: InMemoryNoticePublisher): IntegrityNoticeSweep {
    return new IntegrityNoticeSweep({ feed: new PostgresAuditFeed(pool, testAuditSealer()), checkpoints: new PostgresNoticeStore(pool), publisher, source: 'urn:kms:test' });
  }

  it('publishes each alarm once as an urgent kms.integrity.violation.v1 notice naming the record, and nothing else', async () => {
    await audit.append(auditRecord({ operation: 'Encrypt' }));
    const alarm = new IntegrityAlarm({ detectedBy: 'audit-projector', audit });
    const raised = alarm.raise({ source: 'audit_records', position: '41', recordId: randomUUID(), problem: 'the record is missing (deleted)' });
    // The same violation found again (by this process or another) is the same alarm and the same notice id.
    alarm.raise({ source: 'audit_records', position: '41', recordId: raised.recordId, problem: 'the record is missing (deleted)' });
    await alarm.settled();
    await audit.append(auditRecord({ operation: 'Decrypt' }));

    const publisher = new InMemoryNoticePublisher();
    expect(await sweep(publisher).sweepOnce()).toBe(1);
    expect(publisher.messages).toHaveLength(1);
    const message = publisher.messages[0] as { key: string; value: string };
    expect(message.key).toBe('integrity/audit_records');
    expect(JSON.parse(message.value)).toMatchObject({
      specversion: '1.0',
      id: raised.id,
      type: 'kms.integrity.violation.v1',
      subject: 'integrity/audit_records',
      kmsurgent: true,
      data: {
        alarmId: raised.id,
        source: 'audit_records',
        position: '41',
        recordId: raised.recordId,
        problem: 'the record is missing (deleted)',
        detectedBy: 'audit-projector',
        urgent: true,
      },
    });

    // The checkpoint moved past it: a second sweep sends nothing.
    expect(await sweep(publisher).sweepOnce()).toBe(0);
    expect(publisher.messages).toHaveLength(1);
  });

  it('keeps an alarm it could not publish and sends it on a later sweep', async () => {
    const alarm = new IntegrityAlarm({ detectedBy: 'key-service', audit });
    const raised = alarm.raise({ source: 'events', position: '7', recordId: null, streamId: 'key-x', streamVersion: 3, problem: 'the event is not sealed' });
    await alarm.settled();

    const publisher = new InMemoryNoticePublisher();
    publisher.available = false;
    await expect(sweep(publisher).sweepOnce()).rejects.toThrow('broker unavailable');
    publisher.available = true;
    expect(await sweep(publisher).sweepOnce()).toBe(1);
    expect(JSON.parse((publisher.messages[0] as { value: string }).value)).toMatchObject({
      id: raised.id,
      data: { source: 'events', streamId: 'key-x', streamVersion: 3, position: '7', detectedBy: 'key-service' },
    });
  });
});
