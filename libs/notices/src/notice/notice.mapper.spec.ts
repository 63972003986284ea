import type { StoredEvent } from '@kms/event-store';
import { randomUUID } from 'node:crypto';
import { toCloudEvent } from './notice-cloud-event';
import { NoticeMapper } from './notice.mapper';

const keyId = '0b7f6c3e-95a4-4d55-9d37-1f1b7b0d6a11';
let position = 0n;

function stored(streamId: string, type: string, data: Record<string, unknown>, occurredAt = '2026-03-01T10:00:00.000Z', meta: Record<string, unknown> = {}): StoredEvent {
  position += 1n;
  return {
    id: randomUUID(),
    type,
    data,
    metadata: { actor: 'alice', correlationId: 'c', occurredAt, ...meta },
    streamId,
    streamVersion: Number(position),
    globalPosition: position,
    recordedAt: new Date('2026-03-01T10:00:00.250Z'),
  };
}

function keyCreated(algorithm = 'ECDSA_P256_SHA256'): StoredEvent {
  return stored(`key-${keyId}`, 'KeyCreated', {
    keyId, tenant: 'acme', name: 'signing', purpose: 'SERVICE_ENVELOPE', algorithm, protectionLevel: 'SOFTWARE',
    labels: {}, owner: 'alice', rotationPeriodDays: 60, policy: { grants: {} },
  });
}

function versionCreated(version: number, fingerprint?: string): StoredEvent {
  return stored(`key-${keyId}`, 'KeyVersionCreated', {
    keyId, version, algorithm: 'ECDSA_P256_SHA256', protectionLevel: 'SOFTWARE', materialRef: `m${version}`, reason: 'SCHEDULED',
    ...(fingerprint ? { publicKeyFingerprint: fingerprint } : {}),
  });
}

