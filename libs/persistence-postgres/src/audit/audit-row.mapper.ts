import type { AuditRecord, AuditRecordItem } from '@kms/application';
import { KmsError } from '@kms/domain';
import type { AuditSeal, SealableAuditRow } from './audit-seal';

/** One audit_records row as INSERT parameters, in AUDIT_COLUMNS order. */
export type AuditRow = Array<string | number | null>;

/** Columns the writer fills; position and recorded_at come from the database. */
export const AUDIT_COLUMNS = [
  'id',
  'time',
  'request_id',
  'operation',
  'key_id',
  'key_version',
  'actor',
  'actor_role',
  'outcome',
  'error_code',
  'source_address',
  'details',
  'items',
] as const;

/** Columns the writer inserts: the record's, with the position it reserved and its seal (recorded_at comes from the database). */
export const SEALED_AUDIT_COLUMNS = ['position', ...AUDIT_COLUMNS, 'seal_prev', 'seal_hash', 'seal_mac'] as const;

/** PostgreSQL accepts at most 65,535 bind parameters per statement. */
export const MAX_ROWS_PER_INSERT = Math.floor(65_535 / SEALED_AUDIT_COLUMNS.length);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const OUTCOMES: ReadonlySet<string> = new Set(['SUCCESS', 'FAILURE', 'DENIED']);
const INT4_MAX = 2_147_483_647;
// PostgreSQL text and jsonb refuse NUL; jsonb also refuses lone UTF-16 surrogates.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function refuse(field: string, problem: string): KmsError<'INVALID_ARGUMENT'> {
  return new KmsError('INVALID_ARGUMENT', `audit record ${field} ${problem}`, field);
}

function requiredText(value: unknown, field: string): string {
  if (typeof value !== 'string') throw refuse(field, 'must be a string');
  if (value.includes('\u0000') || LONE_SURROGATE.test(value)) throw refuse(field, 'contains a NUL or an unpaired surrogate');
  return value;
}

function optionalText(value: unknown, field: string): string | null {
  return value === undefined || value === null ? null : requiredText(value, field);
}

/**
 * Where tracking lives in a stored row: the `details` keys the audit trail has always had
 * (ciphertextRef, sourceCiphertextRef; a ReEncrypt's destination key and version are details too),
 * so tracked_ciphertexts can be rebuilt from audit_records alone.
 */
export const CIPHERTEXT_REF_DETAIL = 'ciphertextRef';
export const SOURCE_CIPHERTEXT_REF_DETAIL = 'sourceCiphertextRef';

function storedDetails(record: Pick<AuditRecord, 'details' | 'ciphertexts'>): AuditRecord['details'] {
  const t = record.ciphertexts;
  if (!t) return record.details;
  return {
    ...record.details,
    ...(t.released ? { [SOURCE_CIPHERTEXT_REF_DETAIL]: t.released } : {}),
    ...(t.handedOut ? { [CIPHERTEXT_REF_DETAIL]: t.handedOut.ref } : {}),
  };
}

function checkedDetails(details: AuditRecord['details'], field = 'details'): AuditRecord['details'] | null {
  if (details === undefined || details === null) return null;
  if (typeof details !== 'object' || Array.isArray(details)) throw refuse(field, 'must be an object');
  for (const [k, v] of Object.entries(details)) {
    requiredText(k, field);
    if (typeof v === 'string') requiredText(v, `${field}.${k}`);
    // JSON.stringify would silently turn NaN and Infinity into null.
    else if (typeof v === 'number' && !Number.isFinite(v)) throw refuse(`${field}.${k}`, 'must be a finite number');
    else if (typeof v !== 'number' && typeof v !== 'boolean') throw refuse(`${field}.${k}`, 'must be a string, number or boolean');
  }
  return details;
}

function detailsJson(details: AuditRecord['details']): string | null {
  const checked = checkedDetails(details);
  return checked === null ? null : JSON.stringify(checked);
}

