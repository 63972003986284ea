import { isUuid } from '@kms/domain';
import type { AuditRecord } from '../ports/audit-log.port';

/** Longest text kept from one caller-supplied value (the rest is cut, and the cut is marked). */
export const MAX_AUDIT_TEXT = 1024;
const INT4_MAX = 2_147_483_647;
// PostgreSQL text and jsonb refuse NUL; jsonb also refuses unpaired UTF-16 surrogates.
// eslint-disable-next-line no-control-regex
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
/** Whether a text may hold anything UNSTORABLE matches: a cheap scan first, as nearly every text holds neither. */
// eslint-disable-next-line no-control-regex
const MAYBE_UNSTORABLE = /[\u0000\ud800-\udfff]/;

/** Text as any audit store can keep it: NULs and unpaired surrogates become U+FFFD, and it is at most MAX_AUDIT_TEXT long. */
export function storableText(value: string): string {
  const cut = value.length > MAX_AUDIT_TEXT ? `${value.slice(0, MAX_AUDIT_TEXT)}…` : value;
  return MAYBE_UNSTORABLE.test(cut) ? cut.replace(UNSTORABLE, '\ufffd') : cut;
}

function storableDetail(value: unknown): string | number | boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'string') return storableText(value);
  if (typeof value === 'bigint') return value.toString();
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = undefined;
  }
  return storableText(text ?? Object.prototype.toString.call(value));
}

/**
 * The record as an audit store accepts it, whatever the caller sent. Facts are often taken from a
 * request before it is validated (a key id, a version, a name in details); a record the store
 * refuses would leave the call unaudited, so text is made storable here, and a key id that is not a
 * UUID or a version that is not a positive int4 moves to details (requestedKeyId,
 * requestedKeyVersion) instead of its column.
 */
export function storableRecord(record: AuditRecord): AuditRecord {
  const details: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(record.details ?? {})) {
    const value = storableDetail(v as unknown);
    if (value !== undefined) details[storableText(k)] = value;
  }
  const out: AuditRecord = {
    ...record,
    requestId: storableText(record.requestId),
    operation: storableText(record.operation),
    actor: storableText(record.actor),
  };
  if (record.actorRole !== undefined) out.actorRole = storableText(record.actorRole);
  if (record.errorCode !== undefined) out.errorCode = storableText(record.errorCode);
  if (record.sourceAddress !== undefined) out.sourceAddress = storableText(record.sourceAddress);
  if (record.keyId !== undefined && (typeof record.keyId !== 'string' || !isUuid(record.keyId))) {
    delete out.keyId;
    details.requestedKeyId = storableDetail(record.keyId) ?? '';
  }
  const v = record.keyVersion;
  if (v !== undefined && !(typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= INT4_MAX)) {
    delete out.keyVersion;
    details.requestedKeyVersion = storableDetail(v) ?? '';
  }
  if (record.details !== undefined || Object.keys(details).length > 0) out.details = details;
  else delete out.details;
  return out;
}
