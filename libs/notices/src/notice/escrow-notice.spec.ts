import type { StoredEvent } from '@kms/event-store';
import { randomUUID } from 'node:crypto';
import { toCloudEvent } from './notice-cloud-event';
import { NoticeMapper } from './notice.mapper';

const keyId = '4c1d2a9e-5b7f-4e21-9a3c-7d8e9f0a1b2c';
let position = 0n;

function stored(streamId: string, type: string, data: Record<string, unknown>): StoredEvent {
  position += 1n;
  return {
    id: randomUUID(),
    type,
    data,
    metadata: { actor: 'rotation-scheduler', correlationId: 'c', occurredAt: '2026-03-03T10:00:00.000Z' },
    streamId,
    streamVersion: Number(position),
    globalPosition: position,
    recordedAt: new Date('2026-03-03T10:00:00.250Z'),
  };
}

describe('NoticeMapper: break-glass escrow', () => {
  it('given a reseal whose declarations are overdue, an urgent notice on the lifecycle topic names the custodians still pending', () => {
    const mapper = new NoticeMapper({ source: '/kms' });
    mapper.apply(
      stored(`key-${keyId}`, 'KeyCreated', {
        keyId, tenant: 'acme', name: 'db-break-glass', purpose: 'BREAK_GLASS', algorithm: 'AES_256_GCM', protectionLevel: 'SOFTWARE',
        labels: {}, owner: 'sre', rotationPeriodDays: 30, policy: { grants: {} },
      }),
    );
    const e = stored(`escrow-ceremony-${keyId}-v1`, 'EscrowDeclarationOverdue', { ceremonyId: 'c1', keyId, version: 1, declareBy: '2026-03-03T09:00:00.000Z', pending: ['grace'] });
    const notice = mapper.apply(e);
    expect(notice).toMatchObject({ type: 'kms.key.escrow-declarations-overdue.v1', subject: keyId, urgent: true });
    expect(notice?.data).toMatchObject({
      purpose: 'BREAK_GLASS',
      version: 1,
      reason: 'ESCROW_DECLARATIONS_OVERDUE',
      confirmBy: '2026-03-03T09:00:00.000Z',
      pendingDependents: [{ dependentId: 'grace', name: 'escrow custodian grace' }],
    });
    if (!notice) throw new Error('no notice');
    expect(toCloudEvent(notice).toJSON()).toMatchObject({ kmsurgent: true });
  });

  it('other escrow events are not notices', () => {
    const mapper = new NoticeMapper({ source: '/kms' });
    expect(mapper.apply(stored(`escrow-ceremony-${keyId}-v1`, 'PackageDestructionDeclared', { ceremonyId: 'c1', custodianId: 'grace' }))).toBeNull();
  });
});