function checkedKey(keyId: unknown, keyVersion: unknown, field: string): { keyId: string | null; keyVersion: number | null } {
  if (keyId !== undefined && keyId !== null && (typeof keyId !== 'string' || !UUID.test(keyId))) throw refuse(`${field}keyId`, 'must be a UUID');
  const version = keyVersion ?? null;
  if (version !== null && (typeof version !== 'number' || !Number.isInteger(version) || version < 0 || version > INT4_MAX)) {
    throw refuse(`${field}keyVersion`, `must be a whole number from 0 to ${INT4_MAX}`);
  }
  return { keyId: typeof keyId === 'string' ? keyId : null, keyVersion: version as number | null };
}

/**
 * A batch item as the `items` column stores it: what a single call's row would hold in its columns
 * (ids in lower case, as uuid columns read back), ciphertext references in its details like a
 * single record's. Never a ciphertext or key material: references and sizes only.
 */
export interface StoredAuditItem {
  id: string;
  batchIndex: number;
  outcome: string;
  errorCode?: string;
  keyId?: string;
  keyVersion?: number;
  details?: Record<string, string | number | boolean>;
}

function storedItem(item: AuditRecordItem, index: number): StoredAuditItem {
  const field = `items[${index}].`;
  if (item === null || typeof item !== 'object') throw refuse(`items[${index}]`, 'must be an object');
  if (typeof item.id !== 'string' || !UUID.test(item.id)) throw refuse(`${field}id`, 'must be a UUID');
  if (!Number.isInteger(item.batchIndex) || item.batchIndex < 0 || item.batchIndex > INT4_MAX) throw refuse(`${field}batchIndex`, `must be a whole number from 0 to ${INT4_MAX}`);
  if (!OUTCOMES.has(item.outcome)) throw refuse(`${field}outcome`, 'must be SUCCESS, FAILURE or DENIED');
  const { keyId, keyVersion } = checkedKey(item.keyId, item.keyVersion, field);
  const errorCode = optionalText(item.errorCode, `${field}errorCode`);
  const details = checkedDetails(storedDetails(item), `${field}details`);
  return {
    id: item.id.toLowerCase(),
    batchIndex: item.batchIndex,
    outcome: item.outcome,
    ...(errorCode !== null ? { errorCode } : {}),
    ...(keyId !== null ? { keyId: keyId.toLowerCase() } : {}),
    ...(keyVersion !== null ? { keyVersion } : {}),
    ...(details ? { details } : {}),
  };
}

function itemsJson(items: AuditRecord['items']): string | null {
  if (items === undefined || items === null) return null;
  if (!Array.isArray(items) || items.length === 0) throw refuse('items', 'must be a non-empty array (a call without items has none)');
  const stored = items.map(storedItem);
  const ids = new Set(stored.map((i) => i.id));
  if (ids.size !== stored.length) throw refuse('items', 'must have distinct ids');
  return JSON.stringify(stored);
}

/**
 * Validate a record and snapshot it as INSERT parameters. Everything PostgreSQL would refuse is
 * caught here, so one malformed record is refused alone instead of failing the flush it would share.
 */
export function toAuditRow(record: AuditRecord): AuditRow {
  if (typeof record.id !== 'string' || !UUID.test(record.id)) throw refuse('id', 'must be a UUID');
  if (!(record.time instanceof Date) || Number.isNaN(record.time.getTime())) throw refuse('time', 'must be a valid Date');
  const { keyVersion } = checkedKey(record.keyId, record.keyVersion, '');
  if (!OUTCOMES.has(record.outcome)) throw refuse('outcome', 'must be SUCCESS, FAILURE or DENIED');
  return [
    record.id,
    // ISO in UTC: exact to the millisecond, independent of the session time zone.
    record.time.toISOString(),
    requiredText(record.requestId, 'requestId'),
    requiredText(record.operation, 'operation'),
    record.keyId ?? null,
    keyVersion,
    requiredText(record.actor, 'actor'),
    optionalText(record.actorRole, 'actorRole'),
    record.outcome,
    optionalText(record.errorCode, 'errorCode'),
    optionalText(record.sourceAddress, 'sourceAddress'),
    detailsJson(storedDetails(record)),
    itemsJson(record.items),
  ];
}

