import type { StoredEvent } from '@kms/event-store';
import { emailMessage, slackMessage } from '../message/notification-message';
import { DEFAULT_NOTIFICATION_KINDS, kindsByEventType, NotificationContext, type NotificationKind } from './notification-kinds';

let position = 0n;
const event = (type: string, data: Record<string, unknown>, actor = 'alice'): StoredEvent => ({
  id: `00000000-0000-4000-8000-${String(++position).padStart(12, '0')}`,
  type,
  data,
  metadata: { actor, occurredAt: '2026-03-01T09:00:00.000Z', correlationId: 'c' },
  streamId: 's',
  streamVersion: 0,
  globalPosition: position,
  recordedAt: new Date('2026-03-01T09:00:00.000Z'),
});

const kind = (name: string): NotificationKind => DEFAULT_NOTIFICATION_KINDS.find((k) => k.name === name) as NotificationKind;

describe('notification kinds', () => {
  it('given a request and its grant, when the execution is described, then it names operation, key, tenant, requester, approver and ticket', () => {
    const context = new NotificationContext();
    const keyId = '11111111-1111-4111-8111-111111111111';
    context.apply(event('KeyCreated', { keyId, tenant: 'acme' }));
    context.apply(event('ApprovalRequested', { approvalId: 'a1', operation: 'RotateRootTenantKey', targetId: keyId, requester: 'alice', changeTicket: 'CHG-1', expiresAt: 'x' }));
    context.apply(event('ApprovalGranted', { approvalId: 'a1', approver: 'bob' }, 'bob'));
    const facts = kind('approval.executed').describe(event('ApprovedOperationExecuted', { approvalId: 'a1', outcome: 'FAILED', errorCode: 'KEY_DISABLED' }), context);
    expect(facts).toMatchObject({ tenant: 'acme', keyId, operation: 'RotateRootTenantKey', requester: 'alice', approver: 'bob', changeTicket: 'CHG-1', details: { outcome: 'FAILED', errorCode: 'KEY_DISABLED' } });
  });

  it('given an operation on a person, then the target is named as an identity, not as a key', () => {
    const context = new NotificationContext();
    context.apply(event('ApprovalRequested', { approvalId: 'a2', operation: 'ChangeIdentityRoles', targetId: 'id-1', requester: 'alice', changeTicket: 'CHG-2', expiresAt: 'x' }));
    const facts = kind('approval.requested').describe(event('ApprovalRequested', { approvalId: 'a2' }), context);
    expect(facts).not.toHaveProperty('keyId');
    expect(facts?.details['identity']).toBe('id-1');
  });

  it('tells of missing break-glass destruction declarations as critical, naming the key, version and the custodians still pending', () => {
    const context = new NotificationContext();
    const keyId = '22222222-2222-4222-8222-222222222222';
    context.apply(event('KeyCreated', { keyId, tenant: 'acme' }));
    const facts = kind('escrow.declarations.overdue').describe(
      event('EscrowDeclarationOverdue', { ceremonyId: 'escrow-ceremony-x', keyId, version: 1, declareBy: '2026-04-01T09:00:00.000Z', pending: ['erin', 'frank'] }),
      context,
    );
    expect(facts).toMatchObject({ tenant: 'acme', keyId, details: { version: '1', pendingCustodians: 'erin, frank', declareBy: '2026-04-01T09:00:00.000Z' } });
    expect(kind('escrow.declarations.overdue').severity).toBe('critical');
  });

  it('tells of an overdue monthly drill and an overdue drill follow-up as critical, naming the due date, owner and action', () => {
    const context = new NotificationContext();
    const drill = kind('drill.overdue');
    expect(drill.severity).toBe('critical');
    expect(drill.describe(event('DrillOverdueReported', { subject: 'MONTHLY_DRILL', dueDate: '2026-04-06' }), context)).toEqual({
      tenant: null,
      title: 'the monthly backup-restore drill was due by 2026-04-06',
      details: { dueDate: '2026-04-06' },
    });
    expect(drill.describe(event('DrillOverdueReported', { subject: 'MONTHLY_DRILL', dueDate: 'none' }), context)?.title).toBe('no backup-restore drill was ever recorded (monthly drills required)');
    expect(drill.describe(event('DrillOverdueReported', { subject: 'FOLLOW_UP', dueDate: '2026-03-13', drillId: 'd1', followUpId: 2, owner: 'dba', action: 'pin pg_dump' }), context)).toMatchObject({
      title: 'drill follow-up 2 (dba) was due by 2026-03-13: pin pg_dump',
      details: { drill: 'd1', followUp: '2', owner: 'dba', dueDate: '2026-03-13' },
    });
  });

  it('tells only high and critical anomalies, at their severity', () => {
    const context = new NotificationContext();
    const anomaly = kind('anomaly.high');
    expect(anomaly.describe(event('AnomalyDetected', { rule: 'spike', severity: 'medium', summary: 's', keyId: null }), context)).toBeNull();
    expect(anomaly.describe(event('AnomalyDetected', { rule: 'spike', severity: 'critical', summary: 's', keyId: null }), context)?.severity).toBe('critical');
    expect(anomaly.describe(event('AnomalyDetected', { rule: 'spike', severity: 'high', summary: 's', keyId: null }), context)?.severity).toBe('warning');
  });

  it('refuses two kinds of one name (a kind added later must pick a new name)', () => {
    expect(() => kindsByEventType([...DEFAULT_NOTIFICATION_KINDS, { ...kind('key.compromised'), eventType: 'BreakGlassDeclared' }])).toThrow('key.compromised is defined twice');
  });
});

describe('notification messages', () => {
  const facts = {
    kind: 'approval.requested',
    severity: 'warning' as const,
    tenant: null,
    title: 'SetKeyPolicy on k needs a second person',
    sourceEventId: 'e1',
    sourcePosition: 1n,
    occurredAt: '2026-03-01T09:00:00.000Z',
    approvalId: 'a 1',
    requester: '<script>alert(1)</script>',
    details: {},
  };

  it('escapes what people typed in the HTML body and in Slack mrkdwn, and links the approval', () => {
    const m = emailMessage(facts, 'https://kms.example.test/console/');
    expect(m.html).not.toContain('<script>');
    expect(m.html).toContain('&lt;script&gt;');
    expect(m.text).toContain('https://kms.example.test/console/approvals/a%201');
    const slack = JSON.stringify(slackMessage(facts, 'https://kms.example.test/console'));
    expect(slack).not.toContain('<script>');
    expect(slack).toContain('"url":"https://kms.example.test/console/approvals/a%201"');
  });

  it('keeps a subject on one line and leaves the link out without a console URL', () => {
    const m = emailMessage({ ...facts, title: 'a\r\nBcc: someone@example.test' }, null);
    expect(m.subject).toBe('[KMS warning] a Bcc: someone@example.test');
    expect(m.text).not.toContain('Console');
    expect(JSON.stringify(slackMessage(facts, null))).not.toContain('actions');
  });
});
