import { randomUUID } from 'node:crypto';
import { type KeyNotice, NOTICE_TYPES } from '../notice/notice.model';

let nextPosition = 1n;

/** A rotation notice with fresh id and position; override any field. */
export function sampleRotationNotice(overrides: Partial<Omit<KeyNotice, 'data'>> & { data?: Partial<KeyNotice['data']> } = {}): KeyNotice {
  const keyId = overrides.subject ?? overrides.data?.keyId ?? randomUUID();
  const position = overrides.position ?? nextPosition++;
  const { data, ...rest } = overrides;
  return {
    id: randomUUID(),
    type: NOTICE_TYPES.keyRotated,
    source: '/open-kms/test',
    time: '2026-01-01T00:00:00.000Z',
    urgent: false,
    ...rest,
    subject: keyId,
    position,
    data: {
      keyId,
      tenant: 'acme',
      purpose: 'SERVICE_ENVELOPE',
      algorithm: 'ECDSA_P256_SHA256',
      version: 2,
      previousVersion: 1,
      publicKeyFingerprint: 'ab'.repeat(32),
      effectiveAt: '2026-01-01T00:00:00.000Z',
      reason: 'SCHEDULED',
      urgent: false,
      confirmBy: '2026-01-02T00:00:00.000Z',
      destroyAt: null,
      actor: 'rotation-scheduler',
      approvalId: null,
      pendingDependents: null,
      ...data,
    },
  };
}