/**
 * What PostgreSQL will give back for `row` stored at `position`: the values a seal covers. uuid
 * columns read back in lower case and jsonb re-orders keys (canonical JSON absorbs that).
 */
export function sealableAuditRow(row: AuditRow, position: bigint): SealableAuditRow {
  const [id, time, requestId, operation, keyId, keyVersion, actor, actorRole, outcome, errorCode, sourceAddress, details, items] = row;
  return {
    position,
    id: (id as string).toLowerCase(),
    time: new Date(time as string),
    request_id: requestId as string,
    operation: operation as string,
    key_id: keyId === null ? null : (keyId as string).toLowerCase(),
    key_version: keyVersion as number | null,
    actor: actor as string,
    actor_role: actorRole as string | null,
    outcome: outcome as string,
    error_code: errorCode as string | null,
    source_address: sourceAddress as string | null,
    details: details === null ? null : (JSON.parse(details as string) as Record<string, unknown>),
    items: items === null ? null : (JSON.parse(items as string) as StoredAuditItem[]),
  };
}

/** INSERT parameters (SEALED_AUDIT_COLUMNS order) of a validated row at its reserved position, with its seal. */
export function sealedAuditRow(row: AuditRow, position: bigint, seal: AuditSeal): AuditRow {
  return [position.toString(), ...row, seal.prev, seal.hash, seal.mac];
}

const INSERT_HEAD = `INSERT INTO audit_records (${SEALED_AUDIT_COLUMNS.map((c) => `"${c}"`).join(', ')}) VALUES `;
const JSONB_COLUMNS: ReadonlySet<number> = new Set([SEALED_AUDIT_COLUMNS.indexOf('details'), SEALED_AUDIT_COLUMNS.indexOf('items')]);

/** A parameterised multi-row INSERT for `rowCount` sealed rows (see sealedAuditRow). */
export function insertAuditRowsSql(rowCount: number): string {
  const width = SEALED_AUDIT_COLUMNS.length;
  let sql = INSERT_HEAD;
  for (let r = 0; r < rowCount; r++) {
    sql += r === 0 ? '(' : ', (';
    for (let c = 0; c < width; c++) {
      sql += `${c === 0 ? '' : ', '}$${r * width + c + 1}${JSONB_COLUMNS.has(c) ? '::jsonb' : ''}`;
    }
    sql += ')';
  }
  return sql;
}

/** Columns whose parameter is already JSON text (validated and written by toAuditRow). */
const RAW_JSON_COLUMNS: ReadonlySet<string> = new Set(['details', 'items']);
/** `"name":` for each sealed column, in SEALED_AUDIT_COLUMNS order. */
const JSON_KEYS = SEALED_AUDIT_COLUMNS.map((c) => `${JSON.stringify(c)}:`);
const POSITION_COLUMN = SEALED_AUDIT_COLUMNS.indexOf('position');

/**
 * Sealed rows (sealedAuditRow) as one JSON array of objects keyed by column, for
 * json_populate_recordset (kms_append_sealed_audit). details and items go in as the JSON they
 * already are, position as a JSON number (exact: PostgreSQL reads it as bigint text), every other
 * value through JSON.stringify.
 */
export function sealedRowsJson(rows: readonly AuditRow[]): string {
  let json = '[';
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r] as AuditRow;
    if (row.length !== SEALED_AUDIT_COLUMNS.length) throw new Error(`a sealed audit row has ${SEALED_AUDIT_COLUMNS.length} values, got ${row.length}`);
    json += r === 0 ? '{' : ',{';
    for (let c = 0; c < row.length; c++) {
      const value = row[c] ?? null;
      const column = SEALED_AUDIT_COLUMNS[c] as string;
      let text: string;
      if (value === null) text = 'null';
      else if (c === POSITION_COLUMN) {
        if (!/^[1-9][0-9]*$/.test(String(value))) throw new Error(`audit position must be a positive whole number, got ${String(value)}`);
        text = String(value);
      } else if (RAW_JSON_COLUMNS.has(column)) text = value as string;
      else text = JSON.stringify(value);
      json += `${c === 0 ? '' : ','}${JSON_KEYS[c]}${text}`;
    }
    json += '}';
  }
  return `${json}]`;
}
