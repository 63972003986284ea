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

/** A record's (or a batch item's) key, version and details as a store keeps them: see storableRecord. */
export interface StorableFacts {
  keyId?: string;
  keyVersion?: number;
  details?: Record<string, string | number | boolean>;
}

/**
 * The key, version and details as a store keeps them: details made storable, a key id that is not a
 * UUID or a version that is not a positive int4 moved to details (requestedKeyId,
 * requestedKeyVersion). Details are present when the caller gave any or something was moved there.
 */
export function storableFacts(keyId: unknown, keyVersion: unknown, givenDetails: Record<string, unknown> | undefined): StorableFacts {
  const details: Record<string, string | number | boolean> = {};
  let moved = false;
  if (givenDetails !== undefined) {
    for (const k of Object.keys(givenDetails)) {
      const value = storableDetail(givenDetails[k]);
      if (value !== undefined) details[storableText(k)] = value;
    }
  }
  const out: StorableFacts = {};
  if (keyId !== undefined) {
    if (typeof keyId === 'string' && isUuid(keyId)) out.keyId = keyId;
    else {
      details.requestedKeyId = storableDetail(keyId) ?? '';
      moved = true;
    }
  }
  if (keyVersion !== undefined) {
    if (typeof keyVersion === 'number' && Number.isInteger(keyVersion) && keyVersion >= 1 && keyVersion <= INT4_MAX) out.keyVersion = keyVersion;
    else {
      details.requestedKeyVersion = storableDetail(keyVersion) ?? '';
      moved = true;
    }
  }
  if (givenDetails !== undefined || moved) out.details = details;
  return out;
}

/**
 * The record as an audit store accepts it, whatever the caller sent. Facts are often taken from a
 * request before it is validated (a key id, a version, a name in details); a record the store
 * refuses would leave the call unaudited, so text is made storable here, and a key id that is not a
 * UUID or a version that is not a positive int4 moves to details (storableFacts).
 */
export function storableRecord(record: AuditRecord): AuditRecord {
  const facts = storableFacts(record.keyId, record.keyVersion, record.details);
  const out: AuditRecord = {
    ...record,
    requestId: storableText(record.requestId),
    operation: storableText(record.operation),
    actor: storableText(record.actor),
  };
  if (record.actorRole !== undefined) out.actorRole = storableText(record.actorRole);
  if (record.errorCode !== undefined) out.errorCode = storableText(record.errorCode);
  if (record.sourceAddress !== undefined) out.sourceAddress = storableText(record.sourceAddress);
  if (record.keyId !== undefined && facts.keyId === undefined) delete out.keyId;
  if (record.keyVersion !== undefined && facts.keyVersion === undefined) delete out.keyVersion;
  if (facts.details !== undefined) out.details = facts.details;
  else delete out.details;
  return out;
}
