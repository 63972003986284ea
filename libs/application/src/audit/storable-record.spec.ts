import type { AuditRecord } from '../ports/audit-log.port';
import { MAX_AUDIT_TEXT, storableRecord, storableText } from './storable-record';

const base: AuditRecord = {
  id: '0a6c2f6e-9d1b-4c53-9a51-1f0f4a1b2c3d',
  time: new Date('2026-03-04T05:06:07.089Z'),
  requestId: 'req-1',
  operation: 'EnrolEscrowCustodian',
  actor: 'alice',
  outcome: 'FAILURE',
};

describe('storableText', () => {
  it('replaces NUL and unpaired surrogates with U+FFFD and keeps a paired one', () => {
    expect(storableText('a\u0000b')).toBe('a\ufffdb');
    expect(storableText('x\ud800')).toBe('x\ufffd');
    expect(storableText('\udc00y')).toBe('\ufffdy');
    expect(storableText('ops \u{1F510}')).toBe('ops \u{1F510}');
  });

  it('cuts text longer than MAX_AUDIT_TEXT and marks the cut', () => {
    const out = storableText('z'.repeat(MAX_AUDIT_TEXT + 50));
    expect(out).toHaveLength(MAX_AUDIT_TEXT + 1);
    expect(out.endsWith('…')).toBe(true);
  });
});

describe('storableRecord', () => {
  it('leaves a record that is already storable as it was', () => {
    const full: AuditRecord = { ...base, keyId: 'b3c1a7e2-5f04-4d3e-8c2a-7e9f0d1c2b3a', keyVersion: 3, actorRole: 'HUMAN', errorCode: 'X', sourceAddress: '::1', details: { n: 1, ok: true, s: 't' } };
    expect(storableRecord(full)).toEqual(full);
    expect(storableRecord(base)).toEqual(base);
  });

  it('makes caller-supplied text in every field and in details storable', () => {
    const out = storableRecord({ ...base, requestId: 'r\u0000', sourceAddress: '\ud800', details: { 'na\u0000me': 'v\u0000' } });
    expect(out.requestId).toBe('r\ufffd');
    expect(out.sourceAddress).toBe('\ufffd');
    expect(out.details).toEqual({ 'na\ufffdme': 'v\ufffd' });
  });

  it('moves a key id that is not a UUID and a version that is not a positive int4 into details', () => {
    const out = storableRecord({ ...base, keyId: 'my-key\u0000', keyVersion: 2 ** 31 });
    expect(out.keyId).toBeUndefined();
    expect(out.keyVersion).toBeUndefined();
    expect(out.details).toEqual({ requestedKeyId: 'my-key\ufffd', requestedKeyVersion: 2147483648 });
    expect(storableRecord({ ...base, keyVersion: 1.5 }).details).toEqual({ requestedKeyVersion: 1.5 });
  });

  it('turns detail values a store cannot keep into text, and drops absent ones', () => {
    const details = { inf: Number.POSITIVE_INFINITY, obj: { a: 1 }, none: undefined, nil: null } as unknown as AuditRecord['details'];
    expect(storableRecord({ ...base, details }).details).toEqual({ inf: 'Infinity', obj: '{"a":1}' });
  });
});
