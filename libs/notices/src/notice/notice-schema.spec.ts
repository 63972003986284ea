import type { StoredEvent } from '@kms/event-store';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { noticeToObject } from './notice-cloud-event';
import { NoticeMapper } from './notice.mapper';
import { NOTICE_TYPES } from './notice.model';
import { integrityNotice } from '../relay/integrity-notice-sweep';

interface ObjectSchema {
  required: string[];
  properties: Record<string, { enum?: unknown[] }>;
}
const schema = JSON.parse(readFileSync(resolve(__dirname, '../../../../docs/schemas/kms-key-lifecycle-notice.v1.json'), 'utf8')) as ObjectSchema & {
  $defs: { keyNotice: ObjectSchema; approvalNotice: ObjectSchema; integrityNotice: ObjectSchema };
};

let position = 0n;
function stored(streamId: string, type: string, data: Record<string, unknown>): StoredEvent {
  position += 1n;
  return { id: `e${position}`, type, data, metadata: { actor: 'alice', correlationId: 'c', occurredAt: '2026-01-01T00:00:00.000Z' }, streamId, streamVersion: 0, globalPosition: position, recordedAt: new Date() };
}

/** Every field the schema requires is present and nothing else (additionalProperties: false). */
function expectShape(value: Record<string, unknown>, s: ObjectSchema): void {
  expect(Object.keys(value).sort()).toEqual([...s.required].sort());
  expect(Object.keys(s.properties).sort()).toEqual([...s.required].sort());
}

describe('docs/schemas/kms-key-lifecycle-notice.v1.json', () => {
  const mapper = new NoticeMapper({ source: '/kms' });
  mapper.apply(stored('key-k1', 'KeyCreated', { keyId: 'k1', tenant: 'acme', purpose: 'ROOT_TENANT', algorithm: 'ED25519' }));
  const rotation = mapper.apply(stored('key-k1', 'PrimaryVersionChanged', { keyId: 'k1', version: 1, previousVersion: null, reason: 'INITIAL' }));
  mapper.apply(stored('approval-a1', 'ApprovalRequested', { approvalId: 'a1', operation: 'RotateKey', targetId: 'k1', params: {}, requester: 'alice', changeTicket: 'C', expiresAt: '2026-01-02T00:00:00.000Z' }));
  const approval = mapper.apply(stored('approval-a1', 'ApprovalGranted', { approvalId: 'a1', approver: 'bob' }));

  it('lists every notice type the code emits', () => {
    expect(schema.properties['type']?.enum).toEqual(Object.values(NOTICE_TYPES));
  });

  it('describes a key notice exactly', () => {
    if (!rotation) throw new Error('no notice');
    const event = noticeToObject(rotation);
    expectShape(event, schema);
    expectShape(event['data'] as Record<string, unknown>, schema.$defs.keyNotice);
  });

  it('describes an integrity alarm notice exactly', () => {
    const alarm = integrityNotice(
      {
        position: 9n,
        time: new Date('2026-01-01T00:00:00.000Z'),
        actor: 'system:audit-projector',
        details: { alarmId: '3b4f1c2e-0000-5000-8000-000000000000', source: 'events', position: '4', streamId: 'key-k1', streamVersion: 2, problem: 'the event is not sealed' },
      },
      '/kms',
    );
    if (!alarm) throw new Error('no notice');
    const event = noticeToObject(alarm);
    expectShape(event, schema);
    expectShape(event['data'] as Record<string, unknown>, schema.$defs.integrityNotice);
    expect(event).toMatchObject({ kmsurgent: true, subject: 'integrity/events', data: { recordId: null, streamVersion: 2, detectedBy: 'audit-projector' } });
  });

  it('describes an approval notice exactly', () => {
    if (!approval) throw new Error('no notice');
    const event = noticeToObject(approval);
    expectShape(event, schema);
    expectShape(event['data'] as Record<string, unknown>, schema.$defs.approvalNotice);
  });
});