describe('NoticeMapper', () => {
  it('given a signing key rotated on schedule, the notice carries the new version, its fingerprint and confirmBy = effective time + 24 h', () => {
    const mapper = new NoticeMapper({ source: '/open-kms/test' });
    expect(mapper.apply(keyCreated())).toBeNull();
    expect(mapper.apply(versionCreated(2, 'f2'.repeat(32)))).toBeNull();
    const e = stored(`key-${keyId}`, 'PrimaryVersionChanged', { keyId, version: 2, previousVersion: 1, reason: 'SCHEDULED' }, '2026-03-01T10:00:00.000Z', { actor: 'rotation-scheduler' });

    const notice = mapper.apply(e);

    expect(notice).toEqual({
      id: e.id,
      type: 'kms.key.rotated.v1',
      source: '/open-kms/test',
      subject: keyId,
      time: '2026-03-01T10:00:00.250Z',
      position: e.globalPosition,
      urgent: false,
      data: {
        keyId, tenant: 'acme', purpose: 'SERVICE_ENVELOPE', algorithm: 'ECDSA_P256_SHA256', version: 2, previousVersion: 1,
        publicKeyFingerprint: 'f2'.repeat(32), effectiveAt: '2026-03-01T10:00:00.000Z', reason: 'SCHEDULED', urgent: false,
        confirmBy: '2026-03-02T10:00:00.000Z', destroyAt: null, actor: 'rotation-scheduler', approvalId: null, pendingDependents: null,
      },
    });
  });

  it('given confirmations overdue, an urgent alert names the dependents still pending and the deadline they missed', () => {
    const mapper = new NoticeMapper({ source: '/kms' });
    mapper.apply(keyCreated());
    const pending = [{ dependentId: '99999999-8888-4777-8666-555555555555', name: 'partner-billing' }];
    const e = stored(`key-${keyId}`, 'DependentConfirmationsOverdue', { keyId, version: 2, confirmBy: '2026-03-02T10:00:00.000Z', pending }, '2026-03-02T10:05:00.000Z', {
      actor: 'rotation-scheduler',
    });
    const notice = mapper.apply(e);
    expect(notice).toMatchObject({ type: 'kms.key.confirmations-overdue.v1', subject: keyId, urgent: true });
    expect(notice?.data).toMatchObject({ version: 2, reason: 'CONFIRMATIONS_OVERDUE', urgent: true, confirmBy: '2026-03-02T10:00:00.000Z', pendingDependents: pending });
    if (!notice) throw new Error('no notice');
    expect(toCloudEvent(notice).toJSON()).toMatchObject({ kmsurgent: true, type: 'kms.key.confirmations-overdue.v1' });
  });

  it('given a rotation for COMPROMISE, the notice is urgent (also as the kmsurgent CloudEvents extension)', () => {
    const mapper = new NoticeMapper({ source: '/kms', confirmWithinMs: 60 * 60 * 1000 });
    mapper.apply(keyCreated());
    const notice = mapper.apply(stored(`key-${keyId}`, 'PrimaryVersionChanged', { keyId, version: 3, previousVersion: 2, reason: 'COMPROMISE' }));
    expect(notice?.urgent).toBe(true);
    expect(notice?.data).toMatchObject({ reason: 'COMPROMISE', urgent: true, confirmBy: '2026-03-01T11:00:00.000Z' });
    if (!notice) throw new Error('no notice');
    expect(toCloudEvent(notice).toJSON()).toMatchObject({ specversion: '1.0', id: notice.id, kmsurgent: true, kmstenant: 'acme' });
  });

  it('given a symmetric key, the notice has no fingerprint', () => {
    const mapper = new NoticeMapper({ source: '/kms' });
    mapper.apply(keyCreated('AES_256_GCM'));
    mapper.apply(versionCreated(2));
    const notice = mapper.apply(stored(`key-${keyId}`, 'PrimaryVersionChanged', { keyId, version: 2, previousVersion: 1, reason: 'MANUAL' }));
    expect(notice?.data).toMatchObject({ algorithm: 'AES_256_GCM', publicKeyFingerprint: null });
  });

  it('maps destruction scheduled, cancelled, destroyed and compromised versions', () => {
    const mapper = new NoticeMapper({ source: '/kms' });
    mapper.apply(keyCreated());
    const scheduled = mapper.apply(stored(`key-${keyId}`, 'KeyVersionDestructionScheduled', { keyId, version: 1, destroyAt: '2026-04-01T00:00:00.000Z', previousState: 'DISABLED' }));
    const cancelled = mapper.apply(stored(`key-${keyId}`, 'KeyVersionDestructionCancelled', { keyId, version: 1 }));
    const destroyed = mapper.apply(stored(`key-${keyId}`, 'KeyVersionDestroyed', { keyId, version: 1, materialRef: 'm1', materialDestroyed: true }));
    const compromised = mapper.apply(stored(`key-${keyId}`, 'KeyVersionCompromised', { keyId, version: 2 }));
    expect([scheduled?.type, cancelled?.type, destroyed?.type, compromised?.type]).toEqual([
      'kms.key.version-destruction-scheduled.v1',
      'kms.key.version-destruction-cancelled.v1',
      'kms.key.version-destroyed.v1',
      'kms.key.version-compromised.v1',
    ]);
    expect(scheduled?.data).toMatchObject({ version: 1, destroyAt: '2026-04-01T00:00:00.000Z', confirmBy: null, urgent: false });
    expect(compromised).toMatchObject({ urgent: true, data: { reason: 'COMPROMISE', urgent: true } });
  });

  it('gives no notice for events partners do not need (policy changes, version disabled, identities)', () => {
    const mapper = new NoticeMapper({ source: '/kms' });
    mapper.apply(keyCreated());
    expect(mapper.apply(stored(`key-${keyId}`, 'KeyVersionDisabled', { keyId, version: 1 }))).toBeNull();
    expect(mapper.apply(stored(`key-${keyId}`, 'RotationPolicyChanged', { keyId, rotationPeriodDays: 30, previousRotationPeriodDays: 60 }))).toBeNull();
    expect(mapper.apply(stored('identity-x', 'IdentityRegistered', { identityId: 'x' }))).toBeNull();
  });

  it('maps each approval step to a notice keyed by the target key, carrying the request details', () => {
    const mapper = new NoticeMapper({ source: '/kms' });
    mapper.apply(keyCreated());
    const approvalId = randomUUID();
    const stream = `approval-${approvalId}`;
    const requested = mapper.apply(stored(stream, 'ApprovalRequested', {
      approvalId, operation: 'ScheduleKeyVersionDestruction', targetId: keyId, params: {}, requester: 'alice', changeTicket: 'CHG-1', expiresAt: '2026-03-02T10:00:00.000Z',
    }));
    const granted = mapper.apply(stored(stream, 'ApprovalGranted', { approvalId, approver: 'bob' }, '2026-03-01T11:00:00.000Z', { actor: 'bob' }));
    const executed = mapper.apply(stored(stream, 'ApprovedOperationExecuted', { approvalId, outcome: 'FAILED', errorCode: 'KEY_DISABLED' }));
    const rejected = mapper.apply(stored(stream, 'ApprovalRejected', { approvalId, rejecter: 'carol' }));
    const expired = mapper.apply(stored(stream, 'ApprovalExpired', { approvalId }));
    expect([requested, granted, executed, rejected, expired].map((n) => n?.type)).toEqual([
      'kms.approval.requested.v1', 'kms.approval.granted.v1', 'kms.approval.executed.v1', 'kms.approval.rejected.v1', 'kms.approval.expired.v1',
    ]);
    expect(granted).toMatchObject({ subject: keyId, data: { approvalId, operation: 'ScheduleKeyVersionDestruction', targetId: keyId, tenant: 'acme', requester: 'alice', actor: 'bob', changeTicket: 'CHG-1' } });
    expect(executed?.data).toMatchObject({ outcome: 'FAILED', errorCode: 'KEY_DISABLED' });
  });
});
