import type { AuditOutcome, AuditRecord, AuditRecordItem } from '../ports/audit-log.port';

/** Details every item of a batch carries once expanded: its place, the batch's size, the id of its call's record. */
export const BATCH_INDEX_DETAIL = 'batchIndex';
export const BATCH_SIZE_DETAIL = 'batchSize';
export const BATCH_RECORD_DETAIL = 'batchRecordId';

/** What a batch call's record says of the call itself; its outcome, key and items come from the items. */
export type BatchCallFields = Omit<AuditRecord, 'outcome' | 'errorCode' | 'keyId' | 'keyVersion' | 'ciphertexts' | 'items'>;

function callOutcome(items: readonly AuditRecordItem[]): AuditOutcome {
  if (items.every((i) => i.outcome === 'SUCCESS')) return 'SUCCESS';
  return items.every((i) => i.outcome === 'DENIED') ? 'DENIED' : 'FAILURE';
}

function shared<T>(values: ReadonlyArray<T | undefined>): T | undefined {
  const first = values[0];
  return first !== undefined && values.every((v) => v === first) ? first : undefined;
}

/**
 * The one audit record of a batch call, holding its items (in batch order). Its outcome is SUCCESS
 * when every item succeeded, DENIED when every item was refused, FAILURE otherwise; its key and
 * version are the ones all items share (absent when they differ), so a batch over one key is found
 * by the key column like a single call. A call with no items is an ordinary record (batchSize 0).
 */
export function batchAuditRecord(call: BatchCallFields, items: AuditRecordItem[]): AuditRecord {
  const details = { ...call.details, [BATCH_SIZE_DETAIL]: items.length };
  if (items.length === 0) return { ...call, outcome: 'SUCCESS', details };
  const keyId = shared(items.map((i) => i.keyId));
  const keyVersion = keyId === undefined ? undefined : shared(items.map((i) => i.keyVersion));
  return {
    ...call,
    outcome: callOutcome(items),
    ...(keyId !== undefined ? { keyId } : {}),
    ...(keyVersion !== undefined ? { keyVersion } : {}),
    details,
    items,
  };
}

/**
 * The records a stored record stands for downstream: itself, or for a batch call one per item, as
 * the record of a single call would read: the item's own id, outcome, error, key, version, details
 * and ciphertext references; the call's time, request id, caller and address; and details batchIndex,
 * batchSize and batchRecordId (the id of the call's record). Read models, ledger leaves, anomaly
 * rules and exports all work on these, so each item is shown and proven on its own.
 */
export function auditRecordItems(record: AuditRecord): AuditRecord[] {
  const items = record.items;
  if (!items || items.length === 0) return [record];
  const { items: _items, outcome: _outcome, errorCode: _errorCode, keyId: _keyId, keyVersion: _keyVersion, ciphertexts: _ciphertexts, details: _details, ...call } = record;
  return items.map((item) => ({
    ...call,
    id: item.id,
    outcome: item.outcome,
    ...(item.errorCode !== undefined ? { errorCode: item.errorCode } : {}),
    ...(item.keyId !== undefined ? { keyId: item.keyId } : {}),
    ...(item.keyVersion !== undefined ? { keyVersion: item.keyVersion } : {}),
    details: { ...item.details, [BATCH_INDEX_DETAIL]: item.batchIndex, [BATCH_SIZE_DETAIL]: items.length, [BATCH_RECORD_DETAIL]: record.id },
    ...(item.ciphertexts !== undefined ? { ciphertexts: item.ciphertexts } : {}),
  }));
}
