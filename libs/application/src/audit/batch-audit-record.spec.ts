import { randomUUID } from 'node:crypto';
import type { AuditRecordItem } from '../ports/audit-log.port';
import { auditRecordItems, batchAuditRecord, type BatchCallFields } from './batch-audit-record';
import { trackingChanges } from './ciphertext-tracking';

const KEY_A = '11111111-1111-4111-8111-111111111111';
const KEY_B = '22222222-2222-4222-8222-222222222222';
const REF_1 = 'a'.repeat(32);
const REF_2 = 'b'.repeat(32);

const call = (): BatchCallFields => ({ id: randomUUID(), time: new Date('2026-01-02T03:04:05.006Z'), requestId: 'req-1', operation: 'BatchEncrypt', actor: 'svc', sourceAddress: '10.0.0.1' });
const item = (batchIndex: number, over: Partial<AuditRecordItem> = {}): AuditRecordItem => ({ id: randomUUID(), batchIndex, outcome: 'SUCCESS', keyId: KEY_A, keyVersion: 1, ...over });

describe('batchAuditRecord', () => {
  it('given every item succeeded on one key version, then the record is a SUCCESS on that key and version', () => {
    const r = batchAuditRecord(call(), [item(0), item(1)]);
    expect(r).toMatchObject({ outcome: 'SUCCESS', keyId: KEY_A, keyVersion: 1, details: { batchSize: 2 } });
    expect(r.items).toHaveLength(2);
  });

  it('given items on different keys, then the record names no key; on different versions of one key, only the key', () => {
    expect(batchAuditRecord(call(), [item(0), item(1, { keyId: KEY_B })]).keyId).toBeUndefined();
    const versions = batchAuditRecord(call(), [item(0), item(1, { keyVersion: 2 })]);
    expect([versions.keyId, versions.keyVersion]).toEqual([KEY_A, undefined]);
  });

  it('is DENIED when every item was refused, FAILURE when some item did not succeed', () => {
    expect(batchAuditRecord(call(), [item(0, { outcome: 'DENIED' }), item(1, { outcome: 'DENIED' })]).outcome).toBe('DENIED');
    expect(batchAuditRecord(call(), [item(0), item(1, { outcome: 'DENIED' })]).outcome).toBe('FAILURE');
    expect(batchAuditRecord(call(), [item(0, { outcome: 'FAILURE' }), item(1, { outcome: 'DENIED' })]).outcome).toBe('FAILURE');
  });

  it('given no items, then it is an ordinary record with batchSize 0 and no items', () => {
    const r = batchAuditRecord(call(), []);
    expect(r).toMatchObject({ outcome: 'SUCCESS', details: { batchSize: 0 } });
    expect(r.items).toBeUndefined();
    expect(auditRecordItems(r)).toEqual([r]);
  });
});

describe('auditRecordItems', () => {
  it('expands a batch call into one record per item with its own id, outcome, key and details, and the call’s fields', () => {
    const c = call();
    const failed = item(1, { outcome: 'FAILURE', errorCode: 'KEY_DISABLED', keyId: KEY_B, keyVersion: undefined, details: { plaintextBytes: 9 } });
    const items = [item(0, { details: { plaintextBytes: 3 } }), failed];
    const records = auditRecordItems(batchAuditRecord(c, items));
    expect(records.map((r) => [r.id, r.outcome, r.errorCode, r.keyId, r.keyVersion])).toEqual([
      [items[0]?.id, 'SUCCESS', undefined, KEY_A, 1],
      [failed.id, 'FAILURE', 'KEY_DISABLED', KEY_B, undefined],
    ]);
    expect(records[1]).toMatchObject({ time: c.time, requestId: 'req-1', operation: 'BatchEncrypt', actor: 'svc', sourceAddress: '10.0.0.1' });
    expect(records.map((r) => r.details)).toEqual([
      { plaintextBytes: 3, batchIndex: 0, batchSize: 2, batchRecordId: c.id },
      { plaintextBytes: 9, batchIndex: 1, batchSize: 2, batchRecordId: c.id },
    ]);
    expect(records.every((r) => r.items === undefined)).toBe(true);
  });

  it('leaves a record without items as it is', () => {
    const single = { ...call(), outcome: 'SUCCESS' as const };
    expect(auditRecordItems(single)).toEqual([single]);
  });
});

describe('trackingChanges of a batch call', () => {
  it('applies each successful item’s references in batch order, and none of a failed item', () => {
    const moved = item(1, { ciphertexts: { released: REF_1, handedOut: { ref: REF_2, keyId: KEY_B, version: 3 } } });
    const lost = item(2, { outcome: 'FAILURE', ciphertexts: { handedOut: { ref: 'c'.repeat(32), keyId: KEY_A, version: 1 } } });
    const { track, release } = trackingChanges([batchAuditRecord(call(), [item(0, { ciphertexts: { handedOut: { ref: REF_1, keyId: KEY_A, version: 1 } } }), moved, lost])]);
    expect([...track]).toEqual([[REF_2, { keyId: KEY_B, version: 3 }]]);
    expect([...release]).toEqual([REF_1]);
  });
});
